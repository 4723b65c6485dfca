#!/usr/bin/env bash
# Issue 16, unauthenticated hub: one host (the attacker, in ns s2, holding the shared tls-crypt
# key as every site does) opens 300 sessions from 300 source ports: each sends a client reset,
# echoes the hub's cookie with the start of TLS, and falls silent. The hub used to give each of
# them a pool address and a peer-id before authentication: its /24 pool was full and every real
# site was refused for the hand-window (60 s). Now:
#  - reset replies are rate-limited (here: the global bucket, 100 at once + 10/s; the per-source
#    one is off so that the half-open caps below are what is tested): fewer than 300 answered,
#    drops.reset_rate_limited counts the rest;
#  - one source address holds at most 16 half-open sessions (drops.half_open_limit_source);
#  - the half-open ones hold no address: the real site s1, started during the flood, connects,
#    gets the pool's first address and peer-id 0, and h1 reaches hH.
#
#      hH 10.77.0.1                                               h1 10.77.0.11
#          │                                                            │
#  +───────┴──────────────+     underlay ns wan      +─────────────────┴──+
#  │ hub  bridge ${T}b     │ ${T}w   bridge ${T}u   ${T}w│ s1  real site      │
#  │ TAP ${T}t  server     │─────────────┬──────────────│ (started during     │
#  │ pool 10.200.77.0/24   │ .1          │           .11│  the flood)         │
#  +──────────────────────+              │ .12          +────────────────────+
#                                 +──────┴──────────────+
#                                 │ s2: no agent;        │
#                                 │ wb-halfopen, 300     │
#                                 │ source ports         │
#                                 +─────────────────────+
set -euo pipefail
. "$(dirname "$0")/lib.sh"
: "${WB_HALFOPEN:?set WB_HALFOPEN to the wb-halfopen tool (ctest -L netns does)}"

wbn_hub_and_sites 2 true
cat >>"$WORK/hub.yaml" <<EOF
limits: {reset_rate: 10, reset_burst: 100, reset_rate_per_source: 0}
EOF
APPLIANCES=(hub s1)  # s2 runs no agent: its namespace is the attacker's host
wbn_start hub
wbn_wait_bridged hub

drop_of() { status hub --json | jq ".drops.$1 // 0"; }
above() { [ "$(drop_of "$1")" -gt "$2" ]; }
log "300 half-open sessions from $WAN.12"
on s2 "$WB_HALFOPEN" "$WORK/s2.yaml" 300 25 >"$WORK/halfopen.out" 2>&1 &
flood=$!
require "the hub refuses half-open sessions over the per-source cap" wait_for 10 above half_open_limit_source 0

wbn_start s1
wbn_wait_bridged s1
check "s1 connects during the flood" wait_for 30 site_up s1
s1_peer=$(hub_peer_of "$WAN.11")
check "s1 has the pool's first address and peer-id 0 (the flood took none): $s1_peer" \
    test "$(echo "$s1_peer" | jq -r '"\(.virtual_address) \(.peer_id)"')" = "10.200.77.2 0"
check "h1 reaches hH" reach h1 "${ip_of[hH]}" 20
check "the hub lists one peer (half-open sessions are not peers)" test "$(status hub --json | jq '.peers | length')" = 1

wait "$flood" || die "wb-halfopen failed: $(cat "$WORK/halfopen.out")"
cat "$WORK/halfopen.out"
answered=$(grep -oE '[0-9]+ resets answered' "$WORK/halfopen.out" | cut -d' ' -f1)
check "reset replies were rate-limited ($answered of 300 answered)" test "${answered:-300}" -lt 300
check "the unanswered resets are counted (drops.reset_rate_limited $(drop_of reset_rate_limited))" above reset_rate_limited 0
check "half-open sessions over the cap are counted (drops.half_open_limit_source $(drop_of half_open_limit_source))" \
    above half_open_limit_source 0
status hub

wbn_stop_all
wbn_finish
