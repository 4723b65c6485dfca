#!/usr/bin/env bash
# Issue 16 stress: transfers under 5 % loss (random drops as the tunnel's datagrams leave each end) with a
# renegotiation every 10 s (tunnel.reneg_seconds on the hub). DURATION_S of back-to-back 4 MB
# transfers h1 -> hH, each compared byte for byte (the issue asks 10 minutes: 90 s here, so the
# label fits; 8 or more renegotiations). Figures (bounds asserted): transfers that were not
# byte-exact (none), renegotiations seen by the hub, and the growth of the hub's and the site's
# RSS from the first transfer to the end (flat: a few MiB, ASan's quarantine included).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
DURATION_S=${DURATION_S:-90}

wbn_hub_and_sites 1 true
sed -i "/^  keepalive:/a\\  reneg_seconds: 10" "$WORK/hub.yaml"
wbn_start_hub_and_sites
require "h1 reaches hH" reach h1 "${ip_of[hH]}" 20
# 5 % of the tunnel's datagrams lost each way: dropped at random as they leave the hub and the
# site (iptables statistic: works where sch_netem is not built, as on this CI kernel). With UDP
# GSO a drop takes a whole batch: 5 % of the datagrams, in bursts.
for ns in hub s1; do
    on "$ns" iptables -A OUTPUT -o "${T}w" -p udp --dport "$PORT" -m statistic --mode random --probability 0.05 -j DROP
    on "$ns" iptables -A OUTPUT -o "${T}w" -p udp --sport "$PORT" -m statistic --mode random --probability 0.05 -j DROP
done
lost() { on "$1" iptables -L OUTPUT -v -x -n | awk '/statistic/ {s += $1} END {print s + 0}'; }
hub_pid=${PID[hub]}
s1_pid=${PID[s1]}

require "a first transfer under loss" bulk h1 hH "${ip_of[hH]}" 4000000
hub_rss0=$(rss_kb "$hub_pid")
s1_rss0=$(rss_kb "$s1_pid")
handshakes() { hub_peer_of "$WAN.11" | jq .handshakes; }
keys0=$(handshakes)
end=$((SECONDS + DURATION_S))
transfers=0
bad=0
while [ "$SECONDS" -lt "$end" ]; do
    bulk h1 hH "${ip_of[hH]}" 4000000 || bad=$((bad + 1))
    transfers=$((transfers + 1))
done
keys1=$(handshakes)
hub_rss1=$(rss_kb "$hub_pid")
s1_rss1=$(rss_kb "$s1_pid")
log "$transfers transfers of 4 MB in $DURATION_S s under 5 % loss"

log "datagrams dropped on purpose: $(lost hub) by the hub's side, $(lost s1) by the site's"
figure transfers_not_byte_exact "$bad" "of $transfers transfers" -eq 0
figure renegotiations $((keys1 - keys0)) "in $DURATION_S s (reneg_seconds 10)" -ge $((DURATION_S / 10 - 1))
# ASan's quarantine of freed memory fills as it goes and counts in RSS: 16 MiB of slack.
figure hub_rss_growth $(((hub_rss1 - hub_rss0) / 1024)) MiB -le 16
figure site_rss_growth $(((s1_rss1 - s1_rss0) / 1024)) MiB -le 16
check "s1 is still connected" site_up s1
status hub

wbn_stop_all
wbn_finish
