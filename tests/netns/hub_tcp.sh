#!/usr/bin/env bash
# DESIGN scenario 3 over TCP: the hub and two sites with proto tcp. Every host reaches every
# other, a broadcast reaches every other LAN exactly once, and a bulk TCP transfer between the
# two sites' hosts (8 MB through the hub, site to site) arrives byte for byte; the hub lists both sites
# at their real addresses with their hosts' MACs, and its per-client counters (summed from its
# worker, which pumps the TCP links) match what each site counted, with no tcp_link_full drop; its
# status has the worker's row (as a UDP hub's workers). A site that stops reading (its agent
# SIGSTOPped while hH floods h2) costs the hub its link's hard limit, then tcp_link_full drops, and
# does not stop the other site; SIGTERM stops everything cleanly.
# Socket buffers over TCP: the hub's tunnel.rcvbuf (twice net.core.rmem_max, so only the forced
# option reaches it) is set on its listener and inherited by both accepted connections; s1's
# tunnel.sndbuf (twice wmem_max) is set before its connect; s2 sets none (the kernel's autotuning).
#
#                         hH 10.77.0.1
#                              │
#                  +───────────┴────────────+
#                  │ hub   bridge ${T}b      │   wirebridge server, proto tcp
#                  │ 10.77.0.250  TAP ${T}t  │   (client_to_client: true)
#                  +───────────┬────────────+
#                              │ ${T}w 172.31.77.1:1194/tcp
#            underlay ns wan: bridge ${T}u
#                   ┌──────────┴──────────┐
#           ${T}w .11│                  .12│
#             +──────┴─────+        +──────┴─────+
#             │ s1  ${T}b   │        │ s2  ${T}b   │   wirebridge clients, proto tcp
#             +──────┬─────+        +──────┬─────+
#              h1 10.77.0.11         h2 10.77.0.12   (8 MB h1 -> h2 by nc)
set -euo pipefail
PROTO=tcp
. "$(dirname "$0")/lib.sh"

hosts=(hH h1 h2)
rmem_max=$(cat /proc/sys/net/core/rmem_max)
wmem_max=$(cat /proc/sys/net/core/wmem_max)
[ "$rmem_max" -le $((32 << 20)) ] && [ "$wmem_max" -le $((32 << 20)) ] ||
    die "net.core.rmem_max/wmem_max above 32 MiB: tunnel.rcvbuf/sndbuf cannot ask twice them"
wbn_hub_and_sites 2 true "  rcvbuf: $((2 * rmem_max))"
sed -i "s/^  join_bridge: true$/  join_bridge: true\n  sndbuf: $((2 * wmem_max))/" "$WORK/s1.yaml"
wbn_save_before --check
wbn_start_hub_and_sites
check "the hub's clients came over TCP" matches "$(cat "$WORK/hub.log")" "TCP connection from $WAN\.11"
listen_rb=$(skmem hub -t rb state listening sport = :$PORT)
conn_rb=$(skmem hub -t rb state established sport = :$PORT | tr '\n' ' ')
check "hub: its listener's receive buffer is 2 x $((2 * rmem_max)) (rb $listen_rb)" test "$listen_rb" = $((4 * rmem_max))
check "hub: both accepted connections inherited it (rb $conn_rb)" test "$conn_rb" = "$((4 * rmem_max)) $((4 * rmem_max)) "
check "hub: the log says so" grep -q "TCP listener (its connections inherit them) buffers: receive $((4 * rmem_max)), send" "$WORK/hub.log"
s1_tb=$(skmem s1 -t tb state established dport = :$PORT)
check "s1: its connection's send buffer is 2 x $((2 * wmem_max)) (tb $s1_tb)" test "$s1_tb" = $((4 * wmem_max))
check "s1: the log says so" grep -q "TCP socket buffers: receive [0-9]*, send $((4 * wmem_max)) bytes (asked $((2 * wmem_max)) for send, receive left to the kernel" "$WORK/s1.log"
check "s2: sets none, says nothing (the kernel's autotuning)" bash -c "! grep -q 'socket buffers' '$WORK/s2.log'"
for a in "${hosts[@]}"; do
    for b in "${hosts[@]}"; do
        [ "$a" = "$b" ] || check "$a reaches $b" reach "$a" "${ip_of[$b]}" 20
    done
done
for i in 1 2; do
    check "the hub lists h$i's MAC behind s$i" hub_has_mac "$WAN.$((10 + i))" "$(mac_of "h$i" "${T}e")"
done

filter="(arp and (host $LAN.99 or host $LAN.98)) or icmp"
for h in "${hosts[@]}"; do cap_start "$h" "$h" "${T}e" "$filter"; done
on h1 timeout 5 arping -q -c 1 -i "${T}e" "$LAN.99" >/dev/null 2>&1 || true
on h1 timeout 5 arping -q -c 1 -i "${T}e" "$LAN.98" >/dev/null 2>&1 || true
for h in hH h2; do wait_for 10 cap_has "$h" "who-has $LAN\.98 " || log "$h did not see the marker"; done
reach h1 "${ip_of[h2]}" 5 || true
wait_for 5 cap_has h1 "ICMP echo reply" || true
for h in "${hosts[@]}"; do cap_stop "$h"; done
for h in hH h2; do
    check "$h got h1's broadcast exactly once (got $(cap_count "$h" "who-has $LAN\.99 "))" test "$(cap_count "$h" "who-has $LAN\.99 ")" = 1
done
check "h1's broadcast did not come back (got $(cap_count h1 "who-has $LAN\.9[89] "))" test "$(cap_count h1 "who-has $LAN\.9[89] ")" = 0

# A bulk transfer site to site (tunnel over TCP, switched in the hub): 8 MB through nc, compared
# byte for byte.
check "8 MB from h1 to h2 arrive byte for byte" bulk h1 h2 "${ip_of[h2]}" 8000000

# Per-client counters: after a quiet period what each site sent is what the hub received from it,
# and what the hub sent it is what it received (keepalives counted by neither end).
uptime_at_least() { [ "$(status hub --json | jq .uptime_seconds)" -ge "$1" ]; }
wait_for 15 uptime_at_least $(($(status hub --json | jq .uptime_seconds) + 3)) || true
counts_match() {
    local s=$1 i=$2 a b h
    a=$(status "$s" --json | jq -c '.peers[0] | [.packets_out, .bytes_out, .packets_in, .bytes_in]')
    h=$(hub_peer_of "$WAN.$((10 + i))" | jq -c '[.packets_in, .bytes_in, .packets_out, .bytes_out]')
    b=$(status "$s" --json | jq -c '.peers[0] | [.packets_out, .bytes_out, .packets_in, .bytes_in]')
    echo "$s out/in $a, the hub's in/out for it $h" >"$WORK/counts.$s"
    [ "$a" = "$b" ] && [ "$a" = "$h" ]
}
for i in 1 2; do
    check "s$i: its packets/bytes out = the hub's in for it, and back" wait_for 15 counts_match "s$i" "$i"
    log "$(cat "$WORK/counts.s$i")"
done
check "the hub counted the 8 MB in from s1" test "$(hub_peer_of "$WAN.11" | jq .bytes_in)" -ge 8000000
check "the hub counted the 8 MB out to s2" test "$(hub_peer_of "$WAN.12" | jq .bytes_out)" -ge 8000000
# Both sites read: no link went over its hard limit (the counts above would not match otherwise).
check "no tcp_link_full drops ($(status hub --json | jq -c .drops))" test "$(status hub --json | jq '.drops.tcp_link_full // 0')" = 0

# Its one worker has its row, as a UDP hub's workers have: it opened the 8 MB from s1 and sealed
# them to s2 (some 5,700 packets each way), and the pings with hH crossed its TAP queue.
json=$(status hub --json)
echo "$json" | jq -c .workers
check "status lists the TCP hub's one worker" test "$(echo "$json" | jq -c '[.workers[].index]')" = "[0]"
check "its worker opened and sealed the transfer" \
    test "$(echo "$json" | jq '.workers[0].packets_in')" -gt 5000 -a "$(echo "$json" | jq '.workers[0].packets_out')" -gt 5000
check "its worker read from and wrote to its TAP queue" \
    test "$(echo "$json" | jq '.workers[0].frames_from_tap')" -gt 0 -a "$(echo "$json" | jq '.workers[0].frames_to_tap')" -gt 0
check "the text status shows the worker" matches "$(status hub)" "worker 0 \(TAP queue 0\)  in [0-9]+ pkts"

# A site that does not read (its agent stopped): what hH sends h2 fills the kernel's buffers, then
# the hub's link to s2 up to its hard limit, then is dropped and counted (tcp_link_full, logged once);
# meanwhile s1 is served, and once s2 reads again its link carries frames again.
flood_h2() {
    on hH python3 - "${ip_of[h2]}" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(4000):  # 5.6 MB a round
    try:
        s.sendto(b"x" * 1400, (sys.argv[1], 9))
    except OSError:
        pass
PY
}
link_full() { status hub --json | jq '.drops.tcp_link_full // 0'; }
flooded_until_full() { flood_h2; [ "$(link_full)" -gt 0 ]; }
kill -STOP "${PID[s2]}"
check "hH's flood to h2 fills s2's link: tcp_link_full drops" wait_for 30 flooded_until_full
log "tcp_link_full $(link_full); $(status hub --json | jq -c .drops)"
check "h1 reaches hH while s2 does not read" reach h1 "${ip_of[hH]}" 10
check "the hub logged the full link" grep -q "the TCP link to $WAN\.12:[0-9]* holds .* (tcp_link_full drops)" "$WORK/hub.log"
kill -CONT "${PID[s2]}"
check "h1 reaches h2 once s2 reads again" reach h1 "${ip_of[h2]}" 30

wbn_stop_all --same-as-before
wbn_finish
