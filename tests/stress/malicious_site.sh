#!/usr/bin/env bash
# Issue 16 stress: a malicious site. s3 is a real, authenticated site whose LAN host h3 sends, in
# turn: frames from hH's MAC (the hub LAN's gateway: a takeover of a MAC live on the hub's TAP),
# frames from h1's MAC (a takeover of another site's station), a broadcast storm (20,000 frames
# as fast as h3 can), and 802.1Q-tagged frames (a VLAN escape, tagging off). Meanwhile h1 pings h2
# and h2 pings hH. Figures (bounds asserted): each attempt counted by the hub (mac_sticky,
# mac_move_limit, multicast_limit, tagged_client against what h3 sent), the MAC moves allowed, the
# storm frames that reached h1, and the other sites' ping loss. (The PUSH_REQUEST / SOFT_RESET storm of the issue is
# control_storm.sh.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

wbn_hub_and_sites 3 true
wbn_start_hub_and_sites
require "h1 reaches h2" reach h1 "${ip_of[h2]}" 20
require "h2 reaches hH" reach h2 "${ip_of[hH]}" 20
require "h3 reaches hH" reach h3 "${ip_of[hH]}" 20
mac_hH=$(mac_of hH "${T}e")
mac_h1=$(mac_of h1 "${T}e")

on h1 ping -c 100 -i 0.2 -W 1 "${ip_of[h2]}" >"$WORK/ping.h1h2" 2>&1 &
p1=$!
on h2 ping -c 100 -i 0.2 -W 1 "${ip_of[hH]}" >"$WORK/ping.h2hH" 2>&1 &
p2=$!
cap_start storm h1 "${T}e" "ether proto 0x88b5"
sleep 1

# What the hub opened from s3 (its status, keepalives left out), before and after the attacks:
# the storm's frames that reached the hub, whatever the machine's load lost on the way.
opened_from() { status hub --json | jq --arg n "$1" '[.peers[] | select(.name == $n) | .packets_in // 0] | add // 0'; }
opened_before=$(opened_from s3)

# h3's attacks: ethertype 0x88b5 (local experimental) so that no host answers them.
log "h3: 300 frames from hH's MAC, 300 from h1's, 20,000 broadcasts, 500 tagged frames"
on h3 python3 - "${T}e" "$mac_hH" "$mac_h1" >"$WORK/attack.out" 2>&1 <<'PY'
import socket, sys, time
ifname = sys.argv[1]
hh, h1 = (bytes.fromhex(m.replace(":", "")) for m in sys.argv[2:4])
own = bytes.fromhex("02770000aa03")
bcast = b"\xff" * 6
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
body = b"wirebridge stress frame".ljust(46, b".")
counts = {}
def send(name, frame, n, pause=0.0):
    t0 = time.time()
    for _ in range(n):
        s.send(frame)
        if pause:
            time.sleep(pause)
    counts[name] = counts.get(name, 0) + n
    counts[name + "_seconds"] = f"{time.time() - t0:.2f}"
send("from_hH", bcast + hh + b"\x88\xb5" + body, 300, 0.005)
send("from_h1", bcast + h1 + b"\x88\xb5" + body, 300, 0.005)
send("storm", bcast + own + b"\x88\xb5" + body, 20000)
send("tagged", bcast + own + b"\x81\x00\x00\x07" + b"\x88\xb5" + body, 500, 0.002)
print(" ".join(f"{k}={v}" for k, v in counts.items()))
PY
cat "$WORK/attack.out"
wait "$p1" || true
wait "$p2" || true
cap_stop storm
sent_of() { grep -oE "$1=[0-9.]+" "$WORK/attack.out" | cut -d= -f2; }
storm_s=$(sent_of storm_seconds | awk '{printf "%d", $1 + 0.999}')
reached_h1=$(cap_count storm "ff:ff:ff:ff:ff:ff")

# Frames may be lost on the way (UDP, a loaded machine): at least 90 % of each attempt counted.
figure mac_sticky "$(drop_of hub mac_sticky)" "of $(sent_of from_hH) frames from hH's MAC" -ge $(($(sent_of from_hH) * 9 / 10))
# h1's MAC: s3 may take it 2 times a second, and s1 takes it back when h1 sends (its pings): the
# moves the hub allowed (its log) stay within 2 a second for each of the two over the attack.
h1_s=$(sent_of from_h1_seconds | awk '{printf "%d", $1 + 0.999}')
moves=$(grep -oE '\(([0-9]+) since start\)' "$WORK/hub.log" | tail -n 1 | grep -oE '[0-9]+' || echo 0)
figure mac_moves "${moves:-0}" "MAC moves allowed over the ${h1_s} s attack ($(sent_of from_h1) frames from h1's MAC)" -le $((2 * 2 * (h1_s + 2)))
figure mac_move_limit "$(drop_of hub mac_move_limit)" "frames from h1's MAC refused (over the move budget)" -ge 1
# The storm frames the hub opened (everything s3 sent less the other attempts, counted as if all
# had arrived): past the limit's budget over the storm (a second's burst + 1000/s), each is counted.
storm_in=$(( $(opened_from s3) - opened_before - $(sent_of from_hH) - $(sent_of from_h1) - $(sent_of tagged) ))
budget=$((1000 * (storm_s + 2)))
figure storm_frames_at_hub "$storm_in" "of $(sent_of storm) broadcast frames sent (the rest lost on the way)" -gt "$budget"
figure multicast_limit "$(drop_of hub multicast_limit)" "of the $storm_in storm frames the hub opened (budget $budget)" -ge $((storm_in - budget))
figure storm_frames_at_h1 "$reached_h1" "frames (storm $storm_s s at 1000/s + 1 s burst)" -le $((1000 * (storm_s + 2)))
figure tagged_client "$(drop_of hub tagged_client)" "of $(sent_of tagged) tagged frames" -ge $(($(sent_of tagged) * 9 / 10))
# h1 is the station whose MAC s3 takes: each allowed move sends h1's replies to s3 until h1 sends
# again (0.2 s), hence a looser bound for its pings; h2 and hH are not touched.
figure ping_loss_h1_h2 "$(ping_loss "$WORK/ping.h1h2")" "% (h1's MAC under takeover)" -le 10
figure ping_loss_h2_hH "$(ping_loss "$WORK/ping.h2hH")" % -le 5
check "hH's MAC stays on the hub's TAP side" test -z "$(hub_macs_of "$WAN.13" | grep -ix "$mac_hH" || true)"
check "the hub lists its 3 sites" hub_peers_up 3
status hub

wbn_stop_all
wbn_finish
