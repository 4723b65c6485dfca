# shellcheck shell=bash
# The base every test shell harness sources (tests/netns/lib.sh, tests/lib/vpn_pair.sh and through it
# tests/interop/lib.sh and bench/lib.sh, tests/netns/routeless_queue.sh): messages, bounded waits,
# processes stopped by their own pid, namespaces made and deleted by name, and the case runner of
# the interop scripts. Nothing here is global to the machine: a harness only ever signals the pids
# it started and deletes the namespaces it made.
#
# WB_WAIT_SCALE (default 3) stretches every bound for slow or busy machines: a bound, not a delay.

# say MESSAGE...: one line on stderr with the time (and WB_TEST, the harness's name, when set).
say() { printf '[%s%s] %s\n' "$(date +%T)" "${WB_TEST:+ $WB_TEST}" "$*" >&2; }

# wb_wait SECONDS CMD...: runs CMD (quietly) every 0.1 s until it succeeds; status 1 when SECONDS
# (scaled) pass first.
wb_wait() {
    local end=$((SECONDS + $1 * ${WB_WAIT_SCALE:-3}))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.1
    done
}

# wb_wait_gone PID SECONDS: waits (scaled) for the process to end; status 124 when it still runs.
wb_wait_gone() {
    local i
    for ((i = 0; i < $2 * ${WB_WAIT_SCALE:-3} * 10; i++)); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -0 "$1" 2>/dev/null && return 124
    return 0
}

# wb_wait_pid PID SECONDS: waits for one of our children to exit; its status, or 124 on timeout.
wb_wait_pid() {
    local rc=0
    wb_wait_gone "$1" "$2" || return 124
    wait "$1" 2>/dev/null || rc=$?
    return "$rc"
}

# wb_stop_pid PID [SECONDS] [SIGNAL]: SIGNAL (default TERM), then up to SECONDS (default 5, scaled)
# for it to end, then SIGKILL; status 1 when it needed SIGKILL.
wb_stop_pid() {
    kill "-${3:-TERM}" "$1" 2>/dev/null || return 0
    wb_wait_gone "$1" "${2:-5}" && return 0
    kill -KILL "$1" 2>/dev/null
    return 1
}

# wb_ns_add NAME: a namespace with its loopback up, remembered in WB_NSS for wb_ns_del_all.
WB_NSS=()
wb_ns_add() {
    ip netns add "$1" || return 1
    WB_NSS+=("$1")
    ip -n "$1" link set lo up
}

# wb_ns_del NAME...: kills what still runs in each namespace (a ping, a capture) and deletes it.
wb_ns_del() {
    local ns pid
    for ns in "$@"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    return 0
}
# wb_ns_del_all: every namespace wb_ns_add made.
wb_ns_del_all() {
    [ ${#WB_NSS[@]} -eq 0 ] || wb_ns_del "${WB_NSS[@]}"
    WB_NSS=()
}

# --- the case runner of the interop scripts -----------------------------------------------------------
# A script sets CASES (every case, in order) and defines case_run NAME (a case; runs in a subshell,
# its status is the verdict) and cleanup (after each case), then:
#   wb_case_args NAME HELP_LINES "$@"   --wirebridge PATH, --only REGEX, --list, --keep, --help
#   wb_case_prepare NAME                checks root, openvpn and wirebridge; makes WORK and PKI
#   wb_run_cases                        runs the selected cases, PASS/FAIL each, "N passed, N failed"
ONLY='' LIST=0 KEEP=0
wb_case_args() {
    local name=$1 help=$2 c
    shift 2
    while [ $# -gt 0 ]; do
        case $1 in
            --wirebridge) WIREBRIDGE=$2; shift 2 ;;
            --only) ONLY=$2; shift 2 ;;
            --list) LIST=1; shift ;;
            --keep) KEEP=1; shift ;;
            -h|--help) sed -n "${help}p" "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
            *) echo "$name: unknown argument '$1' (try --help)" >&2; exit 2 ;;
        esac
    done
    SELECTED=()
    for c in "${CASES[@]}"; do
        if [ -z "$ONLY" ] || [[ $c =~ $ONLY ]]; then SELECTED+=("$c"); fi
    done
    if [ $LIST = 1 ]; then printf '%s\n' "${SELECTED[@]}"; exit 0; fi
    [ ${#SELECTED[@]} -gt 0 ] || { echo "$name: no case matches '$ONLY'" >&2; exit 2; }
}

wb_case_prepare() {
    local name=$1
    [ "$(id -u)" = 0 ] || { echo "$name: needs root (network namespaces, TAP devices)" >&2; exit 2; }
    [ -x "$OPENVPN" ] || { echo "$name: $OPENVPN not found" >&2; exit 2; }
    # An empty WIREBRIDGE: a run that does not use it (tests/interop/run --baseline).
    if [ -n "$WIREBRIDGE" ]; then
        command -v "$WIREBRIDGE" >/dev/null || { echo "$name: wirebridge binary '$WIREBRIDGE' not found" >&2; exit 2; }
        WIREBRIDGE=$(command -v "$WIREBRIDGE")
    fi
    WORK=$(mktemp -d "/tmp/wb-${name%.sh}.XXXXXX")
    PKI=$WORK/pki
    trap 'cleanup; [ $KEEP = 1 ] || rm -rf "$WORK"' EXIT
    trap 'exit 130' INT TERM
}

wb_run_cases() {
    local c rc t0 f passed=0 failed=0
    for c in "${SELECTED[@]}"; do
        LOGS=$WORK/logs/$c
        mkdir -p "$LOGS"
        t0=$SECONDS
        ( case_run "$c" ) > "$LOGS/case.log" 2>&1
        rc=$?
        cleanup
        if [ $rc = 0 ]; then
            passed=$((passed + 1))
            echo "PASS $c ($((SECONDS - t0))s)"
        else
            failed=$((failed + 1))
            echo "FAIL $c ($((SECONDS - t0))s)"
            sed 's/^/    | /' "$LOGS/case.log" | tail -15
            for f in "$LOGS"/*-server.log "$LOGS"/*-client.log; do
                [ -f "$f" ] || continue
                echo "    --- $(basename "$f") (last lines)"
                tail -12 "$f" | sed 's/^/    | /'
            done
        fi
    done
    echo "$passed passed, $failed failed"
    [ $KEEP = 1 ] && echo "logs kept in $WORK"
    [ $failed = 0 ]
}
