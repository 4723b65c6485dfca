#!/usr/bin/env bash
# Issue 16 stress: a malicious authenticated site storms the hub's control channel. s3's own
# certificate is used by wb-stormsite (no wirebridge at s3): it connects, then sends 1,000
# PUSH_REQUESTs over 5 s inside its TLS channel and 300 SOFT_RESETs for ever new key ids over the
# next 5 s (each would be a TLS handshake). Meanwhile h1 pings h2 and h2 pings hH through the hub.
# Figures (bounds asserted): the attempts the hub refused and counted (push_request_limit,
# soft_reset_limit), the hub's CPU and RSS growth over the storm, the other sites' ping loss.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ -x "${WB_STORMSITE:-}" ] || die "WB_STORMSITE (the wb-stormsite binary) is not set"
PUSHES=1000
RESETS=300
STORM_S=10

wbn_hub_and_sites 3 true
SITES=(s1 s2)  # s3's configuration and certificate are the storm tool's
APPLIANCES=(hub s1 s2)
wbn_start_hub_and_sites
require "h1 reaches h2" reach h1 "${ip_of[h2]}" 20
require "h2 reaches hH" reach h2 "${ip_of[hH]}" 20

on h1 ping -c 75 -i 0.2 -W 1 "${ip_of[h2]}" >"$WORK/ping.h1h2" 2>&1 &
p1=$!
on h2 ping -c 75 -i 0.2 -W 1 "${ip_of[hH]}" >"$WORK/ping.h2hH" 2>&1 &
p2=$!
rss0=$(rss_kb "${PID[hub]}")
cpu0=$(cpu_ticks "${PID[hub]}")
t0=$(date +%s.%N)
log "s3: wb-stormsite, $PUSHES PUSH_REQUESTs then $RESETS SOFT_RESETs over $STORM_S s"
ip netns exec "$T-s3" timeout 60 "$WB_STORMSITE" "$WORK/s3.yaml" "$PUSHES" "$RESETS" "$STORM_S" >"$WORK/storm.out" 2>&1 || {
    cat "$WORK/storm.out"
    die "wb-stormsite failed"
}
t1=$(date +%s.%N)
cpu1=$(cpu_ticks "${PID[hub]}")
rss1=$(rss_kb "${PID[hub]}")
cat "$WORK/storm.out"
wait "$p1" || true
wait "$p2" || true
sent_of() { grep -oE "$1=[0-9]+" "$WORK/storm.out" | cut -d= -f2; }
pushes=$(sent_of push_requests)
resets=$(sent_of soft_resets)
hz=$(getconf CLK_TCK)
cpu_pct=$(awk -v a="$cpu0" -v b="$cpu1" -v s="$t0" -v e="$t1" -v hz="$hz" 'BEGIN {printf "%d", 100 * (b - a) / hz / (e - s)}')

# Answered: the first PUSH_REQUEST of the session, 3 more at once and one every 5 s; the rest is
# counted. SOFT_RESETs: 4 at once and one every 2 s start a renegotiation; the rest is counted
# (a few may land on a key id already under way and be taken as its retransmission).
figure push_request_limit "$(drop_of hub push_request_limit)" "of $pushes PUSH_REQUESTs refused" -ge $((pushes - 3 - STORM_S / 5 - 2 - 10))
figure soft_reset_limit "$(drop_of hub soft_reset_limit)" "of $resets SOFT_RESETs refused" -ge $((resets * 8 / 10))
figure hub_cpu "$cpu_pct" "% of a core over the storm" -le 90
figure hub_rss_growth $(((rss1 - rss0) / 1024)) MiB -le 32
figure ping_loss_h1_h2 "$(ping_loss "$WORK/ping.h1h2")" % -le 5
figure ping_loss_h2_hH "$(ping_loss "$WORK/ping.h2hH")" % -le 5
check "the hub still lists s1 and s2" bash -c "[ \"\$('$WB' status --socket '$WORK/hub.sock' --json | jq '[.peers[] | select(.cipher != \"\")] | length')\" -ge 2 ]"
status hub

wbn_stop_all
wbn_finish
