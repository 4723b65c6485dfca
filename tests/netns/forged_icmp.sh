#!/usr/bin/env bash
# Issue 16, site under attack: ICMP errors about s1's tunnel datagrams, forged from the underlay
# (anyone on the path can send them; ICMP is not authenticated): protocol unreachable, frag
# needed and parameter problem, several of each. s1's connected UDP socket reports them on its
# next receive or send (ENOPROTOOPT, EMSGSIZE, EPROTO); s1 must treat them as lost datagrams, as
# OpenVPN does: its session survives (no reconnect, same key at the hub, h1 still reaches hH)
# and `status` counts them (drops.socket_error). s1 runs two data path workers (worker 0 reads
# the socket, the main thread sends control packets through it); unit UdpSocket.ForgedIcmp* covers
# the single-thread receive.
#
#      hH 10.77.0.1                                                        h1 10.77.0.11
#          │                                                                     │
#  +───────┴──────────────+        underlay ns wan           +──────────────────┴──+
#  │ hub  bridge ${T}b     │ ${T}w  bridge ${T}u        ${T}w │ s1  bridge ${T}b     │
#  │ TAP ${T}t  server     │────────────────────────────────│ TAP ${T}t  client    │
#  │ (forged ICMP sent     │ .1                          .11│ connected UDP socket │
#  │  from here, raw)      │                                 │ to .1:1194           │
#  +──────────────────────+                                 +─────────────────────+
set -euo pipefail
. "$(dirname "$0")/lib.sh"

wbn_hub_and_sites 1 true
sed -i "/^  keepalive:/a\\  workers: 2" "$WORK/s1.yaml"

# forge_icmp_at_s1: 3 rounds of protocol unreachable, frag needed (MTU 1500) and parameter problem
# from the hub's address about a datagram s1:port -> hub:1194, each followed by a ping.
forge_icmp_at_s1() {
    local s1_addr sport
    s1_addr=$(hub_peer_of "$WAN.11" | jq -r .real_address)
    sport=${s1_addr##*:}
    on hub python3 - "$WAN.11" "$sport" "$HUB_WAN" "$PORT" <<'EOF' || die "cannot forge the ICMP errors"
import socket, struct, sys, time
site, sport, hub, hport = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

# The datagram the error is about: s1's own, as it left s1 (IPv4 header + the first 8 bytes).
inner_ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 8 + 100, 0, 0x4000, 64, 17, 0,
                       socket.inet_aton(site), socket.inet_aton(hub))
inner = inner_ip + struct.pack("!HHHH", sport, hport, 8 + 100, 0)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
kinds = [("protocol unreachable", 3, 2, b"\0\0\0\0"),
         ("frag needed", 3, 4, struct.pack("!HH", 0, 1500)),
         ("parameter problem", 12, 0, b"\x09\0\0\0")]
for _ in range(3):
    for name, t, c, rest in kinds:
        msg = struct.pack("!BBH", t, c, 0) + rest + inner
        msg = msg[:2] + struct.pack("!H", csum(msg)) + msg[4:]
        s.sendto(msg, (site, 0))
        time.sleep(0.3)  # s1 reads (or sends) in between: each error is reported on its own
print(f"sent 9 forged ICMP errors about {site}:{sport} -> {hub}:{hport}")
EOF
}

wbn_start_hub_and_sites
require "h1 reaches hH" reach h1 "${ip_of[hH]}" 20
key_before=$(hub_peer_of "$WAN.11" | jq .key_id)
addr_before=$(hub_peer_of "$WAN.11" | jq -r .real_address)
ups_before=$(grep -c "tunnel up" "$WORK/s1.log")

# A ping runs through the forging so that s1's socket is read and written meanwhile.
on h1 ping -c 30 -i 0.2 -W 1 "${ip_of[hH]}" >"$WORK/ping.during" 2>&1 &
pinger=$!
forge_icmp_at_s1
wait "$pinger" || true
socket_errors() { status s1 --json | jq '.drops.socket_error // 0'; }
counted_at_least() { [ "$(socket_errors)" -ge "$1" ]; }
check "s1 counts the forged ICMP errors (drops.socket_error $(socket_errors) >= 3)" wait_for 5 counted_at_least 3
check "s1 never reconnected (one 'tunnel up' more in its log: $(grep -c "tunnel up" "$WORK/s1.log") vs $ups_before)" \
    test "$(grep -c "tunnel up" "$WORK/s1.log")" = "$ups_before"
check "s1 logged no socket failure" test "$(grep -cE "recvmmsg|reconnecting" "$WORK/s1.log")" = 0
check "the hub keeps s1's session (address $addr_before, key id $key_before)" \
    test "$(hub_peer_of "$WAN.11" | jq -r '"\(.real_address) \(.key_id)"')" = "$addr_before $key_before"
check "h1 still reaches hH" reach h1 "${ip_of[hH]}" 5
check "most pings during the forging were answered ($(grep -oE '[0-9]+ received' "$WORK/ping.during"))" \
    test "$(grep -oE '[0-9]+ received' "$WORK/ping.during" | cut -d' ' -f1)" -ge 25
status s1

wbn_stop_all
wbn_finish
