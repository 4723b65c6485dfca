#!/usr/bin/env bash
# Issue 16 stress: forged ICMP errors at a site. For 10 s, 100 a second, ICMP errors (protocol
# and port unreachable, frag needed, parameter problem) forged from the hub's address about s1's
# tunnel datagrams reach s1 (two workers) while h1 pings hH. Before the fix one such error ended
# the session. Figures (bounds asserted): s1's reconnections (none), the errors s1 counted
# (drops.socket_error), the ping loss.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

wbn_hub_and_sites 1 true
sed -i "/^  keepalive:/a\\  workers: 2" "$WORK/s1.yaml"
wbn_start_hub_and_sites
require "h1 reaches hH" reach h1 "${ip_of[hH]}" 20
ups_before=$(grep -c "tunnel up" "$WORK/s1.log")
key_before=$(hub_peer_of "$WAN.11" | jq .key_id)
s1_addr=$(hub_peer_of "$WAN.11" | jq -r .real_address)

on h1 ping -c 60 -i 0.2 -W 1 "${ip_of[hH]}" >"$WORK/ping.h1hH" 2>&1 &
pinger=$!
on hub python3 - "$WAN.11" "${s1_addr##*:}" "$HUB_WAN" "$PORT" >"$WORK/forge.out" 2>&1 <<'PY' || die "cannot forge ICMP: $(cat "$WORK/forge.out")"
import socket, struct, sys, time
site, sport, hub, hport = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
inner = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 128, 0, 0x4000, 64, 17, 0, socket.inet_aton(site),
                    socket.inet_aton(hub)) + struct.pack("!HHHH", sport, hport, 108, 0)
kinds = [(3, 2, b"\0\0\0\0"), (3, 3, b"\0\0\0\0"), (3, 4, struct.pack("!HH", 0, 1500)), (12, 0, b"\x09\0\0\0")]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
sent = 0
for i in range(1000):
    t, c, rest = kinds[i % len(kinds)]
    msg = struct.pack("!BBH", t, c, 0) + rest + inner
    msg = msg[:2] + struct.pack("!H", csum(msg)) + msg[4:]
    s.sendto(msg, (site, 0))
    sent += 1
    time.sleep(0.01)
print(sent)
PY
wait "$pinger" || true
ups=$(($(grep -c "tunnel up" "$WORK/s1.log") - ups_before))

figure reconnections "$ups" "new tunnels at s1 (of $(cat "$WORK/forge.out") forged errors)" -eq 0
figure socket_errors_counted "$(drop_of s1 socket_error)" "errors s1 counted" -ge 1
figure ping_loss_h1_hH "$(ping_loss "$WORK/ping.h1hH")" % -le 5
check "the hub keeps s1's session (key id $key_before)" \
    test "$(hub_peer_of "$WAN.11" | jq -r '"\(.real_address) \(.key_id)"')" = "$s1_addr $key_before"
status s1

wbn_stop_all
wbn_finish
