#!/usr/bin/env bash
# Privilege drop (`user:`): a hub and a site that both run as `nobody` after set-up. Each agent's
# credentials are checked in /proc (uid/gid nobody, only CAP_NET_ADMIN effective and permitted,
# nothing inheritable or ambient: no interest rules, so no iptables-restore to spawn; nothing else
# in the bounding set, no_new_privs), traffic crosses, `wirebridge status`
# answers through the socket handed over to nobody, and SIGTERM still removes the bridges the
# agents made as root (the undo runs with the kept CAP_NET_ADMIN). The TAP's queue length is set
# before the drop: the hub's tunnel.txqueuelen (2000), the site's default (4096). The UDP sockets
# are opened after the drop and their buffers forced with the kept CAP_NET_ADMIN: the hub's
# tunnel.rcvbuf is twice net.core.rmem_max, which SO_RCVBUF alone would cap at the sysctl
# (`ss` shows rb at 4x rmem_max only when SO_RCVBUFFORCE worked); the site keeps the default 4 MiB.
#
#          hH 10.77.0.1                              h1 10.77.0.11
#              │                                         │
#   +──────────┴───────────+                  +──────────┴───────────+
#   │ hub  bridge ${T}b     │                  │ s1  bridge ${T}b      │
#   │ server, user: nobody  │══ UDP tunnel ═══│ client, user: nobody  │
#   +──────────┬───────────+                  +──────────┬───────────+
#              │ ${T}w 172.31.77.1     underlay ${T}u    │ ${T}w 172.31.77.11
set -euo pipefail
. "$(dirname "$0")/lib.sh"

nobody_uid=$(id -u nobody)

# Twice the cap (a whole number of bytes within tunnel.rcvbuf's 64 MiB).
rmem_max=$(cat /proc/sys/net/core/rmem_max)
[ "$rmem_max" -le $((32 << 20)) ] || die "net.core.rmem_max is $rmem_max: above 32 MiB, tunnel.rcvbuf cannot ask twice it"
hub_rcvbuf=$((2 * rmem_max))
wbn_hub_and_sites 1 true "  txqueuelen: 2000
  rcvbuf: $hub_rcvbuf
user: nobody"
echo "user: nobody" >>"$WORK/s1.yaml"
wbn_save_before

# proc_field PID FIELD: the value of FIELD in /proc/PID/status (tabs folded to spaces).
proc_field() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }
dropped() { [ "$(proc_field "${PID[$1]}" Uid)" = "$nobody_uid $nobody_uid $nobody_uid $nobody_uid" ]; }

wbn_start hub
wbn_wait_bridged hub
wbn_start s1
wbn_wait_bridged s1
for a in hub s1; do
    require "$a's agent runs as nobody within 20 s" wait_for 20 dropped "$a"
    pid=${PID[$a]}
    check "$a: gid is nobody's group" test "$(proc_field "$pid" Gid | cut -d' ' -f1)" = "$(id -g nobody)"
    check "$a: effective capabilities are CAP_NET_ADMIN only ($(proc_field "$pid" CapEff))" \
        test "$(proc_field "$pid" CapEff)" = 0000000000001000
    check "$a: nothing else permitted ($(proc_field "$pid" CapPrm))" test "$(proc_field "$pid" CapPrm)" = 0000000000001000
    check "$a: nothing inheritable ($(proc_field "$pid" CapInh))" test "$(proc_field "$pid" CapInh)" = 0000000000000000
    check "$a: nothing ambient ($(proc_field "$pid" CapAmb))" test "$(proc_field "$pid" CapAmb)" = 0000000000000000
    check "$a: bounding set cut down ($(proc_field "$pid" CapBnd))" test "$(proc_field "$pid" CapBnd)" = 0000000000001000
    # Every thread (the workers too) has the same: capabilities are per thread.
    for task in /proc/"$pid"/task/*; do
        check "$a: thread $(basename "$task") has CapEff 1000, CapAmb 0" \
            test "$(proc_field "$pid/task/$(basename "$task")" CapEff) $(proc_field "$pid/task/$(basename "$task")" CapAmb)" = "0000000000001000 0000000000000000"
    done
    check "$a: no_new_privs set" test "$(proc_field "$pid" NoNewPrivs)" = 1
    check "$a: the log says so" grep -q "privileges dropped: uid=$nobody_uid(nobody)" "$WORK/$a.log"
    check "$a: its control socket belongs to nobody" test "$(stat -c %U "$WORK/$a.sock")" = nobody
done
# txqueuelen: set at start as root, kept after the drop; the default where the config has none.
declare -A want_qlen=([hub]=2000 [s1]=4096)
for a in hub s1; do
    qlen=$(ip -n "$T-$a" -j link show "${T}t" | jq -r '.[0].txqlen')
    check "$a: TAP ${T}t has qlen ${want_qlen[$a]} ($qlen)" test "$qlen" = "${want_qlen[$a]}"
    check "$a: the log says so" grep -q "TAP ${T}t: txqueuelen ${want_qlen[$a]}" "$WORK/$a.log"
done
wait_for 30 hub_peers_up 1 || die "the hub does not list the site within 30 s"
# Socket buffers, opened after the drop: the hub's forced past the cap, the site's the 4 MiB default.
require "the hub's namespace has the same net.core.rmem_max ($rmem_max)" \
    test "$(ip netns exec "$T-hub" cat /proc/sys/net/core/rmem_max)" = "$rmem_max"
hub_rb=$(skmem hub -u rb sport = :$PORT)
hub_tb=$(skmem hub -u tb sport = :$PORT)
check "hub: its UDP socket's receive buffer is 2 x $hub_rcvbuf, past 2 x rmem_max (rb $hub_rb)" \
    test "$hub_rb" = $((2 * hub_rcvbuf))
check "hub: its send buffer is the default's (tb $hub_tb)" test "$hub_tb" = 8388608
check "hub: the log says so" \
    grep -q "UDP socket buffers: receive $((2 * hub_rcvbuf)), send 8388608 bytes (asked $hub_rcvbuf and 4194304; the kernel doubles it)" "$WORK/hub.log"
s1_rb=$(skmem s1 -u rb dport = :$PORT)
s1_tb=$(skmem s1 -u tb dport = :$PORT)
check "s1: its UDP socket's buffers are the default's (rb $s1_rb, tb $s1_tb)" test "$s1_rb $s1_tb" = "8388608 8388608"
check "s1: the log says so" \
    grep -q "UDP socket buffers: receive 8388608, send 8388608 bytes (asked 4194304 each; the kernel doubles it)" "$WORK/s1.log"
for a in hub s1; do
    check "$a: no warning that the buffers were capped" bash -c "! grep -q 'buffers smaller than asked' '$WORK/$a.log'"
done
check "h1 reaches hH through the tunnel" reach h1 "${ip_of[hH]}" 20
check "hH reaches h1" reach hH "${ip_of[h1]}" 20
check "status answers from the dropped hub" matches "$(status hub)" "s1"

for a in hub s1; do kill -TERM "${PID[$a]}"; done
for a in hub s1; do
    rc=0
    wbn_stop "$a" || rc=$?
    check "$a's agent exited with status 0 after SIGTERM (status $rc)" test "$rc" = 0
    check "$a: links, addresses and rules are as before (the undo ran without root)" \
        same_as_before "$a" "$WORK/before.$a"
done
wbn_finish
