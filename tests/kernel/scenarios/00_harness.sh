#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 00_harness.sh - proves the VM itself: netns, veth, conntrack and the stock
# MARK target through both iptables backends, before any GWMARK scenario.
#
#   wbk-h1 (10.99.0.1) --veth-- wbk-h2 (10.99.0.2)
#
# A ping from h1 to h2 is marked 0x7 by MARK in h2's mangle PREROUTING, and
# the rule's packet counter proves that the kernel ran the target.
. "$(dirname "$0")/../lib.sh"

netns_add wbk-h1
netns_add wbk-h2
ip -n wbk-h1 link add wbkh1 type veth peer name wbkh2 netns wbk-h2
ip -n wbk-h1 addr add 10.99.0.1/24 dev wbkh1
ip -n wbk-h2 addr add 10.99.0.2/24 dev wbkh2
ip -n wbk-h1 link set wbkh1 up
ip -n wbk-h2 link set wbkh2 up

check harness-ping nse wbk-h1 ping -c 1 -W 2 10.99.0.2

for ipt in iptables-legacy iptables-nft; do
	check "harness-$ipt-mark" nse wbk-h2 "$ipt" -t mangle -A PREROUTING -p icmp -j MARK --set-mark 0x7
	nse wbk-h1 ping -c 3 -i 0.2 -W 2 10.99.0.2 >/dev/null
	n=$(nse wbk-h2 "$ipt" -t mangle -L PREROUTING -v -x -n | awk '/MARK/ {print $1; exit}')
	check_gt "harness-$ipt-counter" "${n:-0}" 2
	nse wbk-h2 "$ipt" -t mangle -F PREROUTING
done

# Conntrack only tracks a netns once a rule there asks for it.
nse wbk-h2 iptables-legacy -t mangle -A PREROUTING -m conntrack --ctstate NEW -j ACCEPT
nse wbk-h1 ping -c 1 -W 2 10.99.0.2 >/dev/null
check harness-conntrack sh -c "ip netns exec wbk-h2 conntrack -L 2>/dev/null | grep -q 10.99.0.1"

# The module's version is the project's.
if [ -n "${WB_KO:-}" ]; then
	check_eq harness-module-version \
		"$(sed -n 's/^project(wirebridge VERSION \([0-9.]*\).*/\1/p' "$WB_SRC/CMakeLists.txt")" \
		"$(modinfo -F version "$WB_KO")"
fi
