#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 17_fragments.sh - no black hole for IPv4 replies that need fragmenting,
# in a box with no route to the LAN (where the normal path would lose them):
#   - a reply larger than the LAN port's MTU without DF is sent in fragments
#     (fragmented), and the LAN host reassembles it;
#   - a reply the remote host sent in fragments, which the appliance's
#     conntrack reassembled, is sent again in fragments no larger than the
#     largest received (refragmented);
#   - one whose fragments are larger than the LAN port's MTU is answered with
#     "fragmentation needed" (icmp_sent), as the stack does, and the sender's
#     next try gets through.
#   - a reply with IP options (record route, not copied; router alert,
#     copied) is fragmented, or refragmented, as RFC 791 says: every option in
#     the first fragment, only router alert in the others (fragmented_options;
#     the LAN host's nftables counters look at the fragments before defrag).
# IPv6 (no fragmenting on the way there): a datagram the remote host sent
# in fragments is refragmented likewise, and one whose fragments are too
# big for the LAN port is answered with "packet too big".
#
# Topology (appliance.sh); wbk-rem sends without DF (ip_no_pmtu_disc=1):
#
#   wbk-lan                 wbk-app (no route to the LAN)              wbk-rem
#   wbkl0 ================= wbkp0 [wbkbr0]    wbktun0 ================= wbkr0
#   192.0.2.10              MTU 1500/1280/1000  10.20.0.1               10.20.0.5
#   2001:db8:1::10          (changed per case)                          2001:db8:20::5
#   nft counters at prerouting -450 (fragments as they arrive)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../appliance.sh"
need_gwmark
UDP=$WB_UDPTOOL
t=fragments

appliance_up
sysctl_ns wbk-rem net.ipv4.ip_no_pmtu_disc=1
check "$t-rule" appliance_rule iptables-nft
check "$t-rule-v6" appliance_rule ip6tables-nft

# reasm_oks NS: datagrams NS reassembled (Ip ReasmOKs).
reasm_oks() {
	nse "$1" awk '/^Ip:/ { if (!n++) { split($0, h); next }
		for (i = 1; i <= NF; i++) if (h[i] == "ReasmOKs") print $i }' /proc/net/snmp
}
got() { grep -qxF "$1" /tmp/$t.recv; }

rm -f /tmp/$t.recv
nse wbk-lan $UDP recv "$LAN4" 7070 /tmp/$t.recv &
wait_until 10 grep -q ready /tmp/$t.recv
# The LAN host's datagram opens the connection (the appliance learns it).
nse wbk-lan $UDP send "$LAN4" 7070 "$REM4" 7071 hello
check "$t-learned" wait_until 5 sh -c "ip netns exec wbk-app grep -q '^ipv4 udp $LAN4 7070 $REM4 7071 ' /proc/net/gwmark/flows"

# 1. Too big for the LAN port, no DF: fragmented by the fast path.
ip -n wbk-app link set wbkp0 mtu 1280
a1400=$(head -c 1400 /dev/zero | tr '\0' a)
frag0=$(gw_stat wbk-app fragmented) reasm0=$(reasm_oks wbk-lan)
nse wbk-rem $UDP send "$REM4" 7071 "$LAN4" 7070 "$a1400"
check "$t-no-df-delivered" wait_until 5 got "$a1400" || gw_dump wbk-app
check_gt "$t-no-df-fragmented" "$(gw_stat wbk-app fragmented)" "$frag0"
check_gt "$t-no-df-reassembled-by-lan-host" "$(reasm_oks wbk-lan)" "$reasm0"

# 2. Sent in fragments by the remote host (MTU 1500), reassembled by the
# appliance's conntrack, refragmented by the fast path.
ip -n wbk-app link set wbkp0 mtu 1500
b3000=$(head -c 3000 /dev/zero | tr '\0' b)
refrag0=$(gw_stat wbk-app refragmented) reasm0=$(reasm_oks wbk-lan)
nse wbk-rem $UDP send "$REM4" 7071 "$LAN4" 7070 "$b3000"
check "$t-reassembled-delivered" wait_until 5 got "$b3000" || gw_dump wbk-app
check_gt "$t-reassembled-refragmented" "$(gw_stat wbk-app refragmented)" "$refrag0"
check_gt "$t-reassembled-reassembled-by-lan-host" "$(reasm_oks wbk-lan)" "$reasm0"

# 3. IP options (before any "fragmentation needed" has lowered the sender's path MTU,
# so the first datagram arrives whole). The LAN host counts, before its own defrag,
# fragments with and without each option.
nse wbk-lan nft -f - <<'EOF'
table ip wbkfrag {
	counter first_rr { }
	counter later_rr { }
	counter later_ra { }
	counter later { }
	chain pre {
		type filter hook prerouting priority -450;
		ip frag-off & 0x1fff == 0 ip frag-off & 0x2000 != 0 ip option rr exists counter name first_rr
		ip frag-off & 0x1fff != 0 ip option rr exists counter name later_rr
		ip frag-off & 0x1fff != 0 ip option ra exists counter name later_ra
		ip frag-off & 0x1fff != 0 counter name later
	}
}
EOF
nft_count() { nse wbk-lan nft list counter ip wbkfrag "$1" | awk '$1 == "packets" { print $2 }'; }
# opts_case NAME TEXT COUNTER: send TEXT with options, check it arrives, that COUNTER
# (fragmented/refragmented) and fragmented_options grew, and the fragments' options.
opts_case() {
	local name=$1 text=$2 counter=$3 c0 o0 f0 r0 a0 l0
	c0=$(gw_stat wbk-app "$counter") o0=$(gw_stat wbk-app fragmented_options)
	f0=$(nft_count first_rr) r0=$(nft_count later_rr) a0=$(nft_count later_ra) l0=$(nft_count later)
	nse wbk-rem $UDP send-opts "$REM4" 7071 "$LAN4" 7070 "$text"
	check "$t-$name-delivered" wait_until 5 got "$text" || gw_dump wbk-app
	check_gt "$t-$name-$counter" "$(gw_stat wbk-app "$counter")" "$c0"
	check_gt "$t-$name-fragmented-options" "$(gw_stat wbk-app fragmented_options)" "$o0"
	check_gt "$t-$name-first-fragment-has-record-route" "$(nft_count first_rr)" "$f0"
	check_gt "$t-$name-later-fragments-came" "$(nft_count later)" "$l0"
	check_eq "$t-$name-later-fragments-no-record-route" "$r0" "$(nft_count later_rr)"
	check_eq "$t-$name-later-fragments-all-router-alert" "$(( $(nft_count later) - l0 ))" \
		"$(( $(nft_count later_ra) - a0 ))"
}
# Sent whole (1240 bytes, below the sender's path MTU), too big for a 1000-byte port.
echo "# sender's route: $(nse wbk-rem ip route get "$LAN4" | tr '\n' ' ')"
ip -n wbk-app link set wbkp0 mtu 1000
opts_case options-fragmented "$(head -c 1200 /dev/zero | tr '\0' h)" fragmented
# Fragmented by the sender (whose own stack strips record route from the later ones),
# reassembled by the appliance with the first fragment's options, refragmented.
ip -n wbk-app link set wbkp0 mtu 1500
opts_case options-refragmented "$(head -c 3000 /dev/zero | tr '\0' i)" refragmented
nse wbk-lan nft delete table ip wbkfrag

# 4. Its fragments (1500) are larger than the LAN port's MTU (1280): the
# sender is told, lowers its path MTU, and its next try gets through.
ip -n wbk-app link set wbkp0 mtu 1280
c3000=$(head -c 3000 /dev/zero | tr '\0' c)
d3000=$(head -c 3000 /dev/zero | tr '\0' d)
icmp0=$(gw_stat wbk-app icmp_sent)
nse wbk-rem $UDP send "$REM4" 7071 "$LAN4" 7070 "$c3000"
check_fails "$t-too-big-fragments-not-delivered" wait_until 2 got "$c3000"
check_gt "$t-too-big-fragments-icmp" "$(gw_stat wbk-app icmp_sent)" "$icmp0"
nse wbk-rem $UDP send "$REM4" 7071 "$LAN4" 7070 "$d3000"
check "$t-too-big-fragments-retry-delivered" wait_until 5 got "$d3000" || gw_dump wbk-app

# IPv6: the remote host fragments (1500), the appliance reassembles and
# refragments; then the LAN port's MTU is below those fragments: "packet
# too big", and the sender's next try, in smaller fragments, gets through.
ip -n wbk-app link set wbkp0 mtu 1500
rm -f /tmp/$t.recv6
nse wbk-lan $UDP recv "$LAN6" 7070 /tmp/$t.recv6 &
wait_until 10 grep -q ready /tmp/$t.recv6
got6() { grep -qxF "$1" /tmp/$t.recv6; }
nse wbk-lan $UDP send "$LAN6" 7070 "$REM6" 7071 hello
check "$t-v6-learned" wait_until 5 sh -c "ip netns exec wbk-app grep -q '^ipv6 udp $LAN6 7070 $REM6 7071 ' /proc/net/gwmark/flows"
e3000=$(head -c 3000 /dev/zero | tr '\0' e)
refrag0=$(gw_stat wbk-app refragmented)
nse wbk-rem $UDP send "$REM6" 7071 "$LAN6" 7070 "$e3000"
check "$t-v6-reassembled-delivered" wait_until 5 got6 "$e3000" || gw_dump wbk-app
check_gt "$t-v6-reassembled-refragmented" "$(gw_stat wbk-app refragmented)" "$refrag0"
ip -n wbk-app link set wbkp0 mtu 1280
f3000=$(head -c 3000 /dev/zero | tr '\0' f)
g3000=$(head -c 3000 /dev/zero | tr '\0' g)
icmp0=$(gw_stat wbk-app icmp_sent)
nse wbk-rem $UDP send "$REM6" 7071 "$LAN6" 7070 "$f3000"
check_fails "$t-v6-too-big-fragments-not-delivered" wait_until 2 got6 "$f3000"
check_gt "$t-v6-too-big-fragments-icmp" "$(gw_stat wbk-app icmp_sent)" "$icmp0"
nse wbk-rem $UDP send "$REM6" 7071 "$LAN6" 7070 "$g3000"
check "$t-v6-too-big-fragments-retry-delivered" wait_until 5 got6 "$g3000" || gw_dump wbk-app

check_eq "$t-no-errors" 0 "$(gw_stat wbk-app errors)"
rm -f /tmp/$t.recv /tmp/$t.recv6
