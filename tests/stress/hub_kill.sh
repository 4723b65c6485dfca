#!/usr/bin/env bash
# Issue 16 stress: the hub is SIGKILLed in the middle of a transfer and started again 2 s later
# (the unit's RestartSec).
# Two sites (keepalive 2 s / 10 s) notice on their own; the figure is the time from the kill until
# the restarted hub lists both sites again and h1 reaches hH. While the hub is down its kernel
# refuses the sites' datagrams (ICMP port unreachable); after that run of refusals a site gives up
# once nothing was heard for twice its ping interval + 1 s (5 s), not its keepalive timeout (10 s).
# s1 (sending the transfer) usually sees refusals: its own figure is reported (see below). An idle
# site may send nothing while the hub is down (its next ping can
# find the hub back already, which drops it silently), so it still waits for its timeout: the
# both-sites figure keeps the timeout + 20 s bound.
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
# Down as long as the packaged unit keeps it down (RestartSec=2s): the sites' datagrams meanwhile
# are refused; a restart at once would leave a window of a few ms, so whether a site sees a run
# of refusals would be luck.
sleep 2
wbn_start hub
s1_back() { [ -n "$(hub_peer_of "$WAN.11" | jq -r 'select(.cipher != "") | .cipher')" ] && pings h1 "${ip_of[hH]}"; }
back() { hub_peers_up 2 && pings h1 "${ip_of[hH]}"; }
ok=0
wait_for 60 s1_back || true
ts1=$(date +%s.%N)
wait_for 60 back && ok=1
t1=$(date +%s.%N)
kill "$cli" "$srv" 2>/dev/null || true
wait "$cli" "$srv" 2>/dev/null || true
check "both sites came back to the restarted hub" test "$ok" = 1
# Reported, not bounded: in the merged tree the refusal rule fired in most runs (7 s) but in some
# no ICMP error was reported on s1's socket at all and it waited for its keepalive timeout (12 s);
# the cause is not found yet (issue 16). Unit PeerLimits.ARunOfRefusals* holds the rule itself.
s1_secs=$(awk -v a="$t0" -v b="$ts1" 'BEGIN {printf "%d", b - a + 0.999}')
echo "FIGURE $TEST s1_back_after_kill = $s1_secs s (s1 sending; the refusal rule's grace 5 s, keepalive timeout $KEEPALIVE_TIMEOUT s) (reported)"
[ -n "${WB_STRESS_FIGURES:-}" ] && echo "FIGURE $TEST s1_back_after_kill = $s1_secs s (reported)" >>"$WB_STRESS_FIGURES"
if grep -q "datagrams refused" "$WORK/s1.log"; then log "s1 ended its session on the refusals"; else log "s1 saw no run of refusals: it waited for its keepalive timeout"; fi
figure sites_back_after_kill "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%d", b - a + 0.999}')" \
    "s (both sites; an idle one waits for its keepalive timeout $KEEPALIVE_TIMEOUT s)" -le $((KEEPALIVE_TIMEOUT + 20))
check "h2 reaches hH after the restart" reach h2 "${ip_of[hH]}" 10
status hub
status s1

wbn_stop_all
wbn_finish
