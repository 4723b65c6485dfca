#!/usr/bin/env bash
# DESIGN scenario 3 with client_to_client: false. Frames from a site go only to the hub's TAP, so
# site-to-site traffic is not delivered (h1 cannot reach h2, a broadcast from s1's LAN never
# reaches s2's LAN), while every site still reaches the host on the hub's own LAN and the hub's
# broadcast reaches every site.
#
#                         hH 10.77.0.1
#                              │ ${T}e ── ${T}l
#                  +───────────┴────────────+
#                  │ hub   bridge ${T}b      │   wirebridge server (client_to_client: false)
#                  │ 10.77.0.250  TAP ${T}t  │
#                  +───────────┬────────────+
#                              │ ${T}w 172.31.77.1
#            underlay ns wan: bridge ${T}u (${T}p1, ${T}p11, ${T}p12)
#                   ┌──────────┴──────────┐
#           ${T}w .11│                  .12│
#             +──────┴─────+        +──────┴─────+
#             │ s1  ${T}b   │        │ s2  ${T}b   │   wirebridge clients
#             │ 10.77.0.201 │        │ 10.77.0.202 │
#             +──────┬─────+        +──────┬─────+
#                    │                     │
#              h1 10.77.0.11         h2 10.77.0.12
set -euo pipefail
. "$(dirname "$0")/lib.sh"

wbn_hub_and_sites 2 false
wbn_save_before --check
wbn_start_hub_and_sites
log "hub and 2 sites up"

for h in h1 h2; do
    check "$h reaches hH on the hub's LAN" reach "$h" "${ip_of[hH]}" 20
    check "hH reaches $h" reach hH "${ip_of[$h]}" 20
    check "$h reaches the hub's own address" reach "$h" "$LAN.250" 10
done
# Both sites are up and known to the hub: only client_to_client keeps them apart now.
check "h1 does not reach h2 (5 pings, no answer)" unreachable h1 "${ip_of[h2]}"
check "h2 does not reach h1 (5 pings, no answer)" unreachable h2 "${ip_of[h1]}"
check "h1 never learned h2's MAC (its ARP went nowhere)" \
    lacks_line "$(on h1 ip -j neigh show "${ip_of[h2]}" | jq -r '.[] | .lladdr // empty')" "$(mac_of h2 "${T}e")"
json=$(status hub --json)
echo "$json" | jq -c '.peers[] | {real_address, macs}'
for i in 1 2; do
    check "the hub still learns h$i's MAC behind s$i" hub_has_mac "$WAN.$((10 + i))" "$(mac_of "h$i" "${T}e")"
done

# A broadcast from h1 reaches the hub's LAN once and never s2's LAN (nor back to s1's). The
# capture on h2 is closed by a ping from hH, which comes down the same hub -> s2 path afterwards.
filter="(arp and (host $LAN.99 or host $LAN.98)) or (udp and port 39990) or icmp"
for h in hH h1 h2; do cap_start "$h" "$h" "${T}e" "$filter"; done
on h1 timeout 5 arping -q -c 1 -i "${T}e" "$LAN.99" >/dev/null 2>&1 || true
udp_send h1 "$LAN.255" 39990 bcast
on h1 timeout 5 arping -q -c 1 -i "${T}e" "$LAN.98" >/dev/null 2>&1 || true
wait_for 10 cap_has hH "who-has $LAN\.98 " || log "hH did not see the marker broadcast within 10 s"
reach hH "${ip_of[h2]}" 10 || true
reach hH "${ip_of[h1]}" 10 || true
wait_for 5 cap_has h2 "ICMP echo request" || log "hH's closing ping did not reach h2"
wait_for 5 cap_has h1 "ICMP echo request" || log "hH's closing ping did not reach h1"
for h in hH h1 h2; do cap_stop "$h"; done
check "hH got h1's ARP broadcast exactly once (got $(cap_count hH "who-has $LAN\.99 "))" \
    test "$(cap_count hH "who-has $LAN\.99 ")" = 1
check "hH got h1's subnet broadcast exactly once (got $(cap_count hH "\.39990: UDP"))" \
    test "$(cap_count hH "\.39990: UDP")" = 1
check "h2 got none of h1's broadcasts (got $(cap_count h2 "who-has $LAN\.9[89] |\.39990: UDP"))" \
    test "$(cap_count h2 "who-has $LAN\.9[89] |\.39990: UDP")" = 0
check "h1's broadcasts did not come back to h1 (got $(cap_count h1 "who-has $LAN\.9[89] |\.39990: UDP"))" \
    test "$(cap_count h1 "who-has $LAN\.9[89] |\.39990: UDP")" = 0

# From the hub's LAN, a broadcast still reaches every site once.
for h in h1 h2; do cap_start "b$h" "$h" "${T}e" "arp and (host $LAN.97 or host $LAN.96)"; done
on hH timeout 5 arping -q -c 1 -i "${T}e" "$LAN.97" >/dev/null 2>&1 || true
on hH timeout 5 arping -q -c 1 -i "${T}e" "$LAN.96" >/dev/null 2>&1 || true
for h in h1 h2; do wait_for 10 cap_has "b$h" "who-has $LAN\.96 " || log "$h did not see hH's marker"; done
for h in h1 h2; do
    cap_stop "b$h"
    check "$h got hH's broadcast exactly once (got $(cap_count "b$h" "who-has $LAN\.97 "))" \
        test "$(cap_count "b$h" "who-has $LAN\.97 ")" = 1
done

wbn_stop_all --same-as-before
wbn_finish
