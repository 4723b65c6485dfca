#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 15_selectors.sh - the fast-path selectors follow the GWMARK rules actually
# installed, per address family: rules are added, replaced (iptables-legacy
# table replace), refused in a failed transaction and deleted, in both
# families and through both backends, and each step is watched through the
# replies themselves and the stats file (rules_ipv4/rules_ipv6,
# rules_added/rules_removed, rules_unselected, unselected, reply_mark).
# Topology: appliance.sh. The appliance has no route back to the LAN host,
# so a ping gets its replies only while the fast path is on for its family
# and its replies' mark.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../appliance.sh"
need_gwmark
appliance_up
t=selectors

st() { gw_stat wbk-app "$1"; }
v4() { ping_ok wbk-lan "$REM4" 2; }
v6() { ping_ok wbk-lan "$REM6" 2; }
app() { nse wbk-app "$@"; }
rules() { echo "$(st rules_ipv4) $(st rules_ipv6)"; }

check_eq "$t-none" "0 0 off" "$(rules) $(st reply_mark)"

# One IPv4 rule: the IPv4 fast path is on, IPv6 stays off (no rule of its own).
check "$t-v4-rule" app iptables-legacy -t mangle -A PREROUTING -i wbktun0 -j GWMARK --reply-mark 0x32
check_eq "$t-v4-rule-counted" "1 0" "$(rules)"
check "$t-v4-on" v4
check_fails "$t-v6-off-without-its-rule" v6

# An IPv6 rule with another mark and mask (nft backend): both families on,
# each with its own selector.
check "$t-v6-rule" app ip6tables-nft -t mangle -A PREROUTING -i wbktun0 -j GWMARK --reply-mark 0x40/0xff
check_eq "$t-v6-rule-counted" "1 1" "$(rules)"
check "$t-v6-on" v6
check "$t-v4-still-on" v4

# Several rules in one family: ICMP replies now end up with 0x50 (the last
# rule that marks wins); both selectors are in force. Deleting the second
# rule puts its selector out of force, and 0x32 still works.
check "$t-second-v4-rule" app iptables-legacy -t mangle -A PREROUTING -i wbktun0 -p icmp -j GWMARK --reply-mark 0x50
check_eq "$t-second-v4-rule-counted" "2 1" "$(rules)"
check "$t-v4-on-with-second-mark" v4
check "$t-second-v4-rule-deleted" app iptables-legacy -t mangle -D PREROUTING -i wbktun0 -p icmp -j GWMARK --reply-mark 0x50
check_eq "$t-second-v4-rule-uncounted" "1 1" "$(rules)"
check "$t-v4-on-after-delete" v4
check "$t-v6-on-after-v4-delete" v6

# An iptables-legacy table replace: the new table's rules are checked before
# the old one's are destroyed.
added=$(st rules_added) removed=$(st rules_removed)
check "$t-legacy-replace" sh -c "printf '*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -i wbktun0 -j GWMARK --reply-mark 0x33\nCOMMIT\n' |
	ip netns exec wbk-app iptables-legacy-restore"
check_eq "$t-legacy-replace-counted" "$((added + 1)) $((removed + 1)) 1 1" \
	"$(st rules_added) $(st rules_removed) $(rules)"
check_eq "$t-legacy-replace-newest-mark" 0x00000033/0xffffffff "$(st reply_mark)"
check "$t-v4-on-after-replace" v4

# Failed transactions: the kernel accepts the first rule (a new mark), then
# refuses the second (GWMARK in FORWARD), and the whole table change is
# rolled back. The selectors must come back with it, in both backends.
added=$(st rules_added) removed=$(st rules_removed)
check_fails "$t-legacy-failed-restore" sh -c "printf '*mangle\n:PREROUTING ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n-A PREROUTING -i wbktun0 -j GWMARK --reply-mark 0x60\n-A FORWARD -j GWMARK --reply-mark 0x61\nCOMMIT\n' |
	ip netns exec wbk-app iptables-legacy-restore"
check_eq "$t-legacy-failed-rolled-back" "$((added + 1)) $((removed + 1)) 1 1 0x00000033/0xffffffff" \
	"$(st rules_added) $(st rules_removed) $(rules) $(st reply_mark)"
check "$t-v4-on-after-failed" v4
added=$(st rules_added) removed=$(st rules_removed)
check_fails "$t-nft-failed-restore" sh -c "printf '*mangle\n:PREROUTING ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n-A PREROUTING -i wbktun0 -j GWMARK --reply-mark 0x70\n-A FORWARD -j GWMARK --reply-mark 0x71\nCOMMIT\n' |
	ip netns exec wbk-app ip6tables-nft-restore"
check_eq "$t-nft-failed-rolled-back" "1 1" "$(rules)"
check_eq "$t-nft-failed-balanced" "$(( $(st rules_added) - added ))" "$(( $(st rules_removed) - removed ))"
check "$t-v6-on-after-failed" v6
check "$t-v4-on-after-nft-failed" v4

# More distinct selectors than a family keeps in force (4): the fifth rule's
# replies cannot take the fast path, and the stats say so.
for m in 0x81 0x82 0x83; do
	app iptables-legacy -t mangle -A PREROUTING -i wbktun0 -p udp -j GWMARK --reply-mark $m
done
check_eq "$t-four-selectors" "4 0" "$(st rules_ipv4) $(st rules_unselected)"
unselected=$(st unselected)
check "$t-fifth-rule" app iptables-legacy -t mangle -A PREROUTING -i wbktun0 -p icmp -j GWMARK --reply-mark 0x85
check_eq "$t-fifth-rule-unselected" "5 1" "$(st rules_ipv4) $(st rules_unselected)"
check_fails "$t-fifth-rule-not-in-force" v4
check_gt "$t-fifth-rule-packets-counted" "$(st unselected)" "$unselected"
check "$t-v6-unaffected" v6
# One rule fewer: the fifth selector comes into force.
check "$t-make-room" app iptables-legacy -t mangle -D PREROUTING -i wbktun0 -p udp -j GWMARK --reply-mark 0x81
check_eq "$t-room-made" "4 0" "$(st rules_ipv4) $(st rules_unselected)"
check "$t-fifth-rule-in-force" v4

# Every rule gone: both families off, every rule added was removed.
app iptables-legacy -t mangle -F
app ip6tables-nft -t mangle -F
check_eq "$t-all-deleted" "0 0 0 off" "$(rules) $(st rules_unselected) $(st reply_mark)"
check_eq "$t-all-balanced" "$(st rules_added)" "$(st rules_removed)"
check_fails "$t-v4-off-at-end" v4
check_fails "$t-v6-off-at-end" v6
