#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 20_orig_local_out.sh - the original direction at LOCAL_OUT: a packet of a
# known connection that the appliance emits itself goes to the gateway MAC
# the LAN host chose, not where the appliance's own route points.
#
#  wbk-lan                wbk-app (appliance)                 wbk-gw (router)          wbk-srv
#  192.0.2.10/24          bridge wbkbr0, 192.0.2.2/32         192.0.2.1/24 (wbkg0)     198.51.100.7/24
#  via 192.0.2.1                                              198.51.100.1/24 (wbkg1)  via 198.51.100.1
#  wbkl0 ========== wbkp0 [wbkbr0] wbkp1 ================== wbkg0  wbkg1 =========== wbks0
#                         wbktun0 ============ wbkr0 (wbk-rem: counts what the tunnel gets)
#                         default route: via 10.20.0.5 (the appliance's normal path)
#
# The LAN host's UDP flow is bridged through the appliance, which learns the
# router's MAC as the flow's gateway. Then the appliance sends a datagram of
# that same connection from a transparent socket: GWMARK --orig-mark marks it
# at OUTPUT and the fast path hands it to the router's MAC on the bridge.
. "$(dirname "$0")/../lib.sh"
need_gwmark
UDP=$WB_UDPTOOL
t=orig-local-out

for ns in wbk-lan wbk-app wbk-gw wbk-srv wbk-rem; do
	netns_add "$ns"
	nse "$ns" sysctl -q -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 >/dev/null
done
ip -n wbk-lan link add wbkl0 type veth peer name wbkp0 netns wbk-app
ip -n wbk-gw link add wbkg0 type veth peer name wbkp1 netns wbk-app
ip -n wbk-gw link add wbkg1 type veth peer name wbks0 netns wbk-srv
ip -n wbk-app link add wbktun0 type veth peer name wbkr0 netns wbk-rem
ip -n wbk-app link add wbkbr0 type bridge
ip -n wbk-app link set wbkp0 master wbkbr0
ip -n wbk-app link set wbkp1 master wbkbr0
nse wbk-app sysctl -q -w net.bridge.bridge-nf-call-iptables=1 >/dev/null
ip -n wbk-app addr add 192.0.2.2/32 dev wbkbr0
ip -n wbk-app addr add 10.20.0.1/16 dev wbktun0
for d in wbkp0 wbkp1 wbkbr0 wbktun0; do ip -n wbk-app link set "$d" up; done
ip -n wbk-app route add default via 10.20.0.5
ip -n wbk-lan addr add 192.0.2.10/24 dev wbkl0
ip -n wbk-lan link set wbkl0 up
ip -n wbk-lan route add default via 192.0.2.1
ip -n wbk-gw addr add 192.0.2.1/24 dev wbkg0
ip -n wbk-gw addr add 198.51.100.1/24 dev wbkg1
ip -n wbk-gw link set wbkg0 up
ip -n wbk-gw link set wbkg1 up
nse wbk-gw sysctl -q -w net.ipv4.ip_forward=1 >/dev/null
ip -n wbk-srv addr add 198.51.100.7/24 dev wbks0
ip -n wbk-srv link set wbks0 up
ip -n wbk-srv route add default via 198.51.100.1
ip -n wbk-rem addr add 10.20.0.5/16 dev wbkr0
ip -n wbk-rem link set wbkr0 up
nse wbk-rem iptables-legacy -t raw -A PREROUTING -p udp --dport 6000
lan_mac=$(mac_of wbk-lan wbkl0)
gw_mac=$(mac_of wbk-gw wbkg0)

check "$t-rule" nse wbk-app iptables-legacy -t mangle -A OUTPUT -p udp -j GWMARK --orig-mark 0x33/0xff

rm -f /tmp/$t.srv
nse wbk-srv $UDP recv 198.51.100.7 6000 /tmp/$t.srv &
wait_until 10 grep -q ready /tmp/$t.srv
received() { grep -qx "$1" /tmp/$t.srv; }

nse wbk-lan $UDP send 192.0.2.10 5000 198.51.100.7 6000 from-lan
check "$t-bridged-flow" wait_until 10 received from-lan
line=$(gw_flows wbk-app | awk '$2 == "udp" && $3 == "192.0.2.10" && $4 == 5000 && $6 == 6000' | head -n 1)
set -- $line
check_eq "$t-flow-learned" "$lan_mac $gw_mac wbkp0" "${7:-} ${8:-} ${9:-}"

# Control: a connection the cache does not know takes the normal path,
# which is the tunnel.
nse wbk-app $UDP send 192.0.2.10 5999 198.51.100.7 6000 control
tunnel_count() {
	nse wbk-rem iptables-legacy -t raw -L PREROUTING -v -x -n | awk '/dpt:6000/ {print $1}'
}
check "$t-control-goes-to-tunnel" wait_until 10 sh -c "[ \"\$(ip netns exec wbk-rem iptables-legacy -t raw -L PREROUTING -v -x -n | awk '/dpt:6000/ {print \$1}')\" -ge 1 ]"
check_fails "$t-control-not-at-server" wait_until 2 received control

# The known connection goes to the router's MAC, bypassing the route.
before_tun=$(tunnel_count)
before=$(gw_stat wbk-app orig_xmit)
for i in 1 2 3; do
	nse wbk-app $UDP send 192.0.2.10 5000 198.51.100.7 6000 from-appliance-$i
done
check "$t-reaches-server" wait_until 10 received from-appliance-3
check_eq "$t-all-three" 3 "$(grep -c '^from-appliance-' /tmp/$t.srv)"
check_gt "$t-orig-xmit-counts" "$(gw_stat wbk-app orig_xmit)" "$((before + 2))"
check_eq "$t-not-in-tunnel" "$before_tun" "$(tunnel_count)"

# Bridged replies are never stolen, even when a rule marks them: the
# LAN host's ping to the server crosses the bridge both ways as before.
check "$t-reply-rule-on-bridge" nse wbk-app iptables-legacy -t mangle -A PREROUTING -j GWMARK --reply-mark 0x32
reply_before=$(gw_stat wbk-app reply_xmit)
fallback_before=$(gw_stat wbk-app fallback)
check "$t-bridged-ping" nse wbk-lan ping -n -q -c 3 -i 0.2 -W 2 -w 10 198.51.100.7
check_eq "$t-bridged-not-stolen" "$reply_before" "$(gw_stat wbk-app reply_xmit)"
check_gt "$t-bridged-fallback-counted" "$(gw_stat wbk-app fallback)" "$((fallback_before + 2))"
