#!/usr/bin/env bash
# DESIGN scenario 3: one hub, three sites, client_to_client on. Every LAN host reaches every
# other (ping; bulk TCP compared byte for byte; UDP bursts checked datagram by datagram); a broadcast, a subnet broadcast and a multicast
# from one site reach every other LAN exactly once and never come back to the sender's LAN; the
# hub's status lists the three sites with their real addresses and the MAC of each site's host;
# after SIGTERM nothing of ours is left.
#
#                         hH 10.77.0.1
#                              │ ${T}e ── ${T}l
#                  +───────────┴────────────+
#                  │ hub   bridge ${T}b      │   wirebridge server (client_to_client: true)
#                  │ 10.77.0.250  TAP ${T}t  │
#                  +───────────┬────────────+
#                              │ ${T}w 172.31.77.1
#            underlay ns wan: bridge ${T}u (${T}p1, ${T}p11, ${T}p12, ${T}p13)
#           ┌──────────────────┼──────────────────┐
#   ${T}w .11│               .12│               .13│
#     +──────┴─────+     +──────┴─────+     +──────┴─────+
#     │ s1  ${T}b   │     │ s2  ${T}b   │     │ s3  ${T}b   │   wirebridge clients; each bridge
#     │ 10.77.0.201 │     │ 10.77.0.202 │     │ 10.77.0.203 │   holds ${T}l and the TAP ${T}t
#     +──────┬─────+     +──────┬─────+     +──────┬─────+
#            │                  │                  │
#      h1 10.77.0.11      h2 10.77.0.12      h3 10.77.0.13
set -euo pipefail
. "$(dirname "$0")/lib.sh"

hosts=(hH h1 h2 h3)

wbn_hub_and_sites 3 true
wbn_save_before --check
wbn_start_hub_and_sites
log "hub and 3 sites up"

# Every host reaches every other one (ARP crosses first); client_to_client switches site to site.
for a in "${hosts[@]}"; do
    for b in "${hosts[@]}"; do
        [ "$a" = "$b" ] && continue
        check "$a reaches $b (${ip_of[$b]})" reach "$a" "${ip_of[$b]}" 20
    done
done

# Bulk TCP through the hub's switch: site to site, and from the hub's LAN to a site.
check "8 MB from h1 to h3 (site to site) arrive byte for byte" bulk h1 h3 "${ip_of[h3]}" 8000000
check "8 MB from hH to h2 (hub LAN to site) arrive byte for byte" bulk hH h2 "${ip_of[h2]}" 8000000

# UDP bursts of one flow, site LAN to hub LAN and back to another site: each datagram reaches its
# host whole and in order through the tunnel, a TAP and a bridge. Where the kernel takes UDP GSO
# writes (Linux 6.2+; the agent's log says so) the receiving agent writes runs of them as one
# super-frame, which the bridge, the veth and the host's socket cut back into the datagrams: its
# TAP then counts fewer writes than datagrams.
kv=$(uname -r) && kmaj=${kv%%.*} && kmin=${kv#*.} && kmin=${kmin%%[!0-9]*}
udp_gso_kernel() { [ "$kmaj" -gt 6 ] || { [ "$kmaj" -eq 6 ] && [ "$kmin" -ge 2 ]; }; }
for path in "h1 hH hub" "hH h2 s2"; do
    set -- $path
    rx0=$(tap_rx "$3")
    res=$(udp_burst "$1" "$2" "${ip_of[$2]}" 2000 200)
    writes=$(($(tap_rx "$3") - rx0))
    log "UDP $1 -> $2: $res; $3's TAP took $writes writes"
    check "2000 datagrams of one flow from $1 reach $2 whole and in order ($res)" test "$res" = "got 2000 in_order 2000 bad 0"
    if udp_gso_kernel; then
        check "$3's log says it merges UDP runs (Linux $kv)" grep -q "; runs of TCP segments and of UDP datagrams merged" "$WORK/$3.log"
        check "$3 merged them: its TAP took fewer writes ($writes) than 9/10 of 2000" test "$writes" -lt 1800
    else
        check "$3's log says this kernel takes no UDP GSO write (Linux $kv)" grep -q "UDP datagrams not: this kernel takes no UDP GSO write" "$WORK/$3.log"
    fi
done

# The hub's status: three peers, each at its real underlay address, each with its host's MAC only.
status hub
json=$(status hub --json)
echo "$json" | jq .
check "the hub lists exactly 3 peers" test "$(echo "$json" | jq '.peers | length')" = 3
for i in 1 2 3; do
    mac=$(mac_of "h$i" "${T}e")
    peer=$(echo "$json" | jq -c --arg a "$WAN.$((10 + i)):" '.peers[] | select(.real_address | startswith($a))')
    check "s$i is listed at its real address $WAN.$((10 + i)):PORT" test -n "$peer"
    check "s$i's real address has a port" matches "$(echo "$peer" | jq -r .real_address)" "^$WAN\.$((10 + i)):[0-9]+\$"
    check "the hub lists h$i's MAC $mac behind s$i" has_line "$(echo "$peer" | jq -r '.macs[]')" "$mac"
    for j in 1 2 3; do
        [ "$j" = "$i" ] && continue
        other=$(mac_of "h$j" "${T}e")
        check "h$j's MAC is not listed behind s$i" lacks_line "$(echo "$peer" | jq -r '.macs[]')" "$other"
    done
done
check "hH's MAC is behind no peer (it is on the hub's own LAN)" \
    lacks_line "$(echo "$json" | jq -r '.peers[].macs[]')" "$(mac_of hH "${T}e")"

# Broadcast exactly once. h1 sends an ARP request (Ethernet broadcast), a UDP datagram to the
# subnet broadcast and one to a multicast group; then a marker ARP request. Frames of one path
# arrive in order, so once a LAN has seen the marker it has seen every copy of the first three;
# the sender's own capture is closed by a ping round trip through the hub in the same way.
filter="(arp and (host $LAN.99 or host $LAN.98)) or (udp and (port 39990 or port 39991)) or icmp"
for h in "${hosts[@]}"; do cap_start "$h" "$h" "${T}e" "$filter"; done
on h1 timeout 5 arping -q -c 1 -i "${T}e" "$LAN.99" >/dev/null 2>&1 || true
udp_send h1 "$LAN.255" 39990 bcast
udp_send h1 239.77.0.1 39991 mcast
on h1 timeout 5 arping -q -c 1 -i "${T}e" "$LAN.98" >/dev/null 2>&1 || true
for h in hH h2 h3; do
    wait_for 10 cap_has "$h" "who-has $LAN\.98 " || log "$h did not see the marker broadcast within 10 s"
done
reach h1 "${ip_of[h2]}" 10 || true
wait_for 5 cap_has h1 "ICMP echo reply" || log "h1's closing ping did not come back"
for h in "${hosts[@]}"; do cap_stop "$h"; done
for h in hH h2 h3; do
    check "$h got the ARP broadcast exactly once (got $(cap_count "$h" "who-has $LAN\.99 "))" \
        test "$(cap_count "$h" "who-has $LAN\.99 ")" = 1
    check "$h got the subnet broadcast exactly once (got $(cap_count "$h" "\.39990: UDP"))" \
        test "$(cap_count "$h" "\.39990: UDP")" = 1
    check "$h got the multicast exactly once (got $(cap_count "$h" "\.39991: UDP"))" \
        test "$(cap_count "$h" "\.39991: UDP")" = 1
done
check "none of h1's broadcasts came back to h1's LAN (got $(cap_count h1 "who-has $LAN\.9[89] |\.3999[01]: UDP"))" \
    test "$(cap_count h1 "who-has $LAN\.9[89] |\.3999[01]: UDP")" = 0

# SIGTERM everything: each agent exits 0 and leaves its namespace as it found it.
wbn_stop_all
for a in "${APPLIANCES[@]}"; do
    check "$a: links, addresses and rules are as before the agent ran" same_as_before "$a" "$WORK/before.$a"
    check "$a: no bridge left" test "$(ip -n "$T-$a" -o link show type bridge | wc -l)" = 0
    check "$a: no TAP left" no_link "$a" "${T}t"
    check "$a: no process left in the namespace" test -z "$(ip netns pids "$T-$a")"
    check "$a: the control socket is gone" test ! -e "$WORK/$a.sock"
done
teardown_all
check "nothing of this run is left (namespaces, root interfaces, processes)" audit_gone
wbn_finish
