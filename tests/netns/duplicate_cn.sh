#!/usr/bin/env bash
# tunnel.duplicate_cn: two sites with the SAME client certificate (CN s1).
# Default (false, as openvpn without --duplicate-cn): when the second site's tunnel comes up, the
# hub drops the first one's session at once: one peer listed, at the second site's address, the
# log names the CN, and the first site's host is cut off. With `duplicate_cn: true` both sessions
# stay up side by side, and both sites' hosts reach the hub's LAN and each other. Run 3: turned on
# by SIGHUP while one site is connected, it applies to the next connection with that CN.
#
#                         hH 10.77.0.1
#                              │
#                  +───────────┴────────────+
#                  │ hub   bridge ${T}b      │   wirebridge server (client_to_client: true;
#                  │ 10.77.0.250  TAP ${T}t  │   run 1: no duplicate_cn key, run 2: true)
#                  +───────────┬────────────+
#                              │ ${T}w 172.31.77.1
#                 underlay ns wan: bridge ${T}u
#                 ┌────────────┴─────────────┐
#         ${T}w .11│                      .12│
#     +────────────┴──+             +────────┴──────+
#     │ s1  ${T}b      │             │ s2  ${T}b      │   both with certificate s1.crt (CN s1)
#     │ 10.77.0.201    │             │ 10.77.0.202    │
#     +────────┬──────+             +────────┬──────+
#        h1 10.77.0.11                 h2 10.77.0.12
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KEEPALIVE_INTERVAL=2
KEEPALIVE_TIMEOUT=30  # the dropped site must not come back (and take the CN again) during run 1
wbn_hub_and_sites 2 true
# s2 presents s1's certificate.
sed -i -e "s|$WORK/s2.crt|$WORK/s1.crt|" -e "s|$WORK/s2.key|$WORK/s1.key|" "$WORK/s2.yaml"
require "s2.yaml uses s1's certificate" grep -q "cert: $WORK/s1.crt" "$WORK/s2.yaml"
require "wirebridge check accepts hub.yaml without duplicate_cn" "$WB" check -c "$WORK/hub.yaml"

hub_json() { status hub --json; }
peers_up() { hub_json | jq '[.peers[] | select(.cipher != "")] | length'; }
peers_at() { hub_json | jq --arg a "$WAN.$1:" '[.peers[] | select(.real_address | startswith($a))] | length'; }

log "run 1: default duplicate_cn (false)"
wbn_start hub
wbn_wait_bridged hub
wbn_start s1
wbn_wait_bridged s1
wait_for 30 hub_peers_up 1 || die "the hub does not list s1 within 30 s"
require "h1 reaches hH" reach h1 "${ip_of[hH]}" 20
wbn_start s2
wbn_wait_bridged s2
require "s2's tunnel is up" wait_for 30 site_up s2
# The hub drops s1's session in the same step that brings s2's up: no window with both.
check "the hub lists one peer" test "$(hub_json | jq '.peers | length')" = 1
check "that peer is s2 (at $WAN.12)" test "$(peers_at 12)" = 1
check "no peer at s1's address $WAN.11 any more" test "$(peers_at 11)" = 0
check "the peer's name is the shared CN s1" test "$(hub_json | jq -r '.peers[0].name')" = s1
check "the hub's log names the CN of the replaced session" \
    matches "$(cat "$WORK/hub.log")" "gone: local_exit: replaced by a new connection with the same certificate CN 's1'"
check "h2 reaches hH" reach h2 "${ip_of[hH]}" 20
check "h1 is cut off (its session was dropped)" unreachable h1 "${ip_of[hH]}"
check "still one peer up" test "$(peers_up)" = 1
wbn_stop_all

log "run 2: duplicate_cn: true"
wbn_hub_yaml true "  duplicate_cn: true"
require "wirebridge check accepts hub.yaml with duplicate_cn: true" "$WB" check -c "$WORK/hub.yaml"
wbn_start hub
wbn_wait_bridged hub
wbn_start s1
wbn_wait_bridged s1
wait_for 30 hub_peers_up 1 || die "the hub does not list s1 within 30 s"
wbn_start s2
wbn_wait_bridged s2
check "both sites' tunnels are up at the hub" wait_for 30 hub_peers_up 2
check "one peer at s1's address" test "$(peers_at 11)" = 1
check "one peer at s2's address" test "$(peers_at 12)" = 1
check "both peers have the CN s1" test "$(hub_json | jq '[.peers[] | select(.name == "s1")] | length')" = 2
for pair in h1:hH h2:hH hH:h1 hH:h2 h1:h2 h2:h1; do
    check "${pair%%:*} reaches ${pair##*:}" reach "${pair%%:*}" "${ip_of[${pair##*:}]}" 20
done
check "h1's MAC is learned behind s1's session" hub_has_mac "$WAN.11" "$(mac_of h1 "${T}e")"
check "h2's MAC is learned behind s2's session" hub_has_mac "$WAN.12" "$(mac_of h2 "${T}e")"
run2_log=$(awk '/^==== start/ { run = "" } { run = run $0 "\n" } END { printf "%s", run }' "$WORK/hub.log")
check "run 2: the hub's log has no replaced session" \
    test "$(grep -c "replaced by a new connection" <<<"$run2_log" || true)" = 0
check "still two peers up after the pings" test "$(peers_up)" = 2
wbn_stop_all

log "run 3: duplicate_cn turned on by SIGHUP while s1 is connected"
wbn_hub_yaml true
wbn_start hub
wbn_wait_bridged hub
wbn_start s1
wbn_wait_bridged s1
wait_for 30 hub_peers_up 1 || die "the hub does not list s1 within 30 s"
wbn_hub_yaml true "  duplicate_cn: true"
reload_line() { grep -q "duplicate_cn applies to clients that connect from now on" "$WORK/hub.log"; }
kill -HUP "${PID[hub]}"
check "the reload summary says duplicate_cn applies to new connections" wait_for 10 reload_line
check "s1 is still the one peer after the reload" test "$(peers_at 11)" = 1
wbn_start s2
wbn_wait_bridged s2
check "after the reload both sites' tunnels are up at the hub" wait_for 30 hub_peers_up 2
check "h1 reaches hH" reach h1 "${ip_of[hH]}" 20
check "h2 reaches hH" reach h2 "${ip_of[hH]}" 20
wbn_stop_all
wbn_finish
