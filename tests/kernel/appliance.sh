# SPDX-License-Identifier: GPL-2.0
# appliance.sh - the "bump in the wire" topology the GWMARK scenarios share.
# Sourced after lib.sh; appliance_up builds it for IPv4 and IPv6 at once.
#
#   wbk-lan (LAN host)          wbk-app (the appliance)                wbk-rem (remote site)
#   192.0.2.10/24               bridge wbkbr0 with port wbkp0          10.20.0.5/16
#   2001:db8:1::10/64           one address: 192.0.2.2/32,             2001:db8:20::5/64
#   default via 192.0.2.2       2001:db8:1::2/128, NO route to LAN     routes to the LAN
#                                                                      via the tunnel
#   wbkl0 ===================== wbkp0 [wbkbr0]     wbktun0 =========== wbkr0
#     (veth)                        br_netfilter on    10.20.0.1/16      (veth: the TAP
#                                                      2001:db8:20::1/64  tunnel stand-in)
#
# The LAN host's flow to the remote site enters the appliance through the
# bridge (br_netfilter hands it to the IP hooks, where GWMARK learns the LAN
# host's MAC and the port), is routed into the "tunnel", and the replies come
# back out of it. The appliance has no route back to 192.0.2.10, so a reply
# reaches the LAN host only if GWMARK's fast path sends it to the learnt MAC.

LAN_MAC=02:00:00:00:0a:10
BR_MAC=02:00:00:00:0a:02
LAN4=192.0.2.10
APP4=192.0.2.2
TUN4=10.20.0.1
REM4=10.20.0.5
LAN6=2001:db8:1::10
APP6=2001:db8:1::2
TUN6=2001:db8:20::1
REM6=2001:db8:20::5

# sysctl_ns NS KEY=VALUE...
sysctl_ns() {
	local ns=$1
	shift
	nse "$ns" sysctl -q -w "$@" >/dev/null
}

appliance_up() {
	netns_add wbk-lan
	netns_add wbk-app
	netns_add wbk-rem
	local ns
	for ns in wbk-lan wbk-app wbk-rem; do
		sysctl_ns "$ns" net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
			net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	done

	ip -n wbk-lan link add wbkl0 address "$LAN_MAC" type veth peer name wbkp0 netns wbk-app
	ip -n wbk-app link add wbktun0 type veth peer name wbkr0 netns wbk-rem

	# The appliance: a bridge, one address, forwarding, no route to the LAN.
	ip -n wbk-app link add wbkbr0 address "$BR_MAC" type bridge
	ip -n wbk-app link set wbkp0 master wbkbr0
	sysctl_ns wbk-app net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1
	ip -n wbk-app addr add "$APP4/32" dev wbkbr0
	ip -n wbk-app addr add "$APP6/128" dev wbkbr0 nodad
	ip -n wbk-app addr add "$TUN4/16" dev wbktun0
	ip -n wbk-app addr add "$TUN6/64" dev wbktun0 nodad
	for d in wbkp0 wbkbr0 wbktun0; do ip -n wbk-app link set "$d" up; done

	ip -n wbk-lan addr add "$LAN4/24" dev wbkl0
	ip -n wbk-lan addr add "$LAN6/64" dev wbkl0 nodad
	ip -n wbk-lan link set wbkl0 up
	ip -n wbk-lan route add default via "$APP4"
	ip -n wbk-lan -6 route add default via "$APP6"
	# The appliance never resolves the LAN host; the LAN host resolves the
	# appliance statically so that the test does not hang on ND timing.
	ip -n wbk-lan neigh replace "$APP4" lladdr "$BR_MAC" dev wbkl0 nud permanent
	ip -n wbk-lan neigh replace "$APP6" lladdr "$BR_MAC" dev wbkl0 nud permanent

	ip -n wbk-rem addr add "$REM4/16" dev wbkr0
	ip -n wbk-rem addr add "$REM6/64" dev wbkr0 nodad
	ip -n wbk-rem link set wbkr0 up
	ip -n wbk-rem route add 192.0.2.0/24 via "$TUN4"
	ip -n wbk-rem -6 route add 2001:db8:1::/64 via "$TUN6"

	# Routes in the appliance: only the connected tunnel prefixes.
	if nse wbk-app ip route get "$LAN4" >/dev/null 2>&1; then
		fail appliance-topology "the appliance has a route to $LAN4"
	fi
}

# appliance_rule IPT: the documented reply rule for the tunnel device.
appliance_rule() {
	nse wbk-app "$1" -t mangle -A PREROUTING -i wbktun0 -j GWMARK --reply-mark 0x32
}

# ping_ok NS DST [COUNT]: COUNT (default 3) echo replies within a bound.
ping_ok() {
	nse "$1" ping -n -q -c "${3:-3}" -i 0.2 -W 2 -w 10 "$2" >/dev/null 2>&1
}
