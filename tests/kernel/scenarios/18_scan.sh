#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# wb-timeout: 420
# 18_scan.sh - a 100,000-tuple UDP port scan through the bridge does not
# evict established flows: three TCP connections established before it keep
# their flows and their fast path; the scan's flows (never confirmed past
# their first packet) are the ones evicted (evicted_unconfirmed), before
# even the 60 older one-way UDP flows (confirmed, never assured), no new
# connection is refused a flow (learn_dropped stays 0), and a connection
# opened after the scan is cached and works at once.
# Topology: appliance.sh (wbk-rem drops the scan in its raw table so that
# nothing answers).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../appliance.sh"
need_gwmark
UDP=$WB_UDPTOOL
t=scan
n=100000

# Room for every connection in conntrack (a global limit, set in init_net).
sysctl -q -w net.netfilter.nf_conntrack_max=262144 >/dev/null
echo 65536 >/sys/module/nf_conntrack/parameters/hashsize

appliance_up
sysctl_ns wbk-app net.netfilter.nf_conntrack_udp_timeout=600
nse wbk-rem iptables-legacy -t raw -A PREROUTING -p udp -j DROP
check "$t-rule" appliance_rule iptables-nft
max=$(gw_stat wbk-app max_entries)

# Three established connections, each: the remote host writes into a fifo,
# the LAN host receives through the fast path only (no route to the LAN).
for p in 1 2 3; do
	rm -f /tmp/$t.fifo$p /tmp/$t.tcp$p
	mkfifo /tmp/$t.fifo$p
	nse wbk-rem sh -c "exec nc -4 -l -p 600$p <>/tmp/$t.fifo$p" &
	wait_until 10 sh -c "ip netns exec wbk-rem ss -Hltn | grep -q ':600$p '"
	nse wbk-lan nc -4 "$REM4" 600$p </dev/null >/tmp/$t.tcp$p &
	echo before-$p >/tmp/$t.fifo$p
	check "$t-established-$p" wait_until 20 grep -qx before-$p /tmp/$t.tcp$p
done
# 60 one-way UDP flows (two datagrams each: confirmed, never assured),
# older than the scan: they rank above its flows and stay.
nse wbk-lan sh -c "for i in \$(seq 1 60); do for k in 1 2; do $UDP send $LAN4 \$((20000 + i)) $REM4 9 x; done; done"
oneway() { gw_flows wbk-app | awk -v s="$LAN4" -v d="$REM4" '$1 == "ipv4" && $2 == "udp" && $3 == s && $5 == d && $6 == 9' | wc -l; }
check_eq "$t-oneway-cached" 60 "$(oneway)"
evicted0=$(gw_stat wbk-app evicted)
unconf0=$(gw_stat wbk-app evicted_unconfirmed)
dropped0=$(gw_stat wbk-app learn_dropped)

start=$SECONDS
sent=$(nse wbk-lan timeout $((280 * WB_TIMEOUT_SCALE)) $UDP flows "$REM4" "$n")
echo "# sent ${sent:-0} of $n flows in $((SECONDS - start))s"
check_gt "$t-sent-100k" "${sent:-0}" $((n - 1))
entries=$(gw_stat wbk-app entries)
evicted=$(( $(gw_stat wbk-app evicted) - evicted0 ))
unconf=$(( $(gw_stat wbk-app evicted_unconfirmed) - unconf0 ))
echo "# max_entries $max entries $entries evicted $evicted evicted_unconfirmed $unconf learn_dropped $(gw_stat wbk-app learn_dropped)"
if [ "$entries" -le "$max" ]; then pass "$t-bound-holds"; else fail "$t-bound-holds" "$entries > $max"; fi
check_gt "$t-scan-evicted" "$evicted" $((n - max - 1))
check_eq "$t-only-unconfirmed-evicted" "$evicted" "$unconf"
check_eq "$t-nothing-refused" "$dropped0" "$(gw_stat wbk-app learn_dropped)"

check_eq "$t-oneway-still-cached" 60 "$(oneway)"
for p in 1 2 3; do
	check "$t-established-$p-still-cached" sh -c "ip netns exec wbk-app grep -q '^ipv4 tcp $LAN4 [0-9]* $REM4 600$p ' /proc/net/gwmark/flows"
	before=$(gw_stat wbk-app reply_xmit)
	echo after-$p >/tmp/$t.fifo$p
	check "$t-established-$p-still-works" wait_until 20 grep -qx after-$p /tmp/$t.tcp$p
	check_gt "$t-established-$p-via-fast-path" "$(gw_stat wbk-app reply_xmit)" "$before"
done

# A connection opened after the scan: learned (evicting a scan flow), and
# its very first reply already comes through the fast path.
rm -f /tmp/$t.new
nse wbk-rem sh -c "echo fresh | nc -4 -l -N -p 6010" &
wait_until 10 sh -c "ip netns exec wbk-rem ss -Hltn | grep -q ':6010 '"
nse wbk-lan timeout 20 nc -4 -w 5 "$REM4" 6010 </dev/null >/tmp/$t.new
check_eq "$t-new-connection-works" fresh "$(cat /tmp/$t.new)"
check "$t-new-connection-cached" sh -c "ip netns exec wbk-app grep -q '^ipv4 tcp $LAN4 [0-9]* $REM4 6010 ' /proc/net/gwmark/flows"
check_eq "$t-no-alloc-failures" 0 "$(gw_stat wbk-app alloc_failed)"
rm -f /tmp/$t.fifo? /tmp/$t.tcp? /tmp/$t.new
