#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 16_bounded_private.sh - bounded and private:
#   - a GWMARK rule in a namespace owned by a non-initial user namespace is
#     refused (EPERM, logged) unless the module parameter allow_userns is set;
#   - the flows file is root's only (0440, like conntrack's) and reads the
#     same flows, each once, whether read in one go or in many small reads
#     (the walk resumes where it stopped);
#   - the flows are charged to the memory cgroup the namespace was created in;
#   - max_entries_total bounds the flows of all namespaces together, below a
#     namespace's own max_entries; at 0 nothing new is cached (total_dropped).
# Topology: appliance.sh, its namespaces created from inside memory cgroup
# wbk16; wbk-rem drops the flood's datagrams in its raw table.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../appliance.sh"
need_gwmark
t=bounded
P=/sys/module/xt_GWMARK/parameters
UDP=$WB_UDPTOOL

# ---------------------------------------------------------- user namespaces
userns_rule() {
	unshare --user --map-root-user --net sh -c \
		'iptables-nft -t mangle -A PREROUTING -j GWMARK --reply-mark 0x32 && awk "\$1 == \"rules_ipv4\" {print \$2}" /proc/net/gwmark/stats'
}
check_eq "$t-userns-default-off" N "$(cat $P/allow_userns)"
mark="wbk-bounded-$RANDOM$RANDOM"
echo "$mark" >/dev/kmsg
out=$(userns_rule 2>&1)
if [ $? -ne 0 ] && grep -q 'Operation not permitted' <<<"$out"; then
	pass "$t-userns-refused"
else
	fail "$t-userns-refused" "accepted or wrong error: $(echo "$out" | tail -n 1)"
fi
check "$t-userns-refusal-logged" sh -c "dmesg | sed -n '/$mark/,\$p' | grep -q 'refused in a non-initial user namespace'"
echo 1 >$P/allow_userns
check_eq "$t-userns-allowed" 1 "$(userns_rule 2>&1 | tail -n 1)"
echo 0 >$P/allow_userns
# The initial user namespace is never refused (scenarios 10-15 add rules there).

# ------------------------------------------------------------ memory cgroup
cg=/sys/fs/cgroup
mountpoint -q $cg || mount -t cgroup2 none $cg
echo +memory >$cg/cgroup.subtree_control 2>/dev/null
rmdir $cg/wbk16 2>/dev/null
mkdir $cg/wbk16
cg_slab() { awk '$1 == "slab_unreclaimable" {print $2}' $cg/wbk16/memory.stat; }
# The appliance's namespaces are created by a shell inside the cgroup; the
# flood below is sent from outside it, so only what is charged to the
# namespace lands there.
(echo $BASHPID >$cg/wbk16/cgroup.procs && appliance_up) | grep -v '^PASS'
WBK_NETNS+=(wbk-lan wbk-app wbk-rem)
sysctl -q -w net.netfilter.nf_conntrack_max=262144 >/dev/null
sysctl_ns wbk-app net.netfilter.nf_conntrack_udp_timeout=600
nse wbk-rem iptables-legacy -t raw -A PREROUTING -p udp -j DROP
check "$t-rule" appliance_rule iptables-nft

n=5000
slab0=$(cg_slab)
sent=$(nse wbk-lan timeout 100 $UDP flows "$REM4" "$n")
check_gt "$t-sent" "${sent:-0}" $((n - 1))
check_gt "$t-learned" "$(gw_stat wbk-app entries)" $((n - 1))
grown=$(( $(cg_slab) - slab0 ))
echo "# cgroup wbk16 slab_unreclaimable grew by $grown bytes for $(gw_stat wbk-app entries) flows"
# A flow takes well over 100 bytes; nothing else of this size is charged here.
check_gt "$t-flows-charged-to-netns-memcg" "$grown" $((n * 100))

# ------------------------------------------------------------- flows file
check_eq "$t-flows-mode" "440 root" "$(nse wbk-app stat -L -c '%a %U' /proc/net/gwmark/flows)"
strip() { grep -v '^#' | awk '{$NF = ""; print}' | sort; }
nse wbk-app cat /proc/net/gwmark/flows | strip >/tmp/$t.big
nse wbk-app dd if=/proc/net/gwmark/flows bs=333 status=none | strip >/tmp/$t.small
entries=$(gw_stat wbk-app entries)
check_eq "$t-flows-all-lines" "$entries" "$(wc -l </tmp/$t.big)"
check_eq "$t-flows-no-duplicates" 0 "$(uniq -d </tmp/$t.big | wc -l)"
check "$t-flows-small-reads-same" cmp /tmp/$t.big /tmp/$t.small
# While flows are read, learning goes on (the walk holds no cache lock).
nse wbk-lan timeout 100 $UDP flows "$REM4" 2000 >/tmp/$t.sent2 &
flood=$!
reads=0
while kill -0 $flood 2>/dev/null && [ $reads -lt 50 ]; do
	nse wbk-app cat /proc/net/gwmark/flows >/dev/null || break
	reads=$((reads + 1))
done
wait $flood
check_gt "$t-flows-read-while-learning" "$(gw_stat wbk-app entries)" $((entries + 1000))
rm -f /tmp/$t.big /tmp/$t.small /tmp/$t.sent2

# ------------------------------------------------------------ global bound
total0=$(cat $P/max_entries_total)
echo 300 >$P/max_entries_total
evicted0=$(gw_stat wbk-app evicted)
nse wbk-lan timeout 100 $UDP flows "$REM4" 2000 >/dev/null
entries=$(gw_stat wbk-app entries)
if [ "$entries" -le 300 ]; then pass "$t-global-bound-holds"; else fail "$t-global-bound-holds" "$entries > 300"; fi
check_gt "$t-global-bound-below-netns-bound" "$(gw_stat wbk-app max_entries)" 300
check_gt "$t-global-bound-recycles-own" "$(gw_stat wbk-app evicted)" "$evicted0"
check_eq "$t-global-bound-shown" 300 "$(gw_stat wbk-app max_entries_total)"
echo 0 >$P/max_entries_total
dropped0=$(gw_stat wbk-app total_dropped)
nse wbk-lan timeout 100 $UDP flows "$REM4" 100 >/dev/null
check_gt "$t-global-zero-drops" "$(gw_stat wbk-app total_dropped)" "$dropped0"
check_eq "$t-global-zero-empty" 0 "$(gw_stat wbk-app entries)"
echo "$total0" >$P/max_entries_total

wbk_cleanup
WBK_NETNS=()
# The cgroup empties once its namespaces are gone (asynchronously).
wait_until 20 rmdir $cg/wbk16 || echo "# cgroup wbk16 not removed"
