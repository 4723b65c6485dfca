#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 12_bridged_ports.sh - the appliance's normal shape (issue 13, items 1 and 2): the tunnel
# device (a veth standing in for tap0), the LAN port and the router port are ports of one
# VLAN-aware bridge with br_netfilter on, and the reply rule is the one the agent installs,
# -m physdev --physdev-in <tunnel>. IPv4 and IPv6.
#
#  wbk-lan (h)                wbk-app: bridge wbkbr0, vlan_filtering 1, br_netfilter        wbk-rem (tunnel peer)
#  192.0.2.10/24              one LAN address 192.0.2.2/32, 2001:db8:1::2/128, and          10.20.0.5/16
#  2001:db8:1::10/64          10.20.0.1/16, 2001:db8:20::1/64 (the tunnel side); NO route   2001:db8:20::5/64
#  gw 192.0.2.1, 2001:db8:1::1  to the LAN                                                  routes to the LAN via
#  (router R1's MAC)                                                                        10.20.0.1 / ::1
#  wbkl0 ============ wbkp0 LAN    (VLAN 20 PVID untagged)
#  wbk-lan2 (h2: 192.0.2.11, 2001:db8:1::11 on wbkl2.20)
#  wbkl2 ============ wbkp2 LAN    (VLAN 20 tagged)
#                     wbkp1 WAN    (VLAN 20 PVID untagged) ============ wbkg0 (wbk-gw: router R1)
#                     wbkpt tunnel (VLAN 10 PVID untagged) ============ wbkr0
#                     bridge self:  VLAN 10 PVID untagged, VLAN 20 untagged
#
# The LAN host addresses the router's MAC. An nft bridge rule that runs after br_netfilter
# takes its frames for the remote prefixes off the wire (what the agent's bridge-level rules
# do), so the appliance routes them into the "tunnel". Replies come back on the tunnel port,
# addressed to the bridge: only GWMARK can send them to the LAN host, and they must leave in
# the LAN port's VLAN (20; the bridge's own PVID is 10), carry R1's MAC as source
# (transparent) and never leave through a port that is not forwarding.
. "$(dirname "$0")/../lib.sh"
need_gwmark
UDP=$WB_UDPTOOL
t=bridged
modprobe -a xt_physdev xt_mac nft_meta_bridge 2>/dev/null

LAN_MAC=02:00:00:00:0a:10
BR_MAC=02:00:00:00:0a:02
R1_MAC=02:00:00:00:0a:01
REM_MAC=02:00:00:00:14:05

for ns in wbk-lan wbk-app wbk-gw wbk-rem; do
	netns_add "$ns"
	nse "$ns" sysctl -q -w net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 >/dev/null
done
ip -n wbk-lan link add wbkl0 address "$LAN_MAC" type veth peer name wbkp0 netns wbk-app
ip -n wbk-gw link add wbkg0 address "$R1_MAC" type veth peer name wbkp1 netns wbk-app
ip -n wbk-rem link add wbkr0 address "$REM_MAC" type veth peer name wbkpt netns wbk-app

ip -n wbk-app link add wbkbr0 address "$BR_MAC" type bridge vlan_filtering 1
for p in wbkp0 wbkp1 wbkpt; do ip -n wbk-app link set "$p" master wbkbr0; done
nse wbk-app bridge vlan del dev wbkbr0 vid 1 self
nse wbk-app bridge vlan add dev wbkbr0 vid 10 pvid untagged self
nse wbk-app bridge vlan add dev wbkbr0 vid 20 untagged self
for p in wbkp0 wbkp1 wbkpt; do nse wbk-app bridge vlan del dev "$p" vid 1; done
nse wbk-app bridge vlan add dev wbkp0 vid 20 pvid untagged
nse wbk-app bridge vlan add dev wbkp1 vid 20 pvid untagged
nse wbk-app bridge vlan add dev wbkpt vid 10 pvid untagged
# (802.1Q-tagged frames reach the IP hooks only with bridge-nf-filter-vlan-tagged)
nse wbk-app sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
	net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 \
	net.bridge.bridge-nf-filter-vlan-tagged=1 >/dev/null
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
		ether daddr $R1_MAC ip daddr 10.20.0.0/16 ether daddr set $BR_MAC meta pkttype set host
		ether daddr $R1_MAC ip6 daddr 2001:db8:20::/64 ether daddr set $BR_MAC meta pkttype set host
	}
}
EOF

ip -n wbk-lan addr add 192.0.2.10/24 dev wbkl0
ip -n wbk-lan addr add 2001:db8:1::10/64 dev wbkl0 nodad
ip -n wbk-lan link set wbkl0 up
ip -n wbk-lan route add default via 192.0.2.1
ip -n wbk-lan -6 route add default via 2001:db8:1::1
ip -n wbk-lan neigh replace 192.0.2.1 lladdr "$R1_MAC" dev wbkl0 nud permanent
ip -n wbk-lan neigh replace 2001:db8:1::1 lladdr "$R1_MAC" dev wbkl0 nud permanent
ip -n wbk-gw addr add 192.0.2.1/24 dev wbkg0
ip -n wbk-gw link set wbkg0 up

ip -n wbk-rem addr add 10.20.0.5/16 dev wbkr0
ip -n wbk-rem addr add 2001:db8:20::5/64 dev wbkr0 nodad
ip -n wbk-rem link set wbkr0 up
ip -n wbk-rem route add 192.0.2.0/24 via 10.20.0.1
ip -n wbk-rem -6 route add 2001:db8:1::/64 via 2001:db8:20::1
ip -n wbk-rem neigh replace 10.20.0.1 lladdr "$BR_MAC" dev wbkr0 nud permanent
ip -n wbk-rem neigh replace 2001:db8:20::1 lladdr "$BR_MAC" dev wbkr0 nud permanent

check_fails "$t-no-route-to-lan" nse wbk-app ip route get 192.0.2.10

# The LAN host counts what it receives from the remote host by Ethernet source.
for ipt in iptables-legacy ip6tables-legacy; do
	for mac in "$R1_MAC" "$BR_MAC"; do
		nse wbk-lan "$ipt" -A INPUT -m mac --mac-source "$mac"
	done
done
# from_mac FAM MAC: packets of family FAM the LAN host received with Ethernet source MAC.
from_mac() {
	local ipt=iptables-legacy
	[ "$1" = 6 ] && ipt=ip6tables-legacy
	nse wbk-lan "$ipt" -nvxL INPUT | awk -v m="$2" 'tolower($0) ~ m {print $1}'
}
ping_ok() { nse wbk-lan ping -n -q -c "${2:-3}" -i 0.2 -W 2 -w 10 "$1" >/dev/null 2>&1; }

check_fails "$t-lost-without-rule" ping_ok 10.20.0.5 2
# The rules the agent installs for a bridged tunnel device.
for ipt in iptables-nft ip6tables-legacy; do
	check "$t-$ipt-physdev-rule" nse wbk-app "$ipt" -t mangle -A PREROUTING \
		-m physdev --physdev-in wbkpt -j GWMARK --reply-mark 0x32/0xfffcffff
done

for fam in 4 6; do
	if [ "$fam" = 4 ]; then rem=10.20.0.5 lan=192.0.2.10 pr=icmp
	else rem=2001:db8:20::5 lan=2001:db8:1::10 pr=icmpv6; fi
	tf=$t-ipv$fam
	before=$(gw_stat wbk-app reply_xmit)
	r1_before=$(from_mac "$fam" "$R1_MAC")
	check "$tf-ping" ping_ok "$rem" 5 || gw_dump wbk-app
	check_gt "$tf-reply-xmit-counts" "$(gw_stat wbk-app reply_xmit)" "$((before + 4))"
	# Transparent: every reply came from the MAC the LAN host addressed, R1's.
	check_gt "$tf-transparent-source" "$(from_mac "$fam" "$R1_MAC")" "$((r1_before + 4))"
	check_eq "$tf-no-box-mac-seen" 0 "$(from_mac "$fam" "$BR_MAC")"
	line=$(gw_flows wbk-app | awk -v p="ipv$fam" -v pr="$pr" -v s="$lan" -v d="$rem" \
		'$1 == p && $2 == pr && $3 == s && $5 == d' | head -n 1)
	set -- $line
	check_eq "$tf-flow-fields" "$LAN_MAC $R1_MAC wbkp0" "${7:-} ${8:-} ${9:-}"

	# A bulk TCP transfer from the remote host, its data in the reply direction.
	head -c 300000 /dev/urandom >/tmp/$tf.src
	nse wbk-rem sh -c "nc -$fam -l -N -p 5001 </tmp/$tf.src" &
	wait_until 10 sh -c "ip netns exec wbk-rem ss -Hltn | grep -q ':5001 '"
	before=$(gw_stat wbk-app reply_xmit)
	nse wbk-lan timeout 60 nc -$fam -w 20 "$rem" 5001 </dev/null >/tmp/$tf.dst
	check "$tf-tcp-bulk-intact" cmp /tmp/$tf.src /tmp/$tf.dst || gw_dump wbk-app
	check_gt "$tf-tcp-through-fast-path" "$(gw_stat wbk-app reply_xmit)" "$((before + 4))"
	rm -f /tmp/$tf.src /tmp/$tf.dst
done

# A LAN host behind an 802.1Q-tagged port (wbkp2: VLAN 20 tagged): its flow is learned with
# the tag its frames carried, and the replies leave tagged again (untagged, or in the
# bridge's PVID 10, the host's VLAN device would never see them).
modprobe 8021q 2>/dev/null
netns_add wbk-lan2
nse wbk-lan2 sysctl -q -w net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 >/dev/null
ip -n wbk-lan2 link add wbkl2 address 02:00:00:00:0a:11 type veth peer name wbkp2 netns wbk-app
ip -n wbk-app link set wbkp2 master wbkbr0
nse wbk-app bridge vlan del dev wbkp2 vid 1
nse wbk-app bridge vlan add dev wbkp2 vid 20
ip -n wbk-app link set wbkp2 up
ip -n wbk-lan2 link set wbkl2 up
ip -n wbk-lan2 link add link wbkl2 name wbkl2.20 type vlan id 20
ip -n wbk-lan2 addr add 192.0.2.11/24 dev wbkl2.20
ip -n wbk-lan2 addr add 2001:db8:1::11/64 dev wbkl2.20 nodad
ip -n wbk-lan2 link set wbkl2.20 up
ip -n wbk-lan2 route add default via 192.0.2.1
ip -n wbk-lan2 -6 route add default via 2001:db8:1::1
ip -n wbk-lan2 neigh replace 192.0.2.1 lladdr "$R1_MAC" dev wbkl2.20 nud permanent
ip -n wbk-lan2 neigh replace 2001:db8:1::1 lladdr "$R1_MAC" dev wbkl2.20 nud permanent
for rem in 10.20.0.5 2001:db8:20::5; do
	before=$(gw_stat wbk-app reply_xmit)
	check "$t-tagged-port-ping-$rem" nse wbk-lan2 ping -n -q -c 3 -i 0.2 -W 2 -w 10 "$rem" || gw_dump wbk-app
	check_gt "$t-tagged-port-fast-path-$rem" "$(gw_stat wbk-app reply_xmit)" "$((before + 2))"
done
check_eq "$t-tagged-port-flow" "02:00:00:00:0a:11 $R1_MAC wbkp2" \
	"$(gw_flows wbk-app | awk '$3 == "192.0.2.11" {print $7, $8, $9; exit}')"

# The knob: transparent=0 sends with the bridge's own MAC.
echo 0 >/sys/module/xt_GWMARK/parameters/transparent
check "$t-opaque-ping" ping_ok 10.20.0.5 3
check_gt "$t-opaque-box-source" "$(from_mac 4 "$BR_MAC")" 2
echo 1 >/sys/module/xt_GWMARK/parameters/transparent

# STP: a port that is not forwarding is never used. On an established UDP flow the remote
# host sends while the LAN port is in the learning state (nothing may reach the LAN host),
# then again once it forwards. (Without STP the bridge turns "blocking" straight back into
# "forwarding"; "learning" stays, and is just as much not forwarding.)
rm -f /tmp/$t.lan
nse wbk-lan $UDP recv 192.0.2.10 7000 /tmp/$t.lan &
wait_until 10 grep -q ready /tmp/$t.lan
nse wbk-lan $UDP send 192.0.2.10 7000 10.20.0.5 7001 open
sleep 0.3
nse wbk-app bridge link set dev wbkp0 state 2
check_eq "$t-port-not-forwarding" learning "$(nse wbk-app bridge link show dev wbkp0 | grep -o 'state [a-z]*' | cut -d' ' -f2)"
before=$(gw_stat wbk-app reply_xmit)
nse wbk-rem $UDP send 10.20.0.5 7001 192.0.2.10 7000 while-blocking
wait_until 5 sh -c "[ \$(ip netns exec wbk-app awk '\$1==\"reply_xmit\"{print \$2}' /proc/net/gwmark/stats) -gt $before ]"
check_fails "$t-learning-port-not-used" wait_until 2 grep -qx while-blocking /tmp/$t.lan
nse wbk-app bridge link set dev wbkp0 state 3
nse wbk-rem $UDP send 10.20.0.5 7001 192.0.2.10 7000 while-forwarding
check "$t-forwarding-port-used" wait_until 10 grep -qx while-forwarding /tmp/$t.lan
check_eq "$t-blocked-datagram-never-came" 0 "$(grep -cx while-blocking /tmp/$t.lan)"

# Spoof protection: while the LAN host keeps talking on its UDP flow, a datagram with the
# same tuple sent from the router's port (another port, another MAC) must not move the
# flow: counted in hop_refused, and the remote host's answers still reach the LAN host.
ip -n wbk-gw neigh replace 192.0.2.2 lladdr "$BR_MAC" dev wbkg0 nud permanent
ip -n wbk-gw route add 10.20.0.0/16 via 192.0.2.2
rm -f /tmp/$t.rem
nse wbk-rem $UDP recv 10.20.0.5 7001 /tmp/$t.rem &
wait_until 10 grep -q ready /tmp/$t.rem
refused0=$(gw_stat wbk-app hop_refused)
nse wbk-lan sh -c "for i in 1 2 3 4 5 6 7 8 9 10; do $UDP send 192.0.2.10 7000 10.20.0.5 7001 talk-\$i; sleep 0.2; done" &
talker=$!
wait_until 20 grep -qx talk-2 /tmp/$t.rem
nse wbk-gw $UDP send 192.0.2.10 7000 10.20.0.5 7001 spoof
check "$t-spoof-reached-remote" wait_until 10 grep -qx spoof /tmp/$t.rem
check_gt "$t-spoof-refused" "$(gw_stat wbk-app hop_refused)" "$refused0"
wait "$talker"
check_eq "$t-spoof-did-not-move-flow" "$LAN_MAC wbkp0" \
	"$(gw_flows wbk-app | awk '$2 == "udp" && $3 == "192.0.2.10" && $4 == 7000 {print $7, $9; exit}')"
nse wbk-rem $UDP send 10.20.0.5 7001 192.0.2.10 7000 after-spoof
check "$t-replies-still-to-host" wait_until 10 grep -qx after-spoof /tmp/$t.lan
# The flows file is root-only (like conntrack's), the stats file is not.
nobody="--reuid=$(id -u nobody) --regid=$(id -g nobody) --clear-groups"
check_eq "$t-flows-mode" 440 "$(nse wbk-app stat -c %a /proc/net/gwmark/flows)"
check_fails "$t-flows-root-only" nse wbk-app setpriv $nobody cat /proc/net/gwmark/flows
check "$t-stats-for-all" nse wbk-app setpriv $nobody cat /proc/net/gwmark/stats
gw_dump wbk-app
