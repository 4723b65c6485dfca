#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 14_announced_failover.sh - a router failover announced by gratuitous ARP / unsolicited NA
# (issue 13, item 3), IPv4 and IPv6: two routers share the gateway address; the active one is
# deleted mid-transfer, the standby takes the address and announces it. Every cached hop that
# named the old router's MAC must follow within a second, in both directions, including
# flows whose original-direction side stays quiet and flows started from the router's side.
#
#  wbk-lan (h)            wbk-app: bridge wbkbr0 (br_netfilter)                wbk-sw: two switches      wbk-inet
#  192.0.2.10/24          192.0.2.2/32, 2001:db8:1::2/128, 10.20.0.1/16,        wbksl [wbks0 wbks1 wbks2]  198.51.100.7/24
#  2001:db8:1::10/64      2001:db8:20::1/64; no route to the LAN or the          wbksi [wbks3 wbks4 wbks5]  2001:db8:51::7/64
#  gw 192.0.2.1 / ::1     Internet                                                                          gw .1 / ::1
#  wbkl0 ==== wbkp0 [wbkbr0] wbkp1 ==== wbks0 [wbksl] wbks1 ==== wbkg0 (wbk-gw1, R1: .1/::1 on both sides) wbkg1 ==== wbks3 [wbksi] wbks5 ==== wbki0
#                    wbkpt                          wbks2 ==== wbkq0 (wbk-gw2, R2: standby)          wbkq1 ==== wbks4
#                      ||
#                    wbkr0 (wbk-rem: the "tunnel" peer, 10.20.0.5/16, 2001:db8:20::5/64)
#
# The routers route 10.20.0.0/16 and 2001:db8:20::/64 to the appliance (192.0.2.2 /
# 2001:db8:1::2). The LAN host addresses its gateway's MAC; an nft bridge rule after
# br_netfilter takes its frames for the remote prefixes off the wire (as the agent does).
# Flows: (a) h downloads from the remote host over TCP (its side only receives data);
# (b) h sent one UDP datagram to the remote host and stays quiet (the flow's gateway is R1);
# (c) the Internet host sent one UDP datagram to the remote host through R1 and stays quiet
# (the flow's reply-to is R1): the remote host's later datagrams reach it only if the cache
# follows the announcement, since the appliance has no route to it.
. "$(dirname "$0")/../lib.sh"
need_gwmark
UDP=$WB_UDPTOOL
t=failover
modprobe -a xt_physdev nft_meta_bridge sch_tbf 2>/dev/null

LAN_MAC=02:00:00:00:0a:10
BR_MAC=02:00:00:00:0a:02
R1_MAC=02:00:00:00:0a:01
R2_MAC=02:00:00:00:0b:01
REM_MAC=02:00:00:00:14:05

for ns in wbk-lan wbk-app wbk-sw wbk-gw1 wbk-gw2 wbk-inet wbk-rem; do
	netns_add "$ns"
	nse "$ns" sysctl -q -w net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 >/dev/null
done
nse wbk-sw sysctl -q -w net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 \
	net.bridge.bridge-nf-call-arptables=0 >/dev/null 2>&1
ip -n wbk-lan link add wbkl0 address "$LAN_MAC" type veth peer name wbkp0 netns wbk-app
ip -n wbk-rem link add wbkr0 address "$REM_MAC" type veth peer name wbkpt netns wbk-app
ip -n wbk-app link add wbkp1 type veth peer name wbks0 netns wbk-sw
ip -n wbk-gw1 link add wbkg0 address "$R1_MAC" type veth peer name wbks1 netns wbk-sw
ip -n wbk-gw2 link add wbkq0 address "$R2_MAC" type veth peer name wbks2 netns wbk-sw
ip -n wbk-gw1 link add wbkg1 address "$R1_MAC" type veth peer name wbks3 netns wbk-sw
ip -n wbk-gw2 link add wbkq1 address "$R2_MAC" type veth peer name wbks4 netns wbk-sw
ip -n wbk-inet link add wbki0 type veth peer name wbks5 netns wbk-sw
ip -n wbk-sw link add wbksl type bridge
ip -n wbk-sw link add wbksi type bridge
for p in wbks0 wbks1 wbks2; do ip -n wbk-sw link set "$p" master wbksl; done
for p in wbks3 wbks4 wbks5; do ip -n wbk-sw link set "$p" master wbksi; done
for d in wbks0 wbks1 wbks2 wbks3 wbks4 wbks5 wbksl wbksi; do ip -n wbk-sw link set "$d" up; done

ip -n wbk-app link add wbkbr0 address "$BR_MAC" type bridge
for p in wbkp0 wbkp1 wbkpt; do ip -n wbk-app link set "$p" master wbkbr0; done
nse wbk-app sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
	net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 \
	net.bridge.bridge-nf-call-arptables=1 >/dev/null
ip -n wbk-app addr add 192.0.2.2/32 dev wbkbr0
ip -n wbk-app addr add 2001:db8:1::2/128 dev wbkbr0 nodad
ip -n wbk-app addr add 10.20.0.1/16 dev wbkbr0
ip -n wbk-app addr add 2001:db8:20::1/64 dev wbkbr0 nodad
for d in wbkp0 wbkp1 wbkpt wbkbr0; do ip -n wbk-app link set "$d" up; done
ip -n wbk-app neigh replace 10.20.0.5 lladdr "$REM_MAC" dev wbkbr0 nud permanent
ip -n wbk-app neigh replace 2001:db8:20::5 lladdr "$REM_MAC" dev wbkbr0 nud permanent
nse wbk-app nft -f - <<EOF
table bridge wbk {
	chain pre {
		type filter hook prerouting priority 1; policy accept;
		ip daddr 10.20.0.0/16 ether daddr set $BR_MAC meta pkttype set host
		ip6 daddr 2001:db8:20::/64 ether daddr set $BR_MAC meta pkttype set host
	}
}
EOF
for ipt in iptables-nft ip6tables-nft; do
	nse wbk-app "$ipt" -t mangle -A PREROUTING -m physdev --physdev-in wbkpt \
		-j GWMARK --reply-mark 0x32/0xfffcffff
done
# The quiet UDP flows must outlive a slow run (TCG under load): conntrack's
# 30 s for an unanswered UDP flow would end them, and their cache entries
# with them, before the failover.
nse wbk-app sysctl -q -w net.netfilter.nf_conntrack_udp_timeout=600 \
	net.netfilter.nf_conntrack_udp_timeout_stream=600 >/dev/null

ip -n wbk-lan addr add 192.0.2.10/24 dev wbkl0
ip -n wbk-lan addr add 2001:db8:1::10/64 dev wbkl0 nodad
ip -n wbk-lan link set wbkl0 up
ip -n wbk-lan route add default via 192.0.2.1
ip -n wbk-lan -6 route add default via 2001:db8:1::1

# router NS LANDEV INETDEV: the gateway addresses and the routes to the remote site.
router() {
	ip -n "$1" addr add 192.0.2.1/24 dev "$2"
	ip -n "$1" addr add 2001:db8:1::1/64 dev "$2" nodad
	ip -n "$1" addr add 198.51.100.1/24 dev "$3"
	ip -n "$1" addr add 2001:db8:51::1/64 dev "$3" nodad
	ip -n "$1" route add 10.20.0.0/16 via 192.0.2.2
	ip -n "$1" -6 route add 2001:db8:20::/64 via 2001:db8:1::2
}
for d in wbkg0 wbkg1; do ip -n wbk-gw1 link set "$d" up; done
for d in wbkq0 wbkq1; do ip -n wbk-gw2 link set "$d" up; done
for ns in wbk-gw1 wbk-gw2; do
	nse "$ns" sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null
done
router wbk-gw1 wbkg0 wbkg1

ip -n wbk-inet addr add 198.51.100.7/24 dev wbki0
ip -n wbk-inet addr add 2001:db8:51::7/64 dev wbki0 nodad
ip -n wbk-inet link set wbki0 up
ip -n wbk-inet route add default via 198.51.100.1
ip -n wbk-inet -6 route add default via 2001:db8:51::1

ip -n wbk-rem addr add 10.20.0.5/16 dev wbkr0
ip -n wbk-rem addr add 2001:db8:20::5/64 dev wbkr0 nodad
ip -n wbk-rem link set wbkr0 up
ip -n wbk-rem route add default via 10.20.0.1
ip -n wbk-rem -6 route add default via 2001:db8:20::1
ip -n wbk-rem neigh replace 10.20.0.1 lladdr "$BR_MAC" dev wbkr0 nud permanent
ip -n wbk-rem neigh replace 2001:db8:20::1 lladdr "$BR_MAC" dev wbkr0 nud permanent

check_fails "$t-no-route-to-internet" nse wbk-app ip route get 198.51.100.7

# Flows (b) and (c) per family, and the receivers of (c).
rm -f /tmp/$t.inet
nse wbk-inet $UDP recv 198.51.100.7 7100 /tmp/$t.inet &
nse wbk-inet $UDP recv 2001:db8:51::7 7100 /tmp/$t.inet &
wait_until 10 sh -c "[ \$(grep -c ready /tmp/$t.inet) -ge 2 ]"
for fam in 4 6; do
	if [ "$fam" = 4 ]; then lan=192.0.2.10 rem=10.20.0.5 inet=198.51.100.7
	else lan=2001:db8:1::10 rem=2001:db8:20::5 inet=2001:db8:51::7; fi
	check "$t-ipv$fam-lan-resolves-gateway" nse wbk-lan ping -n -q -c 1 -W 5 "${lan%10}1"
	nse wbk-lan $UDP send "$lan" 7000 "$rem" 7001 quiet-lan
	nse wbk-inet $UDP send "$inet" 7100 "$rem" 7101 quiet-inet
	nse wbk-rem $UDP send "$rem" 7101 "$inet" 7100 "before-v$fam"
done
check "$t-internet-flow-works" wait_until 10 sh -c "grep -q before-v4 /tmp/$t.inet && grep -q before-v6 /tmp/$t.inet"
flow_line() {  # SRC SPORT: the cached flow's "reply_to gateway"
	gw_flows wbk-app | awk -v s="$1" -v p="$2" '$2 == "udp" && $3 == s && $4 == p {print $7, $8}'
}
check_eq "$t-quiet-lan-v4-via-r1" "$LAN_MAC $R1_MAC" "$(flow_line 192.0.2.10 7000)"
check_eq "$t-quiet-lan-v6-via-r1" "$LAN_MAC $R1_MAC" "$(flow_line 2001:db8:1::10 7000)"
check_eq "$t-quiet-inet-v4-from-r1" "$R1_MAC $BR_MAC" "$(flow_line 198.51.100.7 7100)"
check_eq "$t-quiet-inet-v6-from-r1" "$R1_MAC $BR_MAC" "$(flow_line 2001:db8:51::7 7100)"

# Flow (a): a paced download, so that the failover happens in the middle of it.
nse wbk-rem tc qdisc add dev wbkr0 root tbf rate 4mbit burst 16kb latency 400ms
head -c 3000000 /dev/urandom >/tmp/$t.src
for fam in 4 6; do
	port=$((5000 + fam))
	nse wbk-rem sh -c "nc -$fam -l -N -p $port </tmp/$t.src" &
done
wait_until 10 sh -c "ip netns exec wbk-rem ss -Hltn | grep -q ':5006 '"
nse wbk-lan timeout 120 nc -4 -w 30 10.20.0.5 5004 </dev/null >/tmp/$t.dst4 &
dl4=$!
nse wbk-lan timeout 120 nc -6 -w 30 2001:db8:20::5 5006 </dev/null >/tmp/$t.dst6 &
dl6=$!
wait_until 30 sh -c "[ \$(stat -c %s /tmp/$t.dst4) -gt 100000 ] && [ \$(stat -c %s /tmp/$t.dst6) -gt 100000 ]"
echo "# failover at $(stat -c %s /tmp/$t.dst4) / $(stat -c %s /tmp/$t.dst6) bytes"

# The failover: R1 goes, R2 takes the addresses and announces them on both sides.
moves0=$(gw_stat wbk-app mac_moves)
updates0=$(gw_stat wbk-app mac_updates)
ip netns del wbk-gw1
router wbk-gw2 wbkq0 wbkq1
# A poller inside the appliance's namespace, bash builtins only (every exec costs a good
# part of a second under TCG): when the box saw the announcement (mac_moves grew) and when
# every quiet flow names R2. Both instants come from the same loop, so its own period
# (tens of ms under TCG) is the only error in their difference.
cat >/tmp/$t.poll.sh <<POLL
rm -f /tmp/$t.pipe; mkfifo /tmp/$t.pipe; exec 9<>/tmp/$t.pipe
end=\$(( \${EPOCHSECONDS} + 15 ))
seen=
while [ \${EPOCHSECONDS} -lt \$end ]; do
	if [ -z "\$seen" ]; then
		mapfile -t st </proc/net/gwmark/stats
		for l in "\${st[@]}"; do
			case "\$l" in "mac_moves "*) [ "\${l#* }" -gt $moves0 ] && seen=\$EPOCHREALTIME ;; esac
		done
	fi
	mapfile -t lines </proc/net/gwmark/flows
	n=0
	for l in "\${lines[@]}"; do
		case "\$l" in
		"ipv4 udp 192.0.2.10 7000 "*" $LAN_MAC $R2_MAC "*|"ipv6 udp 2001:db8:1::10 7000 "*" $LAN_MAC $R2_MAC "*|\
		"ipv4 udp 198.51.100.7 7100 "*" $R2_MAC $BR_MAC "*|"ipv6 udp 2001:db8:51::7 7100 "*" $R2_MAC $BR_MAC "*) n=\$((n + 1)) ;;
		esac
	done
	[ \$n -ge 4 ] && { echo "\${seen:-\$EPOCHREALTIME} \$EPOCHREALTIME" >/tmp/$t.found; exit 0; }
	read -t 0.02 -u 9
done
exit 1
POLL
rm -f /tmp/$t.found
nse wbk-app bash /tmp/$t.poll.sh &
poller=$!
# Only the LAN side's announcements cross the appliance.
nse wbk-gw2 $UDP announce wbkq0 192.0.2.1 "$R2_MAC"
t0=$EPOCHREALTIME
nse wbk-gw2 sh -c "$UDP announce wbkq0 2001:db8:1::1 $R2_MAC; $UDP announce wbkq1 198.51.100.1 $R2_MAC;
	$UDP announce wbkq1 2001:db8:51::1 $R2_MAC"
if wait "$poller"; then
	read -r seen done </tmp/$t.found
	ms=$(awk -v a="$seen" -v b="$done" 'BEGIN {printf "%d", (b - a) * 1000}')
	total=$(awk -v a="$t0" -v b="$done" 'BEGIN {printf "%d", (b - a) * 1000}')
	echo "# every quiet flow followed ${ms} ms after the box saw the announcement (${total} ms after the sender's gratuitous ARP returned)"
	if [ "$ms" -le 1000 ]; then pass "$t-followed-within-1s"; else fail "$t-followed-within-1s" "took $ms ms"; fi
else
	fail "$t-followed-within-1s" "flows: $(gw_flows wbk-app | grep udp | tr '\n' ';')"
fi
rm -f /tmp/$t.poll.sh /tmp/$t.found /tmp/$t.pipe
check_gt "$t-mac-moves-counted" "$(gw_stat wbk-app mac_moves)" "$moves0"
check_gt "$t-mac-updates-counted" "$(gw_stat wbk-app mac_updates)" "$((updates0 + 3))"
# The Internet host never spoke again: only the followed cache gets these to it.
for fam in 4 6; do
	if [ "$fam" = 4 ]; then rem=10.20.0.5 inet=198.51.100.7; else rem=2001:db8:20::5 inet=2001:db8:51::7; fi
	nse wbk-rem $UDP send "$rem" 7101 "$inet" 7100 "after-v$fam"
done
check "$t-router-side-flow-follows" wait_until 10 sh -c "grep -q after-v4 /tmp/$t.inet && grep -q after-v6 /tmp/$t.inet"

wait "$dl4"
wait "$dl6"
check "$t-ipv4-download-byte-exact" cmp /tmp/$t.src /tmp/$t.dst4 || gw_dump wbk-app
check "$t-ipv6-download-byte-exact" cmp /tmp/$t.src /tmp/$t.dst6 || gw_dump wbk-app
rm -f /tmp/$t.src /tmp/$t.dst4 /tmp/$t.dst6 /tmp/$t.inet
gw_dump wbk-app
