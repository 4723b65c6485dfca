# SPDX-License-Identifier: GPL-2.0
# inline.sh - DESIGN scenario 7 in the VM: runs one of the tests/netns inline tests here, with
# xt_GWMARK loaded and the real agent (the --build dir's, not sanitized), and turns its
# "ok: ..." / "FAIL: ..." lines into this harness's PASS/FAIL lines (one per check, the
# measured loss windows are in their names). Sourced by scenarios 70-79 after lib.sh.

# inline_netns SCRIPT [VAR=VALUE...]: runs tests/netns/SCRIPT with the environment given.
inline_netns() {
	local script=$1 rc=0 line out
	shift
	need_gwmark
	local build=${XTABLES_LIBDIR%%/iptables-ext:*}
	local wb=$build/agent/app/wirebridge
	if [ ! -x "$wb" ]; then
		fail "$SCENARIO" "no wirebridge binary at $wb (build the wirebridge target in the --build dir)"
		return 0
	fi
	# What the agent's rules and tables need; the kernel would load most on demand.
	modprobe -a xt_NFQUEUE nfnetlink_queue xt_physdev xt_CONNMARK xt_MARK nft_meta_bridge nf_conntrack_bridge \
		2>/dev/null
	out=/tmp/$SCENARIO.netns.log
	env WB_WIREBRIDGE="$wb" WB_WAIT_SCALE="${WB_WAIT_SCALE:-6}" "$@" \
		bash "$(dirname "${BASH_SOURCE[0]}")/../netns/$script" >"$out" 2>&1 || rc=$?
	cat "$out"  # the console keeps the whole run
	while IFS= read -r line; do
		case $line in
		*"] ok: "*) pass "$SCENARIO: ${line#*] ok: }" ;;
		*"] FAIL: "*) fail "$SCENARIO: ${line#*] FAIL: }" "see the console" ;;
		esac
	done <"$out"
	[ "$rc" = 0 ] || fail "$SCENARIO" "tests/netns/$script exited with $rc: $(tail -n 3 "$out" | tr '\n' ' ' | cut -c1-200)"
	return 0
}
