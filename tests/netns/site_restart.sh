#!/usr/bin/env bash
# DESIGN scenario 6, peer restart: site s1's agent is killed (SIGKILL: no exit notification, its
# bridge left behind) and started again. Traffic to and from h1 resumes within the keepalive
# timeout, in both directions; s2 and s3 keep working during the outage without losing a ping,
# and the hub keeps their sessions (same address and key, counters going on); the hub replaces
# s1's dead session as soon as the new one is up (one session per certificate CN).
#
#                         hH 10.77.0.1
#                              │
#                  +───────────┴────────────+
#                  │ hub   bridge ${T}b      │   wirebridge server (client_to_client: true,
#                  │ 10.77.0.250  TAP ${T}t  │   keepalive 2 s / 10 s)
#                  +───────────┬────────────+
#                              │ ${T}w 172.31.77.1
#            underlay ns wan: bridge ${T}u
#           ┌──────────────────┼──────────────────┐
#   ${T}w .11│               .12│               .13│
#     +──────┴─────+     +──────┴─────+     +──────┴─────+
#     │ s1  ${T}b   │     │ s2  ${T}b   │     │ s3  ${T}b   │
#     │ KILLED and  │     │ 10.77.0.202 │     │ 10.77.0.203 │
#     │ restarted   │     +──────┬─────+     +──────┬─────+
#     +──────┬─────+            │                  │
#      h1 10.77.0.11      h2 10.77.0.12      h3 10.77.0.13   (h2 <-> h3, h2 <-> hH: pinging
#                                                              all through the outage)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KEEPALIVE_INTERVAL=2
KEEPALIVE_TIMEOUT=10
wbn_hub_and_sites 3 true
wbn_start_hub_and_sites
for pair in h1:h2 h2:h1 h1:hH hH:h1 h2:h3 h3:h2 h2:hH; do
    require "${pair%%:*} reaches ${pair##*:}" reach "${pair%%:*}" "${ip_of[${pair##*:}]}" 20
done

peer_field() { hub_peer_of "$WAN.$1" | jq -r ".$2"; }
declare -A addr_before key_before pkts_before
for i in 2 3; do
    addr_before[$i]=$(peer_field $((10 + i)) real_address)
    key_before[$i]=$(peer_field $((10 + i)) key_id)
    pkts_before[$i]=$(peer_field $((10 + i)) packets_in)
done
s1_addr_before=$(peer_field 11 real_address)
log "before: s1 at $s1_addr_before; s2 at ${addr_before[2]} key ${key_before[2]}; s3 at ${addr_before[3]} key ${key_before[3]}"

# Traffic of the other sites through the whole outage (bounded: 80 pings, 0.25 s apart).
on h2 ping -c 80 -i 0.25 -W 1 "${ip_of[h3]}" >"$WORK/ping.h2-h3" 2>&1 &
bg1=$!
on h3 ping -c 80 -i 0.25 -W 1 "${ip_of[hH]}" >"$WORK/ping.h3-hH" 2>&1 &
bg2=$!
wait_for 5 grep -q "bytes from" "$WORK/ping.h2-h3" || log "h2's background ping has no answer yet"

log "SIGKILL s1's agent (pid ${PID[s1]})"
kill -KILL "${PID[s1]}"
wait_pid "${PID[s1]}" 5 || true
unset "PID[s1]"
check "h1 is cut off while s1 is down" unreachable h1 "${ip_of[h2]}"

wbn_start s1
restarted=$SECONDS
wbn_wait_bridged s1
# First the direction that needs the hub to send to the new session: h2 -> h1 (h1 sends nothing
# on its own), then h1 -> everyone.
check "h2 reaches h1 again within the keepalive timeout ($KEEPALIVE_TIMEOUT s)" \
    reach h2 "${ip_of[h1]}" $((KEEPALIVE_TIMEOUT - (SECONDS - restarted)))
log "h2 -> h1 back $((SECONDS - restarted)) s after the restart"
check "hH reaches h1 again within the keepalive timeout" reach hH "${ip_of[h1]}" $((KEEPALIVE_TIMEOUT - (SECONDS - restarted) + 1))
check "h1 reaches h3 again within the keepalive timeout" reach h1 "${ip_of[h3]}" $((KEEPALIVE_TIMEOUT - (SECONDS - restarted) + 1))
log "h1 is back $((SECONDS - restarted)) s after the restart"


wait "$bg1" || true  # ping fails on loss: the summary below says it
wait "$bg2" || true
tail -n 2 "$WORK/ping.h2-h3" "$WORK/ping.h3-hH"
check "h2 -> h3 lost no ping during s1's outage" matches "$(cat "$WORK/ping.h2-h3")" " 0% packet loss"
check "h3 -> hH lost no ping during s1's outage" matches "$(cat "$WORK/ping.h3-hH")" " 0% packet loss"

status hub
for i in 2 3; do
    check "s$i kept its session: same real address ${addr_before[$i]}" test "$(peer_field $((10 + i)) real_address)" = "${addr_before[$i]}"
    check "s$i kept its session: same key id ${key_before[$i]}" test "$(peer_field $((10 + i)) key_id)" = "${key_before[$i]}"
    now_pkts=$(peer_field $((10 + i)) packets_in)
    check "s$i's counters went on (packets in ${pkts_before[$i]} -> $now_pkts)" test "$now_pkts" -gt "${pkts_before[$i]}"
done
check "the restarted s1 is listed with h1's MAC" hub_has_mac "$WAN.11" "$(mac_of h1 "${T}e")"
# The dead session went when the new one came up (one session per CN, as openvpn without
# --duplicate-cn), not at the hub's ping-restart: 3 peers now, s1 once, h1's MAC behind one peer.
hub_now=$(status hub --json)
check "the hub lists 3 peers right after the restart (s1's dead session replaced at once)" \
    test "$(echo "$hub_now" | jq '.peers | length')" = 3
check "s1 is listed once" test "$(echo "$hub_now" | jq '[.peers[] | select(.name == "s1")] | length')" = 1
check "exactly one peer at s1's address" test "$(echo "$hub_now" | jq --arg a "$WAN.11:" '[.peers[] | select(.real_address | startswith($a))] | length')" = 1
check "h1's MAC is behind one peer only" \
    test "$(echo "$hub_now" | jq --arg m "$(mac_of h1 "${T}e")" '[.peers[] | select(.macs | index($m))] | length')" = 1
if [ "$(echo "$hub_now" | jq -r --arg a "$WAN.11:" '.peers[] | select(.real_address | startswith($a)) | .real_address')" != "$s1_addr_before" ]; then
    check "the hub's log names s1's CN for the replaced session" \
        matches "$(cat "$WORK/hub.log")" "\(s1, peer-id [0-9]+\) gone: local_exit: replaced by a new connection with the same certificate CN 's1'"
else
    log "s1 came back from the same port: the hub replaced its session as a restart"
fi
check "h2 still reaches h1" reach h2 "${ip_of[h1]}" 5

wbn_stop_all
wbn_finish
