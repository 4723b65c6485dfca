#!/usr/bin/env bash
# `wirebridge status` and the control socket as docs/CONTROL.md documents them, on a hub and a
# site: every documented JSON key with its type and a true value (names are the certificates'
# CNs, real and virtual addresses, MACs, cipher, key id and age, counters that follow traffic,
# drops by reason, the fast path's counters when loaded); counters of payload frames only (one
# end's out is the other's in after a quiet period); TAP write failures counted as tap_write; the
# text table; the socket's ping, mode and refusal of a second agent.
#
#      hH 10.77.0.1                                                        h1 10.77.0.11
#          │                                                                     │
#  +───────┴──────────────+        underlay ns wan           +──────────────────┴──+
#  │ hub  bridge ${T}b     │ ${T}w  bridge ${T}u        ${T}w │ s1  bridge ${T}b     │
#  │ TAP ${T}t  server     │────────────────────────────────│ TAP ${T}t  client    │
#  │ control $WORK/hub.sock│ .1                          .11│ control s1.sock      │
#  +──────────────────────+                                 +─────────────────────+
set -euo pipefail
. "$(dirname "$0")/lib.sh"

wbn_hub_and_sites 1 true
wbn_start_hub_and_sites
require "h1 reaches hH" reach h1 "${ip_of[hH]}" 20
mac_h1=$(mac_of h1 "${T}e")

# --- JSON: every documented key with its type ------------------------------------------------------
j1=$(status hub --json)
echo "$j1" | jq .
types='{site: (.site|type), role: (.role|type), uptime_seconds: (.uptime_seconds|type), peers: (.peers|type),
        drops: (.drops|type), fastpath: (.fastpath|type), fastpath_note: (.fastpath_note|type)}'
check "hub JSON: top-level keys and types as documented" test "$(echo "$j1" | jq -c "$types")" = \
    '{"site":"string","role":"string","uptime_seconds":"number","peers":"array","drops":"object","fastpath":"'"$(echo "$j1" | jq -r '.fastpath|type')"'","fastpath_note":"string"}'
check "hub JSON: fastpath is an object or null" matches "$(echo "$j1" | jq -r '.fastpath|type')" '^(object|null)$'
check "hub JSON: site and role" test "$(echo "$j1" | jq -c '[.site, .role]')" = '["hub","server"]'
peer_types='.peers[0] | {name: (.name|type), real_address: (.real_address|type), virtual_address: (.virtual_address|type),
    macs: (.macs|type), cipher: (.cipher|type), key_id: (.key_id|type), key_age_seconds: (.key_age_seconds|type),
    bytes_in: (.bytes_in|type), bytes_out: (.bytes_out|type), packets_in: (.packets_in|type), packets_out: (.packets_out|type)}'
check "hub JSON: peer keys and types as documented" test "$(echo "$j1" | jq -c "$peer_types")" = \
    '{"name":"string","real_address":"string","virtual_address":"string","macs":"array","cipher":"string","key_id":"number","key_age_seconds":"number","bytes_in":"number","bytes_out":"number","packets_in":"number","packets_out":"number"}'
p1=$(echo "$j1" | jq -c '.peers[0]')
check "hub JSON: the peer's name is its certificate's CN (s1)" test "$(echo "$p1" | jq -r .name)" = s1
check "hub JSON: real_address is s1's underlay address and port" \
    matches "$(echo "$p1" | jq -r .real_address)" "^$WAN\.11:[0-9]+\$"
s1_vaddr=$(ip -n "$T-s1" -4 -j addr show "${T}t" | jq -r '.[0].addr_info[0].local // empty')
check "hub JSON: virtual_address is the pool address s1 put on its TAP ($s1_vaddr)" \
    test -n "$s1_vaddr" -a "$(echo "$p1" | jq -r .virtual_address)" = "$s1_vaddr"
check "hub JSON: virtual_address is in the pool 10.200.77.0/24" matches "$(echo "$p1" | jq -r .virtual_address)" '^10\.200\.77\.'
check "hub JSON: macs are lower-case xx:xx:xx:xx:xx:xx" \
    test "$(echo "$p1" | jq '[.macs[] | select(test("^[0-9a-f]{2}(:[0-9a-f]{2}){5}$") | not)] | length')" = 0
check "hub JSON: macs hold h1's MAC $mac_h1" has_line "$(echo "$p1" | jq -r '.macs[]')" "$mac_h1"
check "hub JSON: cipher is the negotiated AES-256-GCM" test "$(echo "$p1" | jq -r .cipher)" = AES-256-GCM
# fastpath is off in these configs: the counters are shown only when the module is loaded.
if [ "$(echo "$j1" | jq -r '.fastpath|type')" = object ]; then
    check "hub JSON: fastpath has the /proc counters" test "$(echo "$j1" | jq '.fastpath | has("learned")')" = true
fi

# Counters follow traffic: 20 pings of 1000 bytes each way between h1 and hH add at least 20
# packets and 20 kB in each direction; ages and uptime grow.
on h1 ping -c 20 -i 0.1 -s 1000 -W 1 "${ip_of[hH]}" >/dev/null || log "some of h1's pings were lost"
uptime_at_least() { [ "$(status hub --json | jq .uptime_seconds)" -ge "$1" ]; }
wait_for 5 uptime_at_least $(($(echo "$j1" | jq .uptime_seconds) + 2)) || true
j2=$(status hub --json)
p2=$(echo "$j2" | jq -c '.peers[0]')
for k in packets_in packets_out; do
    a=$(echo "$p1" | jq ".$k") b=$(echo "$p2" | jq ".$k")
    check "hub JSON: $k grew by at least 20 ($a -> $b)" test "$b" -ge $((a + 20))
done
for k in bytes_in bytes_out; do
    a=$(echo "$p1" | jq ".$k") b=$(echo "$p2" | jq ".$k")
    check "hub JSON: $k grew by at least 20000 ($a -> $b)" test "$b" -ge $((a + 20000))
done
check "hub JSON: uptime_seconds grew ($(echo "$j1" | jq .uptime_seconds) -> $(echo "$j2" | jq .uptime_seconds))" \
    test "$(echo "$j2" | jq .uptime_seconds)" -gt "$(echo "$j1" | jq .uptime_seconds)"
check "hub JSON: key_age_seconds grows with time ($(echo "$p1" | jq .key_age_seconds) -> $(echo "$p2" | jq .key_age_seconds))" \
    test "$(echo "$p2" | jq .key_age_seconds)" -gt "$(echo "$p1" | jq .key_age_seconds)"
check "hub JSON: the key id stays while no renegotiation is due" test "$(echo "$p2" | jq .key_id)" = "$(echo "$p1" | jq .key_id)"

# Counters are payload frames only (docs/CONTROL.md): keepalive pings cross the tunnel but are
# counted by neither end. After a quiet period of three keepalive intervals (the site pings the
# hub then), what s1 sent is exactly what the hub received: the netns underlay loses nothing.
uptime_now=$(status hub --json | jq .uptime_seconds)
wait_for $((3 * 2 + 5)) uptime_at_least $((uptime_now + 3 * 2 + 1)) || true
# site_out_eq_hub_in: s1's packets_out and bytes_out, read before and after the hub's packets_in
# and bytes_in, are unchanged and equal to them (a frame in flight between the reads retries).
site_out_eq_hub_in() {
    local a b h
    a=$(status s1 --json | jq -c '.peers[0] | [.packets_out, .bytes_out]')
    h=$(hub_peer_of "$WAN.11" | jq -c '[.packets_in, .bytes_in]')
    b=$(status s1 --json | jq -c '.peers[0] | [.packets_out, .bytes_out]')
    log "s1 sent $a, the hub received $h"
    [ "$a" = "$b" ] && [ "$a" = "$h" ]
}
check "counters: s1's packets_out/bytes_out equal the hub's packets_in/bytes_in after a quiet period (no keepalives counted)" \
    wait_for 10 site_out_eq_hub_in
log "the other way: hub sent $(hub_peer_of "$WAN.11" | jq -c '[.packets_out, .bytes_out]'), s1 received $(status s1 --json | jq -c '.peers[0] | [.packets_in, .bytes_in]')"

# A TAP write the kernel refuses is a counted drop: with the hub's TAP down (writes fail with
# EIO), h1's pings to hH are lost at the hub's TAP and counted as tap_write in the total (on s1
# too when the write failed at once; a batched write's failure is known only at the batch's end);
# the agent goes on, and with the TAP up again h1 reaches hH.
tap_drops() { status hub --json | jq "[.drops.tap_write // 0, ((.peers[0].drops // {}).tap_write // 0)]" -c; }
check "tap_write: no drop while the TAP is up ($(tap_drops))" test "$(tap_drops)" = "[0,0]"
ip -n "$T-hub" link set "${T}t" down
check "tap_write: h1 does not reach hH while the hub's TAP is down" unreachable h1 "${ip_of[hH]}"
tap_write_counted() { status hub --json | jq -e '.drops.tap_write >= 5' >/dev/null; }
check "tap_write: at least 5 drops in the total (got $(tap_drops))" wait_for 5 tap_write_counted
ip -n "$T-hub" link set "${T}t" up
check "tap_write: the hub's agent goes on" alive hub
check "tap_write: h1 reaches hH again with the TAP up" reach h1 "${ip_of[hH]}" 20
check "tap_write: the hub logs the first failure" matches "$(cat "$WORK/hub.log")" "tap_write drops"

# The site's view: one peer, the hub at its listening address.
js=$(status s1 --json)
echo "$js" | jq .
check "site JSON: site and role" test "$(echo "$js" | jq -c '[.site, .role]')" = '["s1","client"]'
check "site JSON: one peer, the hub at $HUB_WAN:$PORT" \
    test "$(echo "$js" | jq -c '[(.peers | length), .peers[0].real_address]')" = "[1,\"$HUB_WAN:$PORT\"]"
check "site JSON: its virtual address is the one on its TAP" test "$(echo "$js" | jq -r '.peers[0].virtual_address')" = "$s1_vaddr"
check "site JSON: the same cipher and key id as the hub sees" \
    test "$(echo "$js" | jq -c '.peers[0] | [.cipher, .key_id]')" = "$(echo "$p2" | jq -c '[.cipher, .key_id]')"

# --- the text table --------------------------------------------------------------------------------
text=$(status hub)
echo "$text"
check "text: a heading with the site, role and number of peers" matches "$text" '^site hub \(server\), up [0-9]+ s, 1 peer$'
check "text: the peer's name and state first" matches "$text" "^  peer s1 \(peer-id [0-9]+\): up, last heard [0-9]+ s ago, 1 handshake\$"
check "text: the peer's real address on the next line" \
    matches "$(grep -A1 '^  peer s1 ' <<<"$text" | tail -n 1)" "^    $WAN\.11:[0-9]+"
check "text: the peer's virtual address" matches "$text" "virtual $s1_vaddr"
check "text: cipher and key" matches "$text" "AES-256-GCM key [0-9]+"
check "text: traffic both ways" matches "$text" "in [0-9.]+ [KMG]?i?B / [0-9]+ pkts +out [0-9.]+ [KMG]?i?B / [0-9]+ pkts"
check "text: h1's MAC" matches "$text" "macs.* $mac_h1"
check "text: --socket PATH gives the same heading as -c FILE" \
    matches "$("$WB" status --socket "$WORK/hub.sock")" '^site hub \(server\)'

# --- the socket ------------------------------------------------------------------------------------
check "socket: mode 0660" test "$(stat -c %a "$WORK/hub.sock")" = 660
check "socket: ping answers pong" matches "$(echo ping | timeout 5 nc -U -N "$WORK/hub.sock")" '^pong'
check "socket: an unknown command answers error:" matches "$(echo frobnicate | timeout 5 nc -U -N "$WORK/hub.sock")" '^error:'
check "socket: 'status json' is the same document as status --json" \
    test "$(echo 'status json' | timeout 5 nc -U -N "$WORK/hub.sock" | jq -c '[.site, .role, (.peers|length)]')" = '["hub","server",1]'
# A second agent on a socket that answers refuses to start, and the first keeps answering.
wbn_ns dup
cat >"$WORK/dup.yaml" <<EOF
site: dup
tunnel:
  role: server
  proto: udp
  local: 127.0.0.1:$PORT
  device: ${T}d
  pool: 10.200.78.0/24
  ca: $WORK/ca.crt
  cert: $WORK/hub.crt
  key: $WORK/hub.key
  tls_crypt: $WORK/tc.key
control: {socket: $WORK/hub.sock}
EOF
rc=0
out=$(on dup timeout 20 "$WB" run -c "$WORK/dup.yaml" 2>&1) || rc=$?
echo "$out" | tail -n 3
check "socket: a second agent on a live socket exits non-zero (got $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "socket: ... and says the socket is in use" matches "$out" "hub\.sock"
check "socket: ... and leaves no TAP behind" no_link dup "${T}d"
check "socket: the first agent still answers" matches "$(status hub)" '^site hub'

for a in hub s1; do kill -TERM "${PID[$a]}"; done
for a in hub s1; do
    rc=0
    wbn_stop "$a" || rc=$?
    check "$a's agent exited with status 0 after SIGTERM (status $rc)" test "$rc" = 0
    check "$a's control socket is removed" test ! -e "$WORK/$a.sock"
done
wbn_finish
