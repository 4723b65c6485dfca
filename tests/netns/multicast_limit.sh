#!/usr/bin/env bash
# multicast_limit: the broadcast and multicast frames the hub accepts from one client each second.
# A burst of 200 broadcasts from s1's LAN is cut to the budget (the same frames reach every other
# LAN once), the rest is counted as multicast_limit drops; s2's broadcasts and s1's unicast are
# not limited; s1's budget comes back after a second.
#
#                         hH 10.77.0.1
#                              │
#                  +───────────┴────────────+
#                  │ hub   bridge ${T}b      │   wirebridge server, multicast_limit: 20
#                  │ 10.77.0.250  TAP ${T}t  │   (frames per second per client)
#                  +───────────┬────────────+
#                              │ ${T}w 172.31.77.1
#            underlay ns wan: bridge ${T}u
#                   ┌──────────┴──────────┐
#           ${T}w .11│                  .12│
#             +──────┴─────+        +──────┴─────+
#             │ s1  ${T}b   │        │ s2  ${T}b   │
#             +──────┬─────+        +──────┬─────+
#              h1 10.77.0.11         h2 10.77.0.12
#              200 broadcasts        10 broadcasts
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LIMIT=20

wbn_hub_and_sites 2 true "  multicast_limit: $LIMIT"
wbn_start_hub_and_sites
for pair in h1:hH h2:hH h1:h2 h2:h1; do
    require "${pair%%:*} reaches ${pair##*:}" reach "${pair%%:*}" "${ip_of[${pair##*:}]}" 20
done
limit_drops() { status hub --json | jq '.drops.multicast_limit // 0'; }
test_frames() { cap_count "$1" "ethertype Unknown \(0x88b5\)|0x88b5"; }

# burst ID HOST COUNT: COUNT broadcasts from HOST, captured on hH and on the other site's host;
# each capture is closed by a ping from HOST that follows the burst on the same path.
burst() {
    local other=h2
    [ "$2" = h2 ] && other=h1
    cap_start "$1H" hH "${T}e" "ether proto 0x88b5 or icmp"
    cap_start "$1o" "$other" "${T}e" "ether proto 0x88b5 or icmp"
    local t0=$EPOCHREALTIME
    # h2's stations are not h1's: the same MACs from another site would be moves, which the hub
    # rate-limits (limits.mac_move_limit).
    eth_send "$2" "$([ "$2" = h2 ] && echo 1001 || echo 1)" "$3"
    burst_ms=$(( (${EPOCHREALTIME/./} - ${t0/./}) / 1000 ))
    on "$2" ping -c 1 -W 2 "${ip_of[hH]}" >/dev/null 2>&1 || true
    on "$2" ping -c 1 -W 2 "${ip_of[$other]}" >/dev/null 2>&1 || true
    wait_for 5 cap_has "$1H" "ICMP echo request" || log "the closing ping did not reach hH"
    wait_for 5 cap_has "$1o" "ICMP echo request" || log "the closing ping did not reach $other"
    cap_stop "$1H"
    cap_stop "$1o"
}

drops0=$(limit_drops)
burst a h1 200
n=$(test_frames aH)
budget=$((LIMIT + (burst_ms * LIMIT + 999) / 1000))
log "h1 sent 200 broadcasts in $burst_ms ms; hH got $n, h2 got $(test_frames ao); budget $budget"
check "s1's burst is cut to its budget at hH (1..$budget, got $n)" test "$n" -ge 1 -a "$n" -le "$budget"
check "h2 got the same number as hH (got $(test_frames ao))" test "$(test_frames ao)" = "$n"
check "the rest is counted as multicast_limit drops ($drops0 -> $(limit_drops), at least $((200 - n)) more)" \
    test "$(limit_drops)" -ge $((drops0 + 200 - n))
check "s1's unicast is not limited: 30 quick pings to hH all answered" \
    on h1 ping -q -c 30 -i 0.01 -W 1 "${ip_of[hH]}"

burst b h2 10
check "s2's 10 broadcasts all reach hH (got $(test_frames bH))" test "$(test_frames bH)" = 10
check "... and h1 (got $(test_frames bo))" test "$(test_frames bo)" = 10

sleep 1.2  # the budget refills with time: one second gives back a full second's worth
burst c h1 5
check "a second later s1's 5 broadcasts all get through (got $(test_frames cH))" test "$(test_frames cH)" = 5

wbn_stop_all
wbn_finish
