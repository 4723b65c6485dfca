#!/usr/bin/env bash
# SIGHUP reloads the hub's switch settings without dropping a session: client_to_client is
# switched off (site-to-site traffic stops, each site still reaches the hub's LAN) and on again
# (it flows again); a broken file on SIGHUP is refused with file:line:column and the running
# settings stay. Through it all both sessions keep their real address, key id and counters.
#
#                         hH 10.77.0.1
#                              │
#                  +───────────┴────────────+
#                  │ hub   bridge ${T}b      │   wirebridge server; hub.yaml edited, then SIGHUP
#                  │ 10.77.0.250  TAP ${T}t  │   client_to_client: true -> false -> true
#                  +───────────┬────────────+
#                              │ ${T}w 172.31.77.1
#            underlay ns wan: bridge ${T}u
#                   ┌──────────┴──────────┐
#           ${T}w .11│                  .12│
#             +──────┴─────+        +──────┴─────+
#             │ s1  ${T}b   │        │ s2  ${T}b   │
#             +──────┬─────+        +──────┬─────+
#              h1 10.77.0.11         h2 10.77.0.12
set -euo pipefail
. "$(dirname "$0")/lib.sh"

wbn_hub_and_sites 2 true
wbn_start_hub_and_sites
for pair in h1:h2 h2:h1 h1:hH h2:hH; do
    require "${pair%%:*} reaches ${pair##*:} (client_to_client: true)" reach "${pair%%:*}" "${ip_of[${pair##*:}]}" 20
done

# sessions: real address and key id of each peer, one line each, sorted.
sessions() { status hub --json | jq -c '[.peers[] | {real_address, key_id}] | sort_by(.real_address)'; }
packets_in_of() { hub_peer_of "$WAN.$1" | jq .packets_in; }
before=$(sessions)
log "sessions: $before"
pk1=$(packets_in_of 11)
pk2=$(packets_in_of 12)

# reload C2C: rewrites hub.yaml with client_to_client C2C and sends SIGHUP; waits until the log says
# the reload is done (or refused).
reloads=0
reload_lines_above() { [ "$(grep -c "reload" "$WORK/hub.log" || true)" -gt "$1" ]; }
hup() {
    local seen
    seen=$(grep -c "reload" "$WORK/hub.log" || true)
    kill -HUP "${PID[hub]}"
    wait_for 10 reload_lines_above "$seen" || log "no reload line in hub.log"
    reloads=$((reloads + 1))
}

log "reload: client_to_client false"
wbn_hub_yaml false
hup
check "the hub is still running after SIGHUP" alive hub
check "h1 no longer reaches h2" unreachable h1 "${ip_of[h2]}"
check "h2 no longer reaches h1" unreachable h2 "${ip_of[h1]}"
check "h1 still reaches hH" reach h1 "${ip_of[hH]}" 5
check "h2 still reaches hH" reach h2 "${ip_of[hH]}" 5
check "both sessions kept (same real addresses and key ids)" test "$(sessions)" = "$before"

log "reload: a broken file is refused, the running settings stay"
cp "$WORK/hub.yaml" "$WORK/hub.good"
sed -i 's/^  client_to_client: false/  client_to_client: perhaps/' "$WORK/hub.yaml"
bad_line=$(grep -n "client_to_client: perhaps" "$WORK/hub.yaml" | cut -d: -f1)
hup
check "the hub is still running after a bad SIGHUP" alive hub
check "the refusal names $WORK/hub.yaml:$bad_line:21" matches "$(cat "$WORK/hub.log")" "$WORK/hub.yaml:$bad_line:21: "
check "client_to_client stays off: h1 does not reach h2" unreachable h1 "${ip_of[h2]}"
check "h1 still reaches hH" reach h1 "${ip_of[hH]}" 5
check "both sessions kept" test "$(sessions)" = "$before"
cp "$WORK/hub.good" "$WORK/hub.yaml"

log "reload: client_to_client true again"
wbn_hub_yaml true
hup
check "h1 reaches h2 again" reach h1 "${ip_of[h2]}" 10
check "h2 reaches h1 again" reach h2 "${ip_of[h1]}" 10
check "both sessions kept" test "$(sessions)" = "$before"
check "s1's counters went on ($pk1 -> $(packets_in_of 11))" test "$(packets_in_of 11)" -gt "$pk1"
check "s2's counters went on ($pk2 -> $(packets_in_of 12))" test "$(packets_in_of 12)" -gt "$pk2"
for s in s1 s2; do
    check "$s never lost its tunnel (no reconnect in its log)" test "$(grep -c "tunnel up" "$WORK/$s.log")" = 1
done

wbn_stop_all
wbn_finish
