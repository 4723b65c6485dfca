#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# plugin_test.sh - host-side checks of libxt_GWMARK.so: help, option parsing,
# refusals and print, with the real iptables binaries in a throw-away netns.
#
#   plugin_test.sh PLUGIN_DIR
#
# The host cannot load xt_GWMARK.ko, so rules never reach a kernel target
# here: what is checked is everything the plugin decides on its own (the
# kernel half and the save/restore round trip are in tests/kernel/).
# Exit 77 (skipped) only if no network namespace can be made at all.
set -u
export LC_ALL=C

plugin_dir=${1:?usage: plugin_test.sh PLUGIN_DIR}
[ -f "$plugin_dir/libxt_GWMARK.so" ] || { echo "no $plugin_dir/libxt_GWMARK.so"; exit 1; }
sys_dir=$(pkg-config --variable=xtlibdir xtables 2>/dev/null || echo /usr/lib/x86_64-linux-gnu/xtables)
export XTABLES_LIBDIR=$plugin_dir:$sys_dir

if [ "${WB_PLUGIN_TEST_IN_NETNS:-}" != 1 ]; then
	export WB_PLUGIN_TEST_IN_NETNS=1
	for how in "unshare -n" "unshare -rn"; do
		if $how true 2>/dev/null; then
			exec $how "$0" "$@"
		fi
	done
	echo "SKIP: cannot create a network namespace"
	exit 77
fi

passed=0
failed=0
ok() { echo "PASS $1"; passed=$((passed + 1)); }
ko() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# refused NAME MESSAGE IPT ARGS...: the command must fail, saying MESSAGE.
refused() {
	local name=$1 msg=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		ko "$name" "accepted: $*"
	elif ! grep -qF -- "$msg" <<<"$out"; then
		ko "$name" "no '$msg' in: $(grep -v '^Warning' <<<"$out" | head -n 1)"
	else
		ok "$name"
	fi
}

# printed NAME EXPECTED ARGS...: iptables-legacy -v echoes the rule through
# the plugin's print callback before the kernel refuses it.
printed() {
	local name=$1 want=$2 out
	shift 2
	out=$(iptables-legacy -v -t mangle -A PREROUTING -j GWMARK "$@" 2>&1)
	if grep -qF -- "$want" <<<"$out"; then
		ok "$name"
	else
		ko "$name" "expected '$want' in: $(grep -v '^Warning' <<<"$out" | head -n 2 | tr '\n' ' ')"
	fi
}

help=$(iptables-nft -j GWMARK -h 2>&1)
if grep -q -- '--reply-mark value\[/mask\]' <<<"$help" && grep -q -- '--orig-mark value\[/mask\]' <<<"$help"; then
	ok help
else
	ko help "GWMARK options missing from -h"
fi

for ipt in iptables-nft iptables-legacy ip6tables-nft ip6tables-legacy; do
	a=("$ipt" -t mangle -A PREROUTING -j GWMARK)
	refused "$ipt-zero-reply" "GWMARK: --reply-mark value must not be 0" "${a[@]}" --reply-mark 0
	refused "$ipt-zero-orig" "GWMARK: --orig-mark value must not be 0" "${a[@]}" --orig-mark 0x0/0xff
	refused "$ipt-outside-mask" "GWMARK: --reply-mark value 0x30 has bits outside its mask 0xf" \
		"${a[@]}" --reply-mark 0x30/0x0f
	refused "$ipt-outside-mask-orig" "GWMARK: --orig-mark value 0x100 has bits outside its mask 0xff" \
		"${a[@]}" --orig-mark 256/255
	refused "$ipt-no-option" "GWMARK: at least one of --reply-mark and --orig-mark is required" "${a[@]}"
	refused "$ipt-twice" 'option "--reply-mark" can only be used once' \
		"${a[@]}" --reply-mark 1 --reply-mark 2
	refused "$ipt-garbage" 'trailing garbage after value for option "--reply-mark"' "${a[@]}" --reply-mark 0x3g
	refused "$ipt-too-big" 'bad integer value for option "--orig-mark"' "${a[@]}" --orig-mark 0x100000000
	refused "$ipt-invert" 'cannot be inverted' "${a[@]}" ! --reply-mark 1
done

printed print-reply-default-mask " GWMARK reply 0x32" --reply-mark 50
printed print-both " GWMARK reply 0x32/0xff orig 0x33" --reply-mark 50/0xff --orig-mark 0x33
printed print-orig-only " GWMARK orig 0x80000000/0x80000000" --orig-mark 0x80000000/0x80000000
printed print-full-mask-omitted " GWMARK reply 0xffffffff" --reply-mark 0xffffffff/0xffffffff

# iptables-restore --test parses a whole ruleset without committing it.
rules_ok='*mangle
-A PREROUTING -i wbktap0 -j GWMARK --reply-mark 0x32
-A OUTPUT -j GWMARK --orig-mark 0x33/0xff
-A OUTPUT -j GWMARK --reply-mark 0x1/0x1 --orig-mark 0x2/0x2
COMMIT'
rules_bad='*mangle
-A PREROUTING -i wbktap0 -j GWMARK --reply-mark 0x32
-A OUTPUT -j GWMARK --orig-mark 0x133/0xff
COMMIT'
for r in iptables-nft-restore ip6tables-nft-restore; do
	if out=$($r --test <<<"$rules_ok" 2>&1); then
		ok "$r-test-valid"
	else
		ko "$r-test-valid" "$(grep -v '^Warning' <<<"$out" | head -n 1)"
	fi
	if out=$($r --test <<<"$rules_bad" 2>&1); then
		ko "$r-test-invalid" "accepted a value outside its mask"
	elif grep -qF 'has bits outside its mask' <<<"$out" && grep -qF 'line: 3' <<<"$out"; then
		ok "$r-test-invalid"
	else
		ko "$r-test-invalid" "$(grep -v '^Warning' <<<"$out" | head -n 2 | tr '\n' ' ')"
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
