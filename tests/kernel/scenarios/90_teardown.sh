#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 90_teardown.sh - teardown under a flood through the fast path: the output
# device is deleted, the appliance's netns is deleted, and the module is
# unloaded (and loaded again), each with traffic running; nothing may hang
# and the kernel log must stay clean. Topology: appliance.sh, rebuilt for
# each round. Runs last: it reloads xt_GWMARK.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../appliance.sh"
need_gwmark
t=teardown
klog_mark="wbk-teardown-$RANDOM$RANDOM"
echo "$klog_mark" >/dev/kmsg

# flood NAME: ping -f from the LAN host, its replies on the fast path; PASS
# NAME once the fast path has sent 100 of them.
flood() {
	local before
	before=$(gw_stat wbk-app reply_xmit)
	nse wbk-lan ping -q -f -w 120 "$REM4" >/dev/null 2>&1 &
	flood_pid=$!
	check "$1" wait_until 30 sh -c "[ \$(ip netns exec wbk-app awk '\$1==\"reply_xmit\"{print \$2}' /proc/net/gwmark/stats) -ge $((before + 100)) ]"
}
flood_stop() {
	kill "$flood_pid" 2>/dev/null
	wait "$flood_pid" 2>/dev/null
}

# Round 1: the device the fast path sends to goes away.
appliance_up
appliance_rule iptables-legacy
flood "$t-device-flood"
check_gt "$t-device-has-flows" "$(gw_flows wbk-app | awk '$9 == "wbkp0"' | wc -l)" 0
check "$t-device-delete" timeout 20 ip -n wbk-app link del wbkp0
# A flow whose device is gone prints "-" as its device: none may be left, and since
# wbkp0 was the only port anything was learned on, the cache must be empty.
check_eq "$t-device-no-flow-on-it" "0 0" \
	"$(gw_flows wbk-app | awk '$9 == "-" || $9 == "wbkp0"' | wc -l) $(gw_stat wbk-app entries)"
flood_stop

# Round 2: the whole appliance namespace goes away, cache and rules with it.
appliance_up
appliance_rule iptables-nft
flood "$t-netns-flood"
check "$t-netns-delete" ip netns del wbk-app
# Its veth ends die with it; the LAN end goes once cleanup_net has run.
check "$t-netns-gone" wait_until 60 sh -c '! ip -n wbk-lan link show wbkl0'
flood_stop

# Round 3: the module goes away while packets keep hitting its hooks.
appliance_up
appliance_rule iptables-legacy
flood "$t-rmmod-flood"
check_fails "$t-rmmod-refused-while-rule" rmmod xt_GWMARK
nse wbk-app iptables-legacy -t mangle -F PREROUTING
check "$t-rmmod-under-traffic" timeout 30 rmmod xt_GWMARK
check_fails "$t-proc-gone" test -e /proc/net/gwmark/stats
check "$t-insmod-again" insmod "$WB_KO"
check "$t-proc-back-in-old-netns" nse wbk-app test -r /proc/net/gwmark/stats
flood_stop
check "$t-rule-again" appliance_rule iptables-legacy
check "$t-fast-path-again" ping_ok wbk-lan "$REM4" 3

wbk_cleanup
WBK_NETNS=()
bad=$(dmesg | sed -n "/$klog_mark/,\$p" | grep -E 'WARNING:|BUG:|Oops|unregister_netdevice: waiting|refcount')
check_eq "$t-kernel-log-clean" "" "$bad"
