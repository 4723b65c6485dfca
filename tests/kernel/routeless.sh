# SPDX-License-Identifier: GPL-2.0
# routeless.sh - design scenarios 4 and 5 (routeless reply, MAC change
# mid-flow) on the appliance topology, for one address family. Sourced by
# scenarios/10_routeless_ipv4.sh and 11_routeless_ipv6.sh after setting
# FAM (4 or 6) and IPT (the iptables binary to use).

. "$(dirname "$0")/../appliance.sh"

need_gwmark
appliance_up
if [ "$FAM" = 4 ]; then LAN=$LAN4 REM=$REM4 PROTO=icmp; else LAN=$LAN6 REM=$REM6 PROTO=icmpv6; fi
t=routeless-ipv$FAM

# Without a GWMARK rule the replies have no way back.
check_fails "$t-lost-without-rule" ping_ok wbk-lan "$REM" 2

check "$t-rule" appliance_rule "$IPT"
before=$(gw_stat wbk-app reply_xmit)
check "$t-ping" ping_ok wbk-lan "$REM" 5
after=$(gw_stat wbk-app reply_xmit)
check_gt "$t-reply-xmit-counts" "$after" "$((before + 4))"
check_gt "$t-learned" "$(gw_stat wbk-app learned)" 0

# The flow line: the LAN host's MAC as reply-to, the bridge's MAC as the
# gateway it chose, the bridge port (not the bridge) as the device.
line=$(gw_flows wbk-app | awk -v p="ipv$FAM" -v pr="$PROTO" -v s="$LAN" -v d="$REM" \
	'$1 == p && $2 == pr && $3 == s && $5 == d' | head -n 1)
set -- $line
check_eq "$t-flow-fields" "10 $LAN_MAC $BR_MAC wbkp0" "$# ${7:-} ${8:-} ${9:-}"

# A bulk TCP transfer whose data flows in the reply direction.
head -c 500000 /dev/urandom >/tmp/$t.src
nse wbk-rem sh -c "nc -$FAM -l -N -p 5001 </tmp/$t.src" &
wait_until 10 sh -c "ip netns exec wbk-rem ss -Hltn | grep -q ':5001 '"
before=$(gw_stat wbk-app reply_xmit)
# (no -N on the client: a half-close would end the server's sending)
nse wbk-lan timeout 60 nc -$FAM -w 20 "$REM" 5001 </dev/null >/tmp/$t.dst
check "$t-tcp-bulk-intact" cmp /tmp/$t.src /tmp/$t.dst || gw_dump wbk-app
check_gt "$t-tcp-through-fast-path" "$(gw_stat wbk-app reply_xmit)" "$((before + 20))" || gw_dump wbk-app
rm -f /tmp/$t.src /tmp/$t.dst

# Scenario 5: the LAN host's MAC changes mid-flow. Replies sent to the old
# MAC are dropped by the host's veth, so the ping only goes on if the module
# followed the change.
new_mac=02:00:00:00:0b:10
mac_updates=$(gw_stat wbk-app mac_updates)
nse wbk-lan ping -n -i 0.1 -c 400 -W 1 "$REM" >/tmp/$t.ping 2>&1 &
ping_pid=$!
last_seq() { grep -o 'icmp_seq=[0-9]*' /tmp/$t.ping | tail -n 1 | cut -d= -f2; }
if wait_until 30 sh -c "[ \"\$(grep -c icmp_seq= /tmp/$t.ping)\" -ge 5 ]"; then
	seq=$(last_seq)
	ip -n wbk-lan link set wbkl0 address "$new_mac"
	if wait_until 30 sh -c "[ \"\$(grep -o 'icmp_seq=[0-9]*' /tmp/$t.ping | tail -n 1 | cut -d= -f2)\" -ge $((seq + 10)) ]"; then
		pass "$t-mac-change-flow-goes-on"
	else
		fail "$t-mac-change-flow-goes-on" "no replies after the MAC change (last seq $(last_seq), changed at $seq)"
	fi
else
	fail "$t-mac-change-flow-goes-on" "the ping never started: $(tail -n 2 /tmp/$t.ping | tr '\n' ' ')"
fi
kill "$ping_pid" 2>/dev/null
wait "$ping_pid" 2>/dev/null
# (nse runs ping in a subshell: the ping itself is the namespace's only process now)
ip netns pids wbk-lan | xargs -r kill 2>/dev/null
check_gt "$t-mac-updates" "$(gw_stat wbk-app mac_updates)" "$mac_updates"
check "$t-flow-new-mac" sh -c "ip netns exec wbk-app grep -v '^#' /proc/net/gwmark/flows | grep -q ' $new_mac '"
rm -f /tmp/$t.ping

# No black holes. The LAN port's MTU drops to 1280 (the bridge follows) while the LAN host
# still says MSS 1460: the remote host's full-size segments cannot be sent, and the
# appliance, which has no route to the LAN, answers them itself with "fragmentation
# needed" / "packet too big"; the remote host lowers its path MTU and the transfer completes.
if [ "$FAM" = 4 ]; then
	RIPT=iptables-legacy TOOBIG="-p icmp --icmp-type fragmentation-needed"
	EXPIRED="-p icmp --icmp-type time-exceeded" SETTTL="-j TTL --ttl-set 1" PR=icmp
else
	RIPT=ip6tables-legacy TOOBIG="-p icmpv6 --icmpv6-type packet-too-big"
	EXPIRED="-p icmpv6 --icmpv6-type time-exceeded" SETTTL="-j HL --hl-set 1" PR=icmpv6
fi
modprobe -a xt_HL 2>/dev/null
nse wbk-rem $RIPT -A INPUT $TOOBIG
nse wbk-rem $RIPT -A INPUT $EXPIRED
rem_count() { nse wbk-rem $RIPT -nvxL INPUT | awk -v n="$1" 'NR == n + 2 {print $1}'; }
ip -n wbk-app link set wbkp0 mtu 1280
head -c 300000 /dev/urandom >/tmp/$t.src
nse wbk-rem sh -c "nc -$FAM -l -N -p 5002 </tmp/$t.src" &
wait_until 10 sh -c "ip netns exec wbk-rem ss -Hltn | grep -q ':5002 '"
icmp0=$(gw_stat wbk-app icmp_sent)
nse wbk-lan timeout 60 nc -$FAM -w 20 "$REM" 5002 </dev/null >/tmp/$t.dst
check "$t-too-big-transfer-intact" cmp /tmp/$t.src /tmp/$t.dst || gw_dump wbk-app
check_gt "$t-too-big-icmp-counted" "$(gw_stat wbk-app icmp_sent)" "$icmp0"
check_gt "$t-too-big-icmp-at-sender" "$(rem_count 1)" 0
ip -n wbk-app link set wbkp0 mtu 1500
rm -f /tmp/$t.src /tmp/$t.dst
# A reply whose TTL / hop limit would expire here: "time exceeded" goes back to its sender.
nse wbk-rem $RIPT -t mangle -A OUTPUT -p $PR $SETTTL
icmp0=$(gw_stat wbk-app icmp_sent)
check_fails "$t-ttl-expired-not-delivered" ping_ok wbk-lan "$REM" 1
check_gt "$t-ttl-icmp-counted" "$(gw_stat wbk-app icmp_sent)" "$icmp0"
check_gt "$t-ttl-icmp-at-sender" "$(rem_count 2)" 0
nse wbk-rem $RIPT -t mangle -F OUTPUT

# A flow with a conntrack helper (TFTP here; FTP, SIP alike) never takes the reply fast path:
# the helper must see every packet in the stack. The remote host's answer is counted as a
# fallback and, the appliance having no route to the LAN, never arrives.
modprobe -a nf_conntrack_tftp xt_CT 2>/dev/null
check "$t-helper-rule" nse wbk-app "$IPT" -t raw -A PREROUTING -p udp --dport 69 -j CT --helper tftp
rm -f /tmp/$t.tftp
nse wbk-lan $WB_UDPTOOL recv "$LAN" 7069 /tmp/$t.tftp &
wait_until 10 grep -q ready /tmp/$t.tftp
nse wbk-lan $WB_UDPTOOL send "$LAN" 7069 "$REM" 69 request
wait_until 5 sh -c "ip netns exec wbk-app conntrack -L -p udp --dport 69 2>/dev/null | grep -q helper=tftp"
check "$t-helper-attached" sh -c "ip netns exec wbk-app conntrack -L -p udp --dport 69 2>/dev/null | grep -q helper=tftp"
before=$(gw_stat wbk-app reply_xmit)
fallback=$(gw_stat wbk-app fallback)
nse wbk-rem $WB_UDPTOOL send "$REM" 69 "$LAN" 7069 answer
check "$t-helper-flow-falls-back" wait_until 5 sh -c "[ \$(ip netns exec wbk-app awk '\$1==\"fallback\"{print \$2}' /proc/net/gwmark/stats) -gt $fallback ]"
check_eq "$t-helper-flow-not-stolen" "$before" "$(gw_stat wbk-app reply_xmit)"
check_fails "$t-helper-answer-not-delivered" wait_until 1 grep -qx answer /tmp/$t.tftp
nse wbk-app "$IPT" -t raw -F PREROUTING

# And without the rule the replies are lost again.
nse wbk-app "$IPT" -t mangle -F PREROUTING
check_fails "$t-lost-after-rule-removed" ping_ok wbk-lan "$REM" 2
