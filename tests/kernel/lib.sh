# SPDX-License-Identifier: GPL-2.0
# lib.sh - helpers shared by the scenarios: checks, bounded waits, namespaces,
# GWMARK /proc readers. Sourced by every tests/kernel/scenarios/*.sh.
#
# A scenario prints one "PASS name" or "FAIL name: why" line per check; the
# guest counts them. Every namespace and device name starts with "wbk", and
# everything a scenario creates is removed by its EXIT trap.

set -u
export LC_ALL=C
SCENARIO=$(basename "$0" .sh)
WBK_NETNS=()

pass() { printf 'PASS %s\n' "$1"; }
fail() { printf 'FAIL %s: %s\n' "$1" "$2"; return 1; }

# check NAME CMD...: PASS if CMD succeeds, else FAIL with its last output line.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "$(printf '%s\n' "$out" | grep -v -e '^Warning' -e '^Try ' | head -n 2 | tr '\n' ' ' | cut -c1-240)(cmd: $*)"
	fi
}

# check_fails NAME CMD...: PASS if CMD fails (a refusal we expect).
check_fails() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		fail "$name" "was accepted: $*"
	else
		pass "$name"
	fi
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}

# check_gt NAME A B: PASS if A > B (integers).
check_gt() {
	if [ "$2" -gt "$3" ] 2>/dev/null; then pass "$1"; else fail "$1" "expected $2 > $3"; fi
}

# wait_until SECONDS CMD...: poll CMD every 0.1 s until it succeeds; bounded.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# netns_add NAME: a fresh namespace with lo up, removed at exit.
netns_add() {
	ip netns del "$1" 2>/dev/null || true
	ip netns add "$1"
	WBK_NETNS+=("$1")
	ip -n "$1" link set lo up
}

wbk_cleanup() {
	local ns
	for ns in "${WBK_NETNS[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}
trap wbk_cleanup EXIT

# nse NS CMD...: run CMD inside namespace NS.
nse() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# gw_stat NS NAME: a value from /proc/net/gwmark/stats in NS ("" if absent).
gw_stat() {
	nse "$1" awk -v k="$2" '$1 == k {print $2}' /proc/net/gwmark/stats 2>/dev/null
}

# gw_flows NS: the flow lines (header removed) of NS.
gw_flows() {
	nse "$1" grep -v '^#' /proc/net/gwmark/flows 2>/dev/null
}

# gw_dump NS: the stats of NS on one comment line, for failure analysis.
gw_dump() {
	echo "# $1 stats: $(nse "$1" cat /proc/net/gwmark/stats 2>/dev/null | tr '\n' ' ')"
}

# need_gwmark: stop the scenario with a FAIL if the module is not loaded.
need_gwmark() {
	if [ "${WB_GWMARK_LOADED:-0}" != 1 ] || [ ! -d /sys/module/xt_GWMARK ]; then
		fail "$SCENARIO" "xt_GWMARK is not loaded"
		exit 0
	fi
}

# mac_of NS DEV
mac_of() { nse "$1" cat "/sys/class/net/$2/address"; }
