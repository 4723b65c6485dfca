#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 30_bad_rules.sh - GWMARK rules that must be refused, with a message, by the
# plugin (options) or by the module's checkentry and x_tables (table, chain),
# for iptables and ip6tables through both backends.
#
#   wbk-bad (a lone namespace; no traffic)
. "$(dirname "$0")/../lib.sh"
need_gwmark
netns_add wbk-bad

# refused NAME MESSAGE_RE CMD...: CMD fails and says MESSAGE_RE.
refused() {
	local name=$1 re=$2 out
	shift 2
	if out=$(nse wbk-bad "$@" 2>&1); then
		fail "$name" "accepted: $*"
	elif grep -qE -- "$re" <<<"$out"; then
		pass "$name"
	else
		fail "$name" "no /$re/ in: $(grep -v '^Warning' <<<"$out" | head -n 2 | tr '\n' ' ')"
	fi
}

# Table and chain are checked by the kernel (x_tables on behalf of the
# module): userspace only learns EINVAL, the reason is in the kernel log,
# checked once per kind at the end (the kernel rate-limits those lines).
kernel_refusal='Invalid argument'
klog_mark="wbk-bad-rules-$RANDOM$RANDOM"
echo "$klog_mark" >/dev/kmsg

# Everything through both IPv4 backends; the IPv6 binaries share the plugin
# and the kernel checks, so a sample of each kind is enough there.
for ipt in iptables-legacy iptables-nft ip6tables-legacy ip6tables-nft; do
	full=1
	case $ipt in ip6*) full=0 ;; esac
	refused "$ipt-zero-mark" 'GWMARK: --reply-mark value must not be 0' \
		"$ipt" -t mangle -A PREROUTING -j GWMARK --reply-mark 0
	refused "$ipt-outside-mask" 'GWMARK: --orig-mark value 0x1ff has bits outside its mask 0xff' \
		"$ipt" -t mangle -A OUTPUT -j GWMARK --orig-mark 0x1ff/0xff
	refused "$ipt-table-filter" "$kernel_refusal" \
		"$ipt" -t filter -A INPUT -j GWMARK --reply-mark 0x32
	refused "$ipt-chain-FORWARD" "$kernel_refusal" \
		"$ipt" -t mangle -A FORWARD -j GWMARK --reply-mark 0x32
	if [ "$full" = 1 ]; then
		refused "$ipt-no-option" 'GWMARK: at least one of --reply-mark and --orig-mark is required' \
			"$ipt" -t mangle -A PREROUTING -j GWMARK
		refused "$ipt-table-raw" "$kernel_refusal" \
			"$ipt" -t raw -A PREROUTING -j GWMARK --reply-mark 0x32
		for chain in INPUT POSTROUTING; do
			refused "$ipt-chain-$chain" "$kernel_refusal" \
				"$ipt" -t mangle -A "$chain" -j GWMARK --reply-mark 0x32
		done
		# A user chain is checked when a jump from a wrong chain reaches it.
		nse wbk-bad "$ipt" -t mangle -N wbkchain
		if nse wbk-bad "$ipt" -t mangle -A wbkchain -j GWMARK --reply-mark 0x32 2>/dev/null; then
			refused "$ipt-chain-via-jump" "$kernel_refusal" "$ipt" -t mangle -A FORWARD -j wbkchain
			check "$ipt-chain-via-jump-ok-from-prerouting" nse wbk-bad "$ipt" -t mangle -A PREROUTING -j wbkchain
		else
			fail "$ipt-chain-via-jump" "a GWMARK rule in an unreferenced user chain was refused"
		fi
		nse wbk-bad "$ipt" -t mangle -F
		nse wbk-bad "$ipt" -t mangle -X wbkchain
	fi
	check_eq "$ipt-nothing-left" 0 "$(nse wbk-bad "$ipt-save" 2>/dev/null | grep -c GWMARK)"
done

klog=$(dmesg | sed -n "/$klog_mark/,\$p")
check "kernel-says-wrong-table" grep -qE 'GWMARK target: only valid in mangle table, not (filter|raw)' <<<"$klog"
check "kernel-says-wrong-chain" grep -qE 'GWMARK target: used from hooks .*, but only usable from PREROUTING/OUTPUT' <<<"$klog"
