#!/usr/bin/env bash
# The hub's MAC table: a bound per client (max_macs_per_client, and a larger one for s2 through
# tunnel.clients), frames from stations past the bound dropped and counted, and ageing (mac_age)
# that frees the bound again. h1 and h2 play LANs with many stations by sending frames from
# forged source MACs 02:77:aa:..
#
#                         hH 10.77.0.1   (counts the forged frames that get through)
#                              │
#                  +───────────┴────────────+
#                  │ hub   bridge ${T}b      │   wirebridge server: mac_age 5 s,
#                  │ 10.77.0.250  TAP ${T}t  │   max_macs_per_client 4, s2: max_macs 12
#                  +───────────┬────────────+
#                              │ ${T}w 172.31.77.1
#            underlay ns wan: bridge ${T}u
#                   ┌──────────┴──────────┐
#           ${T}w .11│                  .12│
#             +──────┴─────+        +──────┴─────+
#             │ s1  ${T}b   │        │ s2  ${T}b   │
#             +──────┬─────+        +──────┬─────+
#              h1 10.77.0.11         h2 10.77.0.12
#              10 forged MACs        8 forged MACs
set -euo pipefail
. "$(dirname "$0")/lib.sh"

MAC_AGE=5
LIMIT=4

wbn_hub_and_sites 2 true "  mac_age: $MAC_AGE
  max_macs_per_client: $LIMIT
  clients:
    - {name: s2, max_macs: 12}"
require "wirebridge check accepts the hub's switch settings" "$WB" check -c "$WORK/hub.yaml"
wbn_start_hub_and_sites
for h in h1 h2; do require "$h reaches hH" reach "$h" "${ip_of[hH]}" 20; done

forged_behind() { hub_macs_of "$WAN.$1" | grep '^02:77:aa:' | sort || true; }
mac_limit_drops() { status hub --json | jq '.drops.mac_limit // 0'; }

# forge HOST FIRST COUNT: COUNT frames from new MACs out of HOST, then a ping round trip from HOST
# to hH, which arrives after them on the same path and closes hH's capture.
forge() {
    cap_start "f$1$2" hH "${T}e" "ether proto 0x88b5 or icmp"
    eth_send "$1" "$2" "$3"
    on "$1" ping -c 1 -W 2 "${ip_of[hH]}" >/dev/null 2>&1 || true
    wait_for 5 cap_has "f$1$2" "ICMP echo request" || log "the closing ping from $1 did not arrive"
    cap_stop "f$1$2"
}
# seen_at_hH ID: the forged source MACs hH received, sorted, one a line.
seen_at_hH() { grep -oE '^[0-9:.]+ 02:77:aa:[0-9a-f:]{8}' "$WORK/cap.$1" | awk '{print $2}' | sort || true; }

log "s1 (bound $LIMIT) sends from 10 new MACs"
drops0=$(mac_limit_drops)
forge h1 1 10
behind=$(forged_behind 11)
n=$(grep -c . <<<"$behind" || true)
log "forged MACs the hub learned behind s1: $(echo $behind)"
check "s1 is at its bound: $LIMIT MACs listed (got $(hub_macs_of "$WAN.11" | wc -l))" test "$(hub_macs_of "$WAN.11" | wc -l)" = "$LIMIT"
check "some forged MACs were learned before the bound (got $n)" test "$n" -ge 1 -a "$n" -le "$LIMIT"
check "hH received frames from exactly the learned MACs, once each" test "$(seen_at_hH fh11)" = "$behind"
check "hH received no duplicate" test "$(seen_at_hH fh11 | uniq -d)" = ""
check "the other $((10 - n)) are counted as mac_limit drops ($drops0 -> $(mac_limit_drops))" \
    test "$(mac_limit_drops)" -ge $((drops0 + 10 - n))
check "h1 (learned before) still reaches hH" reach h1 "${ip_of[hH]}" 5

log "s2 (its own bound 12) sends from 8 new MACs"
forge h2 257 8
behind2=$(forged_behind 12)
check "all 8 are learned behind s2 (got $(grep -c . <<<"$behind2" || true))" test "$(grep -c . <<<"$behind2" || true)" = 8
check "hH received all 8, once each" test "$(seen_at_hH fh2257)" = "$behind2"

log "ageing: after $MAC_AGE s without frames the forged MACs go"
none_forged_behind() { [ -z "$(forged_behind "$1")" ]; }
check "the forged MACs are gone from s1 within $((MAC_AGE + 4)) s" wait_for $((MAC_AGE + 4)) none_forged_behind 11
check "the forged MACs are gone from s2" wait_for 3 none_forged_behind 12
on h1 ping -c 1 -W 2 "${ip_of[hH]}" >/dev/null 2>&1 || true
forge h1 512 2
check "with the old entries aged out, s1 learns new MACs again (got $(forged_behind 11 | wc -l))" \
    test "$(forged_behind 11 | grep -c . || true)" -ge 1

wbn_stop_all
wbn_finish
