#!/usr/bin/env bash
# Issue 16 stress: the hub is SIGKILLed in the middle of a transfer and started again at once.
# Two sites (keepalive 2 s / 10 s) notice on their own; the figure is the time from the kill until
# the restarted hub lists both sites again and h1 reaches hH. While the hub is down its kernel
# refuses the sites' datagrams (ICMP port unreachable); after that run of refusals a site gives up
# once nothing was heard for twice its ping interval + 1 s (5 s), not its keepalive timeout (10 s):
# the figure's bound is below the keepalive timeout, and a site's log must name the refusals.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
KEEPALIVE_TIMEOUT=10

wbn_hub_and_sites 2 true
wbn_start_hub_and_sites
require "h1 reaches hH" reach h1 "${ip_of[hH]}" 20

# A transfer the kill interrupts (its result does not matter: the connection may die with it).
head -c 200000000 /dev/zero >"$WORK/big"
on hH timeout 60 nc -l "${ip_of[hH]}" 5001 >/dev/null 2>&1 &
srv=$!
wait_for 5 bulk_listening hH || true
on h1 timeout 60 nc -N "${ip_of[hH]}" 5001 <"$WORK/big" >/dev/null 2>&1 &
cli=$!
sleep 2

log "SIGKILL to the hub (pid ${PID[hub]}) mid-transfer, then a restart"
t0=$(date +%s.%N)
kill -KILL "${PID[hub]}"
wait_pid "${PID[hub]}" 5 || true
unset "PID[hub]"
wbn_start hub
back() { hub_peers_up 2 && pings h1 "${ip_of[hH]}"; }
ok=0
wait_for 60 back && ok=1
t1=$(date +%s.%N)
kill "$cli" "$srv" 2>/dev/null || true
wait "$cli" "$srv" 2>/dev/null || true
check "both sites came back to the restarted hub" test "$ok" = 1
figure sites_back_after_kill "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%d", b - a + 0.999}')" \
    "s (keepalive timeout $KEEPALIVE_TIMEOUT s; the refusal rule's grace 5 s)" -le "$KEEPALIVE_TIMEOUT"
check "a site ended its session on the refusals, before its keepalive timeout" grep -q "datagrams refused" "$WORK/s1.log" "$WORK/s2.log"
check "h2 reaches hH after the restart" reach h2 "${ip_of[hH]}" 10
status hub

wbn_stop_all
wbn_finish
