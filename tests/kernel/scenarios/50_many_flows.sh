#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# wb-timeout: 420
# 50_many_flows.sh - more connections than the cache may hold: at least
# 50,000 new UDP connections cross the appliance (a UDP port scan); the cache
# stays within max_entries, the overflow is counted as evicted, an
# established TCP connection learned before the flood is not evicted by it
# (its data still arrives through the fast path), and the fast path still
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
# An established connection before the flood: the remote host sends, the
# LAN host receives, through the fast path only (no route to the LAN).
rm -f /tmp/$t.fifo /tmp/$t.tcp
mkfifo /tmp/$t.fifo
nse wbk-rem sh -c "exec nc -4 -l -p 5002 <>/tmp/$t.fifo" &
wait_until 10 sh -c "ip netns exec wbk-rem ss -Hltn | grep -q ':5002 '"
nse wbk-lan nc -4 "$REM4" 5002 </dev/null >/tmp/$t.tcp &
echo before-flood >/tmp/$t.fifo
check "$t-established-before" wait_until 20 grep -qx before-flood /tmp/$t.tcp
learned0=$(gw_stat wbk-app learned)
evicted0=$(gw_stat wbk-app evicted)

start=$SECONDS
sent=$(nse wbk-lan timeout $((200 * WB_TIMEOUT_SCALE)) $UDP flows "$REM4" "$n")
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

# The established connection was not evicted by the flood of unanswered ones.
check "$t-established-still-cached" sh -c "ip netns exec wbk-app grep -q '^ipv4 tcp $LAN4 [0-9]* $REM4 5002 ' /proc/net/gwmark/flows"
before=$(gw_stat wbk-app reply_xmit)
echo after-flood >/tmp/$t.fifo
check "$t-established-still-works" wait_until 20 grep -qx after-flood /tmp/$t.tcp
check_gt "$t-established-via-fast-path" "$(gw_stat wbk-app reply_xmit)" "$before"
check_eq "$t-no-alloc-failures" 0 "$(gw_stat wbk-app alloc_failed)"
echo "# learn_dropped $(gw_stat wbk-app learn_dropped)"
rm -f /tmp/$t.fifo /tmp/$t.tcp

# A new flow works.
check "$t-fast-path-still-works" ping_ok wbk-lan "$REM4" 3
