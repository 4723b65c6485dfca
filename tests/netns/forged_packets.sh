#!/usr/bin/env bash
# DESIGN scenario 6, a replayed or tampered packet: one of s1's data datagrams is captured on the
# hub's underlay port and sent again from s1's address and port as is (a replay), with its packet
# id changed (tampered: authentication fails) and cut to 8 bytes (truncated). The hub delivers
# none of them (its TAP sees the one real frame only), counts each under its reason in
# `status --json` drops, and s1's session goes on (same key, traffic flows).
#
#      hH 10.77.0.1                                                        h1 10.77.0.11
#          │                                                                     │
#  +───────┴──────────────+        underlay ns wan           +──────────────────┴──+
#  │ hub  bridge ${T}b     │ ${T}w  bridge ${T}u        ${T}w │ s1  bridge ${T}b     │
#  │ TAP ${T}t  server     │────────────────────────────────│ TAP ${T}t  client    │
#  │ (capture on ${T}w,    │ .1                          .11│ (forged datagrams    │
#  │  count on ${T}t)      │                                 │  sent from here)     │
#  +──────────────────────+                                 +─────────────────────+
set -euo pipefail
. "$(dirname "$0")/lib.sh"

wbn_hub_and_sites 1 true
wbn_start_hub_and_sites
require "h1 reaches hH" reach h1 "${ip_of[hH]}" 20
key_before=$(hub_peer_of "$WAN.11" | jq .key_id)

# One large ping's datagram from s1, captured as it reaches the hub.
ip netns exec "$T-hub" timeout -s INT 30 tcpdump -c 1 -Q in -U -n -i "${T}w" -w "$WORK/wan.pcap" \
    "udp and src host $WAN.11 and greater 1200" 2>"$WORK/cap.wan.err" &
CAP[wan]=$!
wait_for 5 grep -q "listening on" "$WORK/cap.wan.err" || die "tcpdump on ${T}w did not start"
cap_start tap hub "${T}t" "icmp and greater 1200"
on h1 ping -c 1 -s 1200 -W 2 "${ip_of[hH]}" >/dev/null || log "the large ping was lost"
wait_pid "${CAP[wan]}" 5 || die "no large datagram from s1 was captured on the hub's ${T}w"
unset "CAP[wan]"
before=$(status hub --json)
on s1 python3 - "$WORK/wan.pcap" "$HUB_WAN" "$PORT" <<'EOF' || die "cannot forge the datagrams"
import socket, struct, sys
pcap, dst, dport = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(pcap, "rb").read()
linktype = struct.unpack("<I", data[20:24])[0]
assert linktype == 1, "expected an Ethernet capture"
incl = struct.unpack("<I", data[24 + 8:24 + 12])[0]
frame = data[24 + 16:24 + 16 + incl]
ip = frame[14:]
ihl = (ip[0] & 15) * 4
src = socket.inet_ntoa(ip[12:16])
sport = struct.unpack("!H", ip[ihl:ihl + 2])[0]
payload = bytes(ip[ihl + 8:])
assert payload[0] >> 3 == 9, "expected a P_DATA_V2 packet"
tampered = bytearray(payload)
tampered[4:8] = struct.pack("!I", (struct.unpack("!I", payload[4:8])[0] + 1000) & 0xffffffff)

def send(udp_payload):
    # A raw IPv4 datagram from s1's own address and port (the checksum-less UDP of RFC 768).
    udp = struct.pack("!HHHH", sport, dport, 8 + len(udp_payload), 0) + udp_payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.sendto(hdr + udp, (dst, 0))

send(payload)          # replay
send(bytes(tampered))  # tampered
send(payload[:8])      # truncated
print(f"sent a replay, a tampered and a truncated copy of a {len(payload)}-byte datagram from {src}:{sport}")
EOF
drop_of() { status hub --json | jq ".drops.$1 // 0"; }
drop_above() { [ "$(drop_of "$1")" -gt "$2" ]; }
for reason in replay auth_failed truncated; do
    b=$(echo "$before" | jq ".drops.$reason // 0")
    check "drops: the $reason datagram is counted under '$reason'" wait_for 5 drop_above "$reason" "$b"
done
on h1 ping -c 2 -i 0.2 -W 1 "${ip_of[hH]}" >/dev/null 2>&1 || true
cap_stop tap
check "drops: none of the forged datagrams reached the hub's TAP (1 large echo request, got $(cap_count tap "echo request"))" \
    test "$(cap_count tap "echo request")" = 1
check "drops: s1's session survives them (same key id $key_before)" \
    test "$(hub_peer_of "$WAN.11" | jq .key_id)" = "$key_before"
check "drops: h1 still reaches hH" reach h1 "${ip_of[hH]}" 5
status hub

wbn_stop_all
wbn_finish
