#!/usr/bin/env bash
# A MAC that moves is relearned. (1) h1 changes its MAC (ip link set address, then a gratuitous
# ARP as a real host sends) and keeps talking: the hub lists the new MAC behind s1 and traffic
# flows both ways. (2) h1 is unplugged from s1's LAN and plugged into s2's LAN with the same MAC
# and address: the hub relearns that MAC behind s2 (no longer behind s1) and traffic flows again.
#
#                         hH 10.77.0.1
#                              │
#                  +───────────┴────────────+
#                  │ hub   bridge ${T}b      │   wirebridge server (client_to_client: true)
#                  │ 10.77.0.250  TAP ${T}t  │
#                  +───────────┬────────────+
#                              │ ${T}w 172.31.77.1
#            underlay ns wan: bridge ${T}u
#                   ┌──────────┴──────────┐
#           ${T}w .11│                  .12│
#             +──────┴─────+        +──────┴───────────+
#             │ s1  ${T}b   │        │ s2  ${T}b          │   s2's bridge has two LAN ports:
#             │ port ${T}l  │        │ ports ${T}l, ${T}m  │   ${T}m is the free socket h1 moves to
#             +──────┬─────+        +────┬─────────┬───+
#                    │ ${T}e (step 2:    │ ${T}e    │ ${T}f (down until step 2)
#                    │  unplugged)       │          │
#                    └────── h1 10.77.0.11 ─────────┘     h2 10.77.0.12 on s2's ${T}l
set -euo pipefail
. "$(dirname "$0")/lib.sh"

new_mac=02:77:00:00:01:11

wbn_hub_and_sites 2 true
wbn_site_yaml s2 2 "[${T}l, ${T}m]"
# The second cable: h1's ${T}f to s2's ${T}m, h1's end down (nothing plugged in yet).
ip link add "${T}f" netns "$T-h1" type veth peer name "${T}m" netns "$T-s2"
wbn_save_before

wbn_start_hub_and_sites
for pair in h1:hH hH:h1 h1:h2 h2:h1; do
    require "${pair%%:*} reaches ${pair##*:}" reach "${pair%%:*}" "${ip_of[${pair##*:}]}" 20
done
old_mac=$(mac_of h1 "${T}e")
require "the hub lists h1's MAC $old_mac behind s1" hub_has_mac "$WAN.11" "$old_mac"

# gratuitous_arp HOST IFACE: an unsolicited ARP for HOST's own address, as a host sends when its
# MAC changes or it (re)appears on a link.
gratuitous_arp() { on "$1" timeout 5 arping -q -U -c 1 -i "$2" -S "${ip_of[$1]}" "${ip_of[$1]}" >/dev/null 2>&1 || true; }

log "step 1: h1 changes its MAC $old_mac -> $new_mac"
on h1 ip link set "${T}e" address "$new_mac"
gratuitous_arp h1 "${T}e"
check "h1 keeps reaching hH" reach h1 "${ip_of[hH]}" 10
check "hH reaches h1 at its new MAC" reach hH "${ip_of[h1]}" 10
check "h2 reaches h1 at its new MAC" reach h2 "${ip_of[h1]}" 10
check "h1 reaches h2" reach h1 "${ip_of[h2]}" 10
check "hH's neighbour entry for h1 is the new MAC" \
    matches "$(on hH ip neigh show "${ip_of[h1]}")" "lladdr $new_mac"
check "the hub lists the new MAC $new_mac behind s1" wait_for 5 hub_has_mac "$WAN.11" "$new_mac"
check "the new MAC is not listed behind s2" lacks_line "$(hub_macs_of "$WAN.12")" "$new_mac"
status hub

log "step 2: h1 moves from s1's LAN to s2's LAN, same MAC $new_mac and address"
on h1 ip addr flush dev "${T}e"
on h1 ip link set "${T}e" down
on h1 ip link set "${T}f" address "$new_mac"
on h1 ip addr add "${ip_of[h1]}/24" dev "${T}f"
on h1 ip link set "${T}f" up
port_up() { ip -n "$T-$1" -j link show "$2" | jq -e '.[0].operstate == "UP"' >/dev/null; }
wait_for 10 port_up s2 "${T}m" || log "s2's port ${T}m did not come up"
gratuitous_arp h1 "${T}f"
check "h1 reaches hH from s2's LAN" reach h1 "${ip_of[hH]}" 10
check "hH reaches h1 behind s2" reach hH "${ip_of[h1]}" 10
check "h2 reaches h1 (now on its own LAN)" reach h2 "${ip_of[h1]}" 10
check "the hub lists $new_mac behind s2" wait_for 5 hub_has_mac "$WAN.12" "$new_mac"
check "the hub no longer lists $new_mac behind s1" lacks_line "$(hub_macs_of "$WAN.11")" "$new_mac"
status hub
# hH's traffic to h1 must now come out of s2's tunnel only: count what each site's agent writes
# to its TAP.
cap_start s1tap s1 "${T}t" "icmp"
cap_start s2tap s2 "${T}t" "icmp"
on hH ping -c 5 -i 0.2 -W 1 "${ip_of[h1]}" >/dev/null 2>&1 || true
cap_stop s1tap
cap_stop s2tap
check "hH's pings to h1 come out of s2's tunnel (got $(cap_count s2tap "echo request"))" \
    test "$(cap_count s2tap "echo request")" -ge 5
check "none of them goes to s1 any more (got $(cap_count s1tap "echo request"))" \
    test "$(cap_count s1tap "echo request")" = 0

wbn_stop_all --same-as-before
wbn_finish
