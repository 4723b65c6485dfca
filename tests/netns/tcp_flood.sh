#!/usr/bin/env bash
# Issue 16, TCP hub under attack from one host (ns s2, no agent):
#  1. 60 idle TCP connections (slowloris: connect, send nothing). The hub keeps at most
#     limits.tcp_max_per_source (20) from one address and closes the rest at accept
#     (drops.tcp_connection_limit); the ones it kept are closed after limits.tcp_handshake_timeout
#     (5 s here) without an authenticated session (drops.tcp_handshake_timeout); its descriptors
#     come back to what they were.
#  2. The hub out of descriptors (its RLIMIT_NOFILE lowered to what it uses + 2, then 10
#     connections): accept fails with EMFILE. It used to spin on its level-triggered listener at
#     100 % CPU; now it stops accepting for a second at a time (drops.tcp_accept_failed), and
#     uses little CPU.
#  3. The real site s1 connects over TCP afterwards and h1 reaches hH.
#
#      hH 10.77.0.1                                               h1 10.77.0.11
#          │                                                            │
#  +───────┴──────────────+     underlay ns wan      +─────────────────┴──+
#  │ hub  bridge ${T}b     │ ${T}w   bridge ${T}u   ${T}w│ s1  TCP site      │
#  │ TAP ${T}t  server tcp │─────────────┬──────────────│ (started last)      │
#  │ :1194                 │ .1          │           .11│                     │
#  +──────────────────────+              │ .12          +────────────────────+
#                                 +──────┴──────────────+
#                                 │ s2: no agent; idle   │
#                                 │ TCP connections      │
#                                 +─────────────────────+
set -euo pipefail
PROTO=tcp
. "$(dirname "$0")/lib.sh"

wbn_tcp_hub_attacked "tcp_max_connections: 40, tcp_max_per_source: 20, tcp_handshake_timeout: 5"
fds() { ls "/proc/$hub_pid/fd" | wc -l; }
drop_of() { status hub --json | jq ".drops.$1 // 0"; }
above() { [ "$(drop_of "$1")" -gt "$2" ]; }
fds_before=$(fds)

log "1. 60 idle connections from $WAN.12, held up to 12 s"
out=$(tcp_hold 60 12 | tail -n 1)
log "$out"
connected=$(grep -oE '^[0-9]+ connected' <<<"$out" | cut -d' ' -f1)
closed=$(grep -oE '[0-9]+ closed' <<<"$out" | cut -d' ' -f1)
early=$(grep -oE '[0-9]+ within 1 s' <<<"$out" | cut -d' ' -f1)
check "the hub closed every idle connection ($closed of $connected)" test "$closed" = "$connected"
check "those over the per-source cap at once ($early >= 40)" test "$early" -ge 40
check "drops.tcp_connection_limit counts them ($(drop_of tcp_connection_limit))" above tcp_connection_limit 39
check "drops.tcp_handshake_timeout counts the idle ones ($(drop_of tcp_handshake_timeout))" above tcp_handshake_timeout 19
back_to_baseline() { [ "$(fds)" -le "$fds_before" ]; }
check "the hub's descriptors are back to $fds_before ($(fds))" wait_for 5 back_to_baseline

log "2. the hub out of descriptors"
limit=$(($(fds) + 2))
soft_before=$(prlimit --pid "$hub_pid" --nofile --noheadings --output SOFT)
prlimit --pid "$hub_pid" --nofile="$limit:"  # the soft limit only: raising a hard one back needs CAP_SYS_RESOURCE
cpu() { awk '{print $14 + $15}' "/proc/$hub_pid/stat"; }
tcp_hold 10 4 >"$WORK/emfile.out" &
flooder=$!
sleep 1  # a fixed span on purpose: the CPU the hub uses over it is what is measured
c0=$(cpu)
sleep 2
c1=$(cpu)
wait "$flooder" || true
ticks=$((c1 - c0))
hz=$(getconf CLK_TCK)
log "hub CPU over 2 s with EMFILE pending: $ticks ticks ($hz a second)"
check "the hub does not spin on EMFILE ($ticks ticks in 2 s < $((hz / 2)))" test "$ticks" -lt "$((hz / 2))"
check "drops.tcp_accept_failed counts the failed accepts" wait_for 5 above tcp_accept_failed 0
prlimit --pid "$hub_pid" --nofile="$soft_before:"

log "3. the real site"
wbn_start s1
wbn_wait_bridged s1
check "s1 connects over TCP" wait_for 30 site_up s1
check "h1 reaches hH" reach h1 "${ip_of[hH]}" 20
status hub

wbn_stop_all
wbn_finish
