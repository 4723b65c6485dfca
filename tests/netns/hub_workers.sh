#!/usr/bin/env bash
# The hub with data path workers (tunnel.workers: 2, UDP; issue #7): three sites, client_to_client
# on, the hub renegotiating every 4 s. Every LAN host reaches every other (ping), bulk TCP crosses
# byte for byte site to site and hub LAN <-> site in both directions; per-peer counters match the
# sites' own; pings under bulk traffic across several rekeys lose nothing; `wirebridge status`
# lists both workers and each carried traffic; SIGTERM under a ping flood exits 0 (no SIGKILL),
# TAP and bridge gone, namespaces as before. Each member of the SO_REUSEPORT group gets the hub's
# tunnel.sndbuf (twice net.core.wmem_max: forced, SO_SNDBUF alone stops at the cap), each logged.
#
#                         hH 10.77.0.1
#                              │ ${T}e ── ${T}l
#                  +───────────┴────────────────────+
#                  │ hub   bridge ${T}b              │  wirebridge server, workers: 2:
#                  │ 10.77.0.250  TAP ${T}t (2 queues)│  worker k = TAP queue k + SO_REUSEPORT socket k
#                  +───────────┬────────────────────+
#                              │ ${T}w 172.31.77.1:1194
#            underlay ns wan: bridge ${T}u (${T}p1, ${T}p11, ${T}p12, ${T}p13)
#           ┌──────────────────┼──────────────────┐
#   ${T}w .11│               .12│               .13│
#     +──────┴─────+     +──────┴─────+     +──────┴─────+
#     │ s1  ${T}b   │     │ s2  ${T}b   │     │ s3  ${T}b   │   wirebridge clients
#     +──────┬─────+     +──────┬─────+     +──────┬─────+
#      h1 10.77.0.11      h2 10.77.0.12      h3 10.77.0.13
set -euo pipefail
. "$(dirname "$0")/lib.sh"

hosts=(hH h1 h2 h3)

wmem_max=$(cat /proc/sys/net/core/wmem_max)
[ "$wmem_max" -le $((32 << 20)) ] || die "net.core.wmem_max is $wmem_max: above 32 MiB, tunnel.sndbuf cannot ask twice it"
hub_sndbuf=$((2 * wmem_max))
wbn_hub_and_sites 3 true "  workers: 2
  reneg_seconds: 4
  sndbuf: $hub_sndbuf"
wbn_save_before --check
wbn_start_hub_and_sites
log "hub (2 workers) and 3 sites up"
check "the hub runs 2 data path workers (log)" grep -q "data path: 2 workers" "$WORK/hub.log"
tbs=$(skmem hub -u tb sport = :$PORT | tr '\n' ' ')
check "both sockets of the hub's group have a send buffer of 2 x $hub_sndbuf (tb $tbs)" \
    test "$tbs" = "$((2 * hub_sndbuf)) $((2 * hub_sndbuf)) "
for k in 1 2; do
    check "the hub logged socket $k of 2's buffers" \
        grep -q "UDP socket $k of 2 buffers: receive 8388608, send $((2 * hub_sndbuf)) bytes" "$WORK/hub.log"
done

for a in "${hosts[@]}"; do
    for b in "${hosts[@]}"; do
        [ "$a" = "$b" ] && continue
        check "$a reaches $b (${ip_of[$b]})" reach "$a" "${ip_of[$b]}" 20
    done
done

# Bulk TCP through the workers: site to site both ways, hub LAN to site and back. Pings run
# alongside: the hub renegotiates every 4 s, so several rekeys happen under this traffic.
key_before=$(status hub --json | jq -c '[.peers[] | .key_id]')
on h1 ping -c 100 -i 0.2 -W 2 "${ip_of[h2]}" >"$WORK/ping.h1-h2" 2>&1 &
ping1=$!
on hH ping -c 100 -i 0.2 -W 2 "${ip_of[h3]}" >"$WORK/ping.hH-h3" 2>&1 &
ping2=$!
check "8 MB from h1 to h3 (site to site) arrive byte for byte" bulk h1 h3 "${ip_of[h3]}" 8000000
check "8 MB from h3 to h1 (site to site) arrive byte for byte" bulk h3 h1 "${ip_of[h1]}" 8000000
check "8 MB from hH to h2 (hub LAN to site) arrive byte for byte" bulk hH h2 "${ip_of[h2]}" 8000000
check "8 MB from h2 to hH (site to hub LAN) arrive byte for byte" bulk h2 hH "${ip_of[hH]}" 8000000
wait_pid "$ping1" 40 || true
wait_pid "$ping2" 40 || true
for p in h1-h2 hH-h3; do
    log "ping $p: $(grep -E 'packets transmitted' "$WORK/ping.$p" || echo none)"
    check "ping $p under bulk traffic and rekeys: 100 sent, 0% loss" grep -q "100 packets transmitted, 100 received" "$WORK/ping.$p"
done
key_after=$(status hub --json | jq -c '[.peers[] | .key_id]')
check "the sessions renegotiated meanwhile (key ids $key_before -> $key_after)" test "$key_before" != "$key_after"

# Status: the two workers, each of which carried traffic. Which socket a client's datagrams reach
# is the kernel's hash of its 4-tuple (three clients may all land on one worker), but the LAN side
# is spread by flow: 32 UDP flows from hH to h1 (20 datagrams each) go into both TAP queues.
json=$(status hub --json)
check "status lists 2 workers" test "$(echo "$json" | jq '.workers | length')" = 2
from_tap() { status hub --json | jq ".workers[] | select(.index == $1) | .frames_from_tap"; }
tap0=$(from_tap 0) tap1=$(from_tap 1)
on hH python3 - "${ip_of[h1]}" <<'PY'
import socket, sys, time
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(32)]
for _ in range(20):
    for i, s in enumerate(socks):
        s.sendto(b"flow %d" % i, (sys.argv[1], 40000 + i))
    time.sleep(0.01)
PY
grew() { [ "$(from_tap "$1")" -ge $(($2 + 20)) ]; }
check "worker 0 read LAN flows from its TAP queue (had $tap0 frames)" wait_for 5 grew 0 "$tap0"
check "worker 1 read LAN flows from its TAP queue (had $tap1 frames)" wait_for 5 grew 1 "$tap1"
status hub
json=$(status hub --json)
echo "$json" | jq -c .workers
check "the workers opened what the sites sent and sealed what went to them" \
    test "$(echo "$json" | jq '[.workers[].packets_in] | add')" -gt 15000 -a "$(echo "$json" | jq '[.workers[].packets_out] | add')" -gt 15000
check "the text status shows the workers" matches "$(status hub)" "worker 1 \(TAP queue 1\)"
check "the hub lists exactly 3 peers" test "$(echo "$json" | jq '.peers | length')" = 3

# Per-peer counters: after a quiet period what each site sent is what the hub received from it,
# and what the hub sent it is what it received (keepalives counted by neither end).
uptime_at_least() { [ "$(status hub --json | jq .uptime_seconds)" -ge "$1" ]; }
wait_for 15 uptime_at_least $(($(status hub --json | jq .uptime_seconds) + 5)) || true
counts_match() {
    local s=$1 i=$2 a b h
    a=$(status "$s" --json | jq -c '.peers[0] | [.packets_out, .bytes_out, .packets_in, .bytes_in]')
    h=$(status hub --json | jq -c --arg p "$WAN.$((10 + i)):" \
        '.peers[] | select(.real_address | startswith($p)) | [.packets_in, .bytes_in, .packets_out, .bytes_out]')
    b=$(status "$s" --json | jq -c '.peers[0] | [.packets_out, .bytes_out, .packets_in, .bytes_in]')
    echo "$s out/in $a, the hub's in/out for it $h" >"$WORK/counts.$s"
    [ "$a" = "$b" ] && [ "$a" = "$h" ]
}
for i in 1 2 3; do
    check "s$i: its packets/bytes out = the hub's in for it, and back (summed over both workers)" wait_for 15 counts_match "s$i" "$i"
    log "$(cat "$WORK/counts.s$i")"
done
check "s1 sent at least the 8 MB to h3 (hub's bytes_in for s1)" \
    test "$(status hub --json | jq --arg p "$WAN.11:" '.peers[] | select(.real_address | startswith($p)) | .bytes_in')" -ge 8000000

# SIGHUP changing the workers is refused (restart needed); the hub keeps running.
sed -i 's/^  workers: 2$/  workers: 1/' "$WORK/hub.yaml"
kill -HUP "${PID[hub]}"
check "a reload changing tunnel.workers is refused with a reason" \
    wait_for 10 grep -q "reload refused: tunnel.workers 2 -> 1" "$WORK/hub.log"
sed -i 's/^  workers: 1$/  workers: 2/' "$WORK/hub.yaml"
check "after the refused reload h1 still reaches h2" reach h1 "${ip_of[h2]}" 10

# SIGTERM under a flood: every agent exits 0 (wbn_stop waits 10 s; no SIGKILL), nothing left.
floods=()
on h1 timeout 30 ping -f -q "${ip_of[hH]}" >/dev/null 2>&1 &
floods+=($!)
on hH timeout 30 ping -f -q "${ip_of[h2]}" >/dev/null 2>&1 &
floods+=($!)
on h3 timeout 30 ping -f -q "${ip_of[h1]}" >/dev/null 2>&1 &
floods+=($!)
flood_running() { [ "$(ip netns pids "$T-h1" | wc -l)" -ge 1 ] && [ "$(ip netns pids "$T-hH" | wc -l)" -ge 1 ]; }
wait_for 5 flood_running || log "the floods did not start"
busy=$(status hub --json | jq '[.workers[].packets_in] | add')
more_traffic() { [ "$(status hub --json | jq '[.workers[].packets_in] | add')" -gt $((busy + 1000)) ]; }
check "the flood reaches the hub's workers" wait_for 10 more_traffic
wbn_stop_all
for f in "${floods[@]}"; do kill "$f" 2>/dev/null || true; wait_pid "$f" 5 || true; done
check "the hub logged both workers stopping" test "$(grep -c "worker [01] stopped:" "$WORK/hub.log")" = 2
for a in "${APPLIANCES[@]}"; do
    check "$a: links, addresses and rules are as before the agent ran" same_as_before "$a" "$WORK/before.$a"
    check "$a: no TAP left" no_link "$a" "${T}t"
    check "$a: no process left in the namespace" test -z "$(ip netns pids "$T-$a")"
done
teardown_all
check "nothing of this run is left (namespaces, root interfaces, processes)" audit_gone
wbn_finish
