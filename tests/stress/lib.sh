# shellcheck shell=bash
# Helpers of the stress tests (label stress): the netns helpers (../netns/lib.sh: namespaces,
# agents, PKI, waits, status) plus figures. A figure is a measured number with the bound the test
# asserts for it; each is printed as
#   FIGURE <test> <name> = <value> <unit> (bound: <op> <limit>)
# and appended to $WB_STRESS_FIGURES when set (ctest sets it to <build>/stress-figures.txt; the
# figures of the last run in docs/SECURITY.md come from there).
. "$(dirname "${BASH_SOURCE[0]}")/../netns/lib.sh"

# figure NAME VALUE UNIT OP LIMIT: prints the figure and checks VALUE OP LIMIT (OP: -le -lt -ge -gt -eq).
figure() {
    local line="FIGURE $TEST $1 = $2 $3 (bound: ${4#-} $5)"
    echo "$line"
    [ -n "${WB_STRESS_FIGURES:-}" ] && echo "$line" >>"$WB_STRESS_FIGURES"
    check "$1 = $2 $3 within its bound ($4 $5)" test "$2" "$4" "$5"
}
# rss_kb PID: resident set in KiB.
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# cpu_ticks PID: user + system time of all its threads, in clock ticks (getconf CLK_TCK a second).
cpu_ticks() { cat "/proc/$1/task/"*/stat 2>/dev/null | awk '{s += $14 + $15} END {print s + 0}'; }
# fd_count PID: open descriptors.
fd_count() { ls "/proc/$1/fd" | wc -l; }
# drop_of NAME COUNTER: a drops.<COUNTER> of the agent NAME (0 when absent).
drop_of() { status "$1" --json | jq ".drops.$2 // 0"; }
# ping_loss FILE: the loss percentage ping printed (integer part).
ping_loss() { grep -oE '[0-9.]+% packet loss' "$1" | cut -d% -f1 | cut -d. -f1; }
# ping_count FILE: packets transmitted.
ping_sent() { grep -oE '[0-9]+ packets transmitted' "$1" | cut -d' ' -f1; }
