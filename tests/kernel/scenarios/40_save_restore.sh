#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 40_save_restore.sh - GWMARK rules round-trip exactly through
# iptables-save/iptables-restore, IPv4 and IPv6, legacy and nft, and can be
# checked (-C) and deleted (-D) by their text, which also proves that the
# kernel-only part of the target data is left out of the comparison.
#
#   wbk-sr (a lone namespace; no traffic)
. "$(dirname "$0")/../lib.sh"
need_gwmark
netns_add wbk-sr

# The canonical text the plugin saves: hex, mask only when not 0xffffffff.
rules='*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:wbkchain - [0:0]
-A PREROUTING -i wbktap0 -j GWMARK --reply-mark 0x32
-A PREROUTING -i wbktap1 -j GWMARK --reply-mark 0x10/0xf0 --orig-mark 0x2000/0xff00
-A PREROUTING -j wbkchain
-A OUTPUT -o wbkbr0 -j GWMARK --orig-mark 0x33
-A OUTPUT -j GWMARK --orig-mark 0x80000000/0x80000000
-A wbkchain -j GWMARK --reply-mark 0xffffffff
COMMIT'

# normalize: the rule text without comments and counters.
normalize() { grep -v '^#' | sed 's/ \[[0-9]*:[0-9]*\]$//'; }
expected=$(normalize <<<"$rules")

for fam in iptables ip6tables; do
	for be in legacy nft; do
		t=$fam-$be
		save=$fam-$be-save
		restore=$fam-$be-restore
		check "$t-restore" nse wbk-sr "$restore" <<<"$rules"
		first=$(nse wbk-sr "$save" -t mangle | normalize)
		check_eq "$t-save-exact" "$expected" "$first"
		# And the saved text restores to the same rules again.
		check "$t-restore-saved" nse wbk-sr "$restore" <<<"$(nse wbk-sr "$save" -t mangle)"
		check_eq "$t-round-trip" "$expected" "$(nse wbk-sr "$save" -t mangle | normalize)"

		# Decimal and default-mask input is saved canonically.
		check "$t-append-decimal" nse wbk-sr "$fam-$be" -t mangle -A OUTPUT -j GWMARK --orig-mark 51/255
		check "$t-decimal-saved-hex" sh -c "ip netns exec wbk-sr $save -t mangle | grep -qx -- '-A OUTPUT -j GWMARK --orig-mark 0x33/0xff'"
		check "$t-check-by-text" nse wbk-sr "$fam-$be" -t mangle -C OUTPUT -j GWMARK --orig-mark 0x33/0xff
		# ip6tables-legacy 1.8.9 -C ignores target data altogether (the
		# stock MARK target shows the same), so only the others can
		# prove that a different mask is a different rule.
		[ "$t" != ip6tables-legacy ] &&
			check_fails "$t-check-other-mask" nse wbk-sr "$fam-$be" -t mangle -C OUTPUT -j GWMARK --orig-mark 0x33/0x1ff
		check "$t-delete-by-text" nse wbk-sr "$fam-$be" -t mangle -D OUTPUT -j GWMARK --orig-mark 51/0xff
		check "$t-delete-reply" nse wbk-sr "$fam-$be" -t mangle -D PREROUTING -i wbktap0 -j GWMARK --reply-mark 50
		check_eq "$t-after-delete" "$(grep -v -- '-i wbktap0 ' <<<"$expected")" "$(nse wbk-sr "$save" -t mangle | normalize)"

		# iptables -L prints the target through the plugin too.
		check "$t-list" sh -c "ip netns exec wbk-sr $fam-$be -t mangle -L PREROUTING -n | grep -q 'GWMARK reply 0x10/0xf0 orig 0x2000/0xff00'"

		nse wbk-sr "$fam-$be" -t mangle -F
		nse wbk-sr "$fam-$be" -t mangle -X
		# The nft backend keeps an empty table; legacy keeps none.
		check_eq "$t-flushed" 0 "$(nse wbk-sr "$save" | grep -c GWMARK)"
	done
done
