#!/usr/bin/env bash
# deploy/systemd/wirebridge@.service as systemd reads it: `systemd-analyze verify` finds nothing
# (with the unit pointed at the built binary), and it has what the agent relies on: Type=notify
# with a watchdog, a per-instance runtime folder, a syscall filter that still allows io_uring and
# the privilege drop, and a file-descriptor limit above the default.
#
#   tests/deploy/unit.sh SOURCE_DIR WIREBRIDGE
set -uo pipefail
src=${1:?usage: unit.sh SOURCE_DIR WIREBRIDGE}
wb=$(realpath "${2:?usage: unit.sh SOURCE_DIR WIREBRIDGE}")
unit=$src/deploy/systemd/wirebridge@.service
tmp=$(mktemp -d /tmp/wb-unit-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failed=0
check() {
    local what=$1
    shift
    if "$@"; then printf 'PASS %s\n' "$what"; else printf 'FAIL %s\n' "$what"; failed=$((failed + 1)); fi
}
has() { grep -qx -- "$1" "$unit"; }

check "Type=notify" has 'Type=notify'
check "NotifyAccess=main" has 'NotifyAccess=main'
check "a watchdog (WatchdogSec=)" grep -qE '^WatchdogSec=[1-9][0-9]*s?$' "$unit"
check "RuntimeDirectory per instance" has 'RuntimeDirectory=wirebridge/%i'
check "SystemCallFilter=@system-service" has 'SystemCallFilter=@system-service'
check "LimitNOFILE above 1024" bash -c "[ \"\$(sed -n 's/^LimitNOFILE=//p' '$unit')\" -gt 1024 ]"
check "a memory bound (MemoryMax=)" grep -qE '^MemoryMax=[1-9][0-9]*[KMG]$' "$unit"
check "a task bound (TasksMax=)" grep -qE '^TasksMax=[1-9][0-9]*$' "$unit"
if command -v systemd-analyze >/dev/null; then
    # Every syscall of the service set, its groups expanded (read whole: no early-closed pipes).
    systemd-analyze syscall-filter @system-service >"$tmp/filter" 2>/dev/null
    for g in $(sed -n 's/^ *\(@[a-z-]*\)$/\1/p' "$tmp/filter"); do
        systemd-analyze syscall-filter "$g" >>"$tmp/filter" 2>/dev/null
    done
    for s in io_uring_setup io_uring_enter setresuid setgroups capset prctl execve; do
        check "the filter allows $s" grep -qE "^ +$s\$" "$tmp/filter"
    done
    sed "s|/usr/sbin/wirebridge|$wb|g" "$unit" >"$tmp/wirebridge@.service"
    out=$(cd "$tmp" && SYSTEMD_LOG_LEVEL=notice timeout 60 systemd-analyze verify --man=no "$tmp/wirebridge@example.service" 2>&1)
    out=$(grep -v -e 'ConditionPathExists' <<<"$out" | grep -v '^$')
    check "systemd-analyze verify${out:+: $out}" test -z "$out"
else
    echo "note: systemd-analyze is not installed: the unit is not verified"
fi
echo "unit: $failed failed"
[ "$failed" -eq 0 ]
