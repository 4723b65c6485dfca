#!/usr/bin/env bash
# Issue 16 stress: 1,000 idle and trickling TCP connections at a TCP hub while a real TCP site
# works. The attacker (ns s2, no agent) opens 1,000 connections from one address (the per-source
# cap raised to let them all in): 600 say nothing, 400 trickle one byte every 2 s (slowloris).
# limits.tcp_handshake_timeout is 10 s here (60 s by default: shortened so the label fits). Figures
# (bounds asserted): the connections the hub accepted, how many it closed and how long after they
# were opened, its descriptors at the peak and after (back to the baseline), and the loss of h1's
# pings to hH through the real site s1, started during the flood.
set -euo pipefail
PROTO=tcp
. "$(dirname "$0")/lib.sh"
N=${N:-1000}
TIMEOUT_S=10

ulimit -n 8192       # the hub and the attacker hold over 1,000 sockets each
wbn_tcp_hub_attacked "tcp_max_connections: 2000, tcp_max_per_source: 2000, tcp_handshake_timeout: $TIMEOUT_S"
fds0=$(fd_count "$hub_pid")

log "$N connections from $WAN.12: 60 % silent, 40 % trickling a byte every 2 s"
tcp_hold "$N" $((TIMEOUT_S * 3)) 40 >"$WORK/flood.out" 2>&1 &
flood=$!
connected() { grep -q '^connected' "$WORK/flood.out"; }
require "the attacker connected" wait_for 120 connected
fds_peak=0
for _ in 1 2 3 4 5 6 7 8 9 10; do  # the hub may still be accepting the last ones: its peak over 2 s
    n=$(fd_count "$hub_pid")
    [ "$n" -gt "$fds_peak" ] && fds_peak=$n
    sleep 0.2
done
log "hub descriptors: $fds0 before, $fds_peak with the connections open"

wbn_start s1
wbn_wait_bridged s1
check "the TCP site s1 connects during the flood" wait_for 30 site_up s1
on h1 ping -c 25 -i 0.2 -W 1 "${ip_of[hH]}" >"$WORK/ping.h1hH" 2>&1 || true
wait "$flood" || die "the flooder failed: $(cat "$WORK/flood.out")"
cat "$WORK/flood.out"
accepted=$(grep -oE '^[0-9]+ connected' "$WORK/flood.out" | cut -d' ' -f1)
closed=$(grep -oE '[0-9]+ closed' "$WORK/flood.out" | cut -d' ' -f1)
slowest=$(grep -oE 'slowest after [0-9.]+' "$WORK/flood.out" | awk '{printf "%d", $3 + 0.999}')
back() { [ "$(fd_count "$hub_pid")" -le $((fds0 + 4)) ]; }  # + s1's connection
wait_for 10 back || true
fds1=$(fd_count "$hub_pid")

figure connections_accepted "$accepted" connections -ge "$N"
figure connections_closed_by_hub "$closed" connections -ge "$N"
# From connect() on the attacker's side: includes the accept backlog and the attacker's own polling of
# 1,000 sockets on a loaded machine, hence twice the timeout as the bound.
figure slowest_close "$slowest" "s after connecting (tcp_handshake_timeout $TIMEOUT_S s)" -le $((TIMEOUT_S * 2))
figure hub_fds_peak_minus_before $((fds_peak - fds0)) "descriptors (all $N connections held at once)" -ge "$N"
figure hub_fds_after_minus_before $((fds1 - fds0)) descriptors -le 4
figure drops_tcp_handshake_timeout "$(drop_of hub tcp_handshake_timeout)" connections -ge "$N"
figure ping_loss_h1_hH "$(ping_loss "$WORK/ping.h1hH")" % -le 5
check "s1 is still connected" site_up s1
status hub

wbn_stop_all
wbn_finish
