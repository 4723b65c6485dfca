#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 50_many_flows.sh - more connections than the cache may hold: at least
# 50,000 new UDP connections cross the appliance; the cache stays within
# max_entries, the overflow is counted as evicted, and the fast path still
# works for a fresh flow afterwards. Topology: appliance.sh (wbk-rem drops
# the datagrams in its raw table so that nothing answers).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../appliance.sh"
need_gwmark
UDP=$WB_UDPTOOL
t=many-flows

# Room for every connection in conntrack (a global limit, set in init_net).
sysctl -q -w net.netfilter.nf_conntrack_max=262144 >/dev/null
echo 65536 >/sys/module/nf_conntrack/parameters/hashsize

appliance_up
# Keep every unanswered connection alive for the whole test, so that the
# cache has to evict rather than lose flows to conntrack's own expiry.
sysctl_ns wbk-app net.netfilter.nf_conntrack_udp_timeout=600
nse wbk-rem iptables-legacy -t raw -A PREROUTING -p udp -j DROP
check "$t-rule" appliance_rule iptables-nft
max=$(gw_stat wbk-app max_entries)
n=$((max + 10000))
[ "$n" -lt 50000 ] && n=50000
learned0=$(gw_stat wbk-app learned)
evicted0=$(gw_stat wbk-app evicted)

start=$SECONDS
sent=$(nse wbk-lan timeout 200 $UDP flows "$REM4" "$n")
echo "# sent ${sent:-0} of $n flows in $((SECONDS - start))s"
check_gt "$t-sent-50k" "${sent:-0}" 49999
conns=$(nse wbk-app cat /proc/sys/net/netfilter/nf_conntrack_count)
check_gt "$t-conntrack-50k" "$conns" 49999 || gw_dump wbk-app

learned=$(( $(gw_stat wbk-app learned) - learned0 ))
evicted=$(( $(gw_stat wbk-app evicted) - evicted0 ))
entries=$(gw_stat wbk-app entries)
echo "# max_entries $max learned $learned evicted $evicted entries $entries conntrack $conns"
check_gt "$t-learned" "$learned" 49999
if [ "$entries" -le "$max" ]; then pass "$t-bound-holds"; else fail "$t-bound-holds" "$entries > $max"; fi
check_gt "$t-evicted-counted" "$evicted" "$((learned - max - 1))" || gw_dump wbk-app
flows=$(gw_flows wbk-app | wc -l)
if [ "$flows" -le "$max" ]; then pass "$t-flows-file-bounded"; else fail "$t-flows-file-bounded" "$flows lines"; fi

# The newest flows survived the eviction, and a new flow works.
check "$t-fast-path-still-works" ping_ok wbk-lan "$REM4" 3
