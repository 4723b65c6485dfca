#!/usr/bin/env bash
# VLAN per client (tunnel.vlan.tagging, as OpenVPN's --vlan-tagging/--vlan-pvid): the hub's TAP
# carries 802.1Q frames; site s1 is an untagged member of VLAN 10 (its tunnel.clients entry), s2
# of the pvid 20. A frame from a site reaches the hub's LAN tagged with the site's VLAN and no site
# of another VLAN; a tagged frame from the hub's LAN reaches only the sites of its VLAN, untagged;
# untagged or foreign-VLAN frames from the TAP and tagged frames from a site are dropped and
# counted; status shows each client's VLAN; SIGHUP moves s1 to VLAN 20 without a reconnect.
# HUB_WORKERS=N runs the hub with tunnel.workers: N (hub_vlan_workers.sh: 2).
# This kernel has no 8021q module, so tagged frames are sent raw (AF_PACKET) and counted with
# tcpdump on the hosts.
#
#                    hH 10.77.0.1 (sees 802.1Q frames)
#                          │
#            +─────────────┴──────────────+
#            │ hub  bridge ${T}b, TAP ${T}t │  vlan: {tagging: true, pvid: 20}
#            │ clients: [{name: s1, vlan: 10}]
#            +─────────────┬──────────────+
#                          │ underlay ${T}u
#            ┌─────────────┴─────────────┐
#   +────────┴────────+         +────────┴────────+
#   │ s1 (VLAN 10)     │         │ s2 (VLAN 20)     │
#   +────────┬────────+         +────────┬────────+
#        h1 10.77.0.11               h2 10.77.0.12
set -euo pipefail
. "$(dirname "$0")/lib.sh"
# HUB_WORKERS (default 1): the hub's tunnel.workers; hub_vlan_workers.sh runs this with 2.
HUB_WORKERS=${HUB_WORKERS:-1}
wbn_hub_and_sites 2 true "  vlan: {tagging: true, pvid: 20}
  clients: [{name: s1, vlan: 10}]
  workers: $HUB_WORKERS"
# raw_send HOST VLAN(0=untagged) COUNT: broadcasts, ethertype 0x88b5, from a fixed per-host MAC.
raw_send() {
    on "$1" python3 - "${T}e" "$2" "$3" "$1" <<'PY'
import socket, sys
ifname, vlan, count, host = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind((ifname, 0))
src = bytes([0x02, 0x55, 0, 0, 0, {"hH": 1, "h1": 0x11, "h2": 0x12}[host]])
tag = b"\x81\x00" + vlan.to_bytes(2, "big") if vlan else b""
for i in range(count): s.send(b"\xff" * 6 + src + tag + b"\x88\xb5" + b"vlan test".ljust(46, b"."))
PY
}
wbn_start_hub_and_sites
[ "$HUB_WORKERS" = 1 ] || check "the hub runs $HUB_WORKERS data path workers" grep -q "data path: $HUB_WORKERS workers" "$WORK/hub.log"

count_at() {  # count_at ID: frames of ethertype 0x88b5 captured (tagged or not)
    grep -c "0x88b5" "$WORK/cap.$1" || true
}
arrived() { [ "$(count_at hH)" -ge "$1" ] && [ "$(count_at h1)" -ge "$2" ] && [ "$(count_at h2)" -ge "$3" ]; }
# round SENDER VLAN HH H1 H2: captures on hH, h1, h2 while SENDER sends 3 frames with VLAN; waits
# (bounded) until each host has at least the frames expected of it (HH, H1, H2), and 1 s in any
# case: frames that must not arrive get that long to show up.
round() {
    cap_start hH hH "${T}e" "ether proto 0x88b5 or (vlan and ether proto 0x88b5)"
    cap_start h1 h1 "${T}e" "ether proto 0x88b5"
    cap_start h2 h2 "${T}e" "ether proto 0x88b5"
    raw_send "$1" "$2" 3
    sleep 1
    wait_for 5 arrived "$3" "$4" "$5" || log "round $1 VLAN $2: not all the frames expected arrived"
    cap_stop hH; cap_stop h1; cap_stop h2
    R_hH=$(count_at hH) R_h1=$(count_at h1) R_h2=$(count_at h2)
    log "$1 sends VLAN $2: hH $R_hH, h1 $R_h1, h2 $R_h2"
}
round h1 0 3 0 0
check "h1's frames reach hH tagged 10" grep -q "vlan 10" "$WORK/cap.hH"
check "h1's frames reach hH exactly once each ($R_hH)" test "$R_hH" = 3
check "h1's frames do not reach h2 (VLAN 20) ($R_h2)" test "$R_h2" = 0
round h2 0 3 0 0
check "h2's frames reach hH tagged 20" grep -q "vlan 20" "$WORK/cap.hH"
check "h2's frames do not reach h1 ($R_h1)" test "$R_h1" = 0
round hH 10 0 3 0
check "hH VLAN 10 reaches h1 untagged ($R_h1)" test "$R_h1" = 3
check "h1 got them untagged" bash -c "! grep -q '802.1Q' '$WORK/cap.h1'"
check "hH VLAN 10 does not reach h2 ($R_h2)" test "$R_h2" = 0
round hH 20 0 0 3
check "hH VLAN 20 reaches h2 ($R_h2) only (h1 $R_h1)" test "$R_h2" = 3 -a "$R_h1" = 0
round hH 0 0 0 0
check "untagged from hH reaches nobody (h1 $R_h1, h2 $R_h2)" test "$R_h1" = 0 -a "$R_h2" = 0
round hH 30 0 0 0
check "VLAN 30 from hH (no member) reaches nobody (h1 $R_h1, h2 $R_h2)" test "$R_h1" = 0 -a "$R_h2" = 0
round h1 10 0 0 0
check "a tagged frame from h1 reaches nobody (hH $R_hH, h2 $R_h2)" test "$R_hH" = 0 -a "$R_h2" = 0
j=$(status hub --json)
status hub
check "vlan_untagged counted" test "$(jq '.drops.vlan_untagged // 0' <<<"$j")" -ge 3
check "vlan_mismatch counted" test "$(jq '.drops.vlan_mismatch // 0' <<<"$j")" -ge 3
check "vlan_tagged_client counted" test "$(jq '.drops.vlan_tagged_client // 0' <<<"$j")" -ge 3
check "s1 shows vlan 10" test "$(jq '.peers[] | select(.name=="s1") | .vlan' <<<"$j")" = 10
check "s2 shows vlan 20" test "$(jq '.peers[] | select(.name=="s2") | .vlan' <<<"$j")" = 20
check "h1 does not reach h2 across VLANs" unreachable h1 "$LAN.12"
up1=$(status hub --json | jq '.peers[] | select(.name=="s1") | .connected_seconds')
sed -i 's/clients: \[{name: s1, vlan: 10}\]/clients: [{name: s1, vlan: 20}]/' "$WORK/hub.yaml"
kill -HUP "${PID[hub]}"
wait_for 5 grep -q "reloaded: tunnel.clients" "$WORK/hub.log" || true
check "reload logged" grep -q "reloaded: tunnel.clients \[s1 vlan 10\] -> \[s1 vlan 20\]" "$WORK/hub.log"
round hH 20 0 3 3
check "after the move hH VLAN 20 reaches h1 and h2 ($R_h1, $R_h2)" test "$R_h1" = 3 -a "$R_h2" = 3
check "h1 reaches h2 in VLAN 20" reach h1 "$LAN.12" 10
up2=$(status hub --json | jq '.peers[] | select(.name=="s1") | .connected_seconds')
check "s1 not reconnected ($up1 -> $up2 s)" test "$up2" -ge "$up1"
status hub
for a in s1 s2 hub; do check "$a stops cleanly" wbn_stop "$a"; done
wbn_finish
