#!/usr/bin/env bash
# Inline (DESIGN scenario 7, the agent's half without the module): the box is a bridge in the
# wire between a LAN host and its router, with one address and no routes; the host is left as
# it is (its gateway is the router's address). The agent's nft bridge table takes frames of
# selected traffic off the wire into the box although they are addressed to the router's MAC;
# bypass and unselected traffic reach the router untouched (the host's MAC, the router's MAC,
# TTL 64); stop removes exactly the table; the wire never breaks: ping loss across SIGKILL,
# restart, SIGTERM and a failed start; `failure: closed` keeps selected traffic off the router
# while no agent runs.
#
#   ns h (LAN host)           ns box (appliance: no routes)                 ns r (router)              ns up
#   ${T}e 192.0.2.10/24   ${T}l ─┐ bridge ${T}b 192.0.2.2/24 ┌─ ${T}w ── ${T}r0 192.0.2.1/24           203.0.113.10/24
#   default via 192.0.2.1 ───────┤ + TAP ${T}t (join_bridge) ├──────────     ${T}r1 203.0.113.1/24 ── 203.0.113.20/24
#                                └ wirebridge (client, no   ┘                                          default via .1
#                                  server: tunnel flows are routed towards the TAP and stop there)
#
# Interest: dst 203.0.113.20/32 is queued (tunnel); udp dport 5022 bypasses; 203.0.113.10 is
# unselected. Needs root. Env: WB_WIREBRIDGE; WB_INLINE_FASTPATH=1 (the VM scenario 72, xt_GWMARK
# loaded) also enables the fast path.
TEST=inline_intercept
. "$(dirname "$0")/lib.sh"

SEL=203.0.113.20 UNSEL=203.0.113.10

echo "== namespaces"
wbn_inline_wire
HMAC=$(mac_of h "${T}e") RMAC=$(mac_of r "${T}r0")
host_routes() { ip -n "$T-h" route show | sed 's/ linkdown//'; }  # "linkdown" until the box's port is up
host_routes_before=$(host_routes)

# The router counts what reaches it: frames for UNSEL or the bypass port exactly as the host
# sent them (its MAC, the router's MAC, TTL 64), all frames for UNSEL, and selected datagrams.
on r nft -f - <<EOF
table netdev inl {
    counter unsel_as_sent {}
    counter unsel_all {}
    counter bypass_as_sent {}
    counter bypass_all {}
    counter selected {}
    chain in {
        type filter hook ingress device "${T}r0" priority 0;
        ip daddr $UNSEL icmp type echo-request counter name "unsel_all"
        ether saddr $HMAC ether daddr $RMAC ip ttl 64 ip daddr $UNSEL icmp type echo-request counter name "unsel_as_sent"
        udp dport 5022 counter name "bypass_all"
        ether saddr $HMAC ether daddr $RMAC ip ttl 64 ip daddr $SEL udp dport 5022 counter name "bypass_as_sent"
        ip daddr $SEL udp dport 5001 counter name "selected"
    }
}
EOF
rcount() { on r nft list counter netdev inl "$1" | awk '/packets/ {print $2; exit}'; }
# Someone else's bridge table at our priority: it must stay as it is.
on box nft -f - <<'EOF'
table bridge foreign {
    chain c {
        type filter hook prerouting priority dstnat; policy accept;
        ip protocol udp counter
    }
}
EOF
tables_before=$(on box nft list tables bridge)
# What the box routes by the tunnel decision: with join_bridge the TAP is a port of the bridge, so
# table 1194's route is through the bridge (the TAP is reached by its forwarding database;
# tests/netns/inline_uplink_join.sh has a real hub behind it). -o takes the name before it exists.
on box iptables -A FORWARD -o "${T}b" -p udp --dport 5001
tapped() { on box iptables -w -nvxL FORWARD | awk '/dpt:5001$/ {print $1; exit}'; }
tapped_ge() { [ "$(tapped)" -ge "$1" ]; }

wbn_pki box
write_config() { wbn_inline_box_yaml "$WORK/box.yaml" "$WORK" "$WORK/box.sock" "$1" "{proto: udp, dport: 5022, action: bypass}"; }  # FAILURE
flow() { status box --json | jq -r ".flows.$1"; }
intercepting() { [ "$(flow intercept_rules)" = 1 ]; }
decided() { [ "$(flow decided_tunnel)" -ge 1 ]; }
has_table() { on box nft list tables bridge | grep -q "table bridge wb_box$"; }
no_table() { ! has_table; }

# unit_lines KEY: the packaged unit's KEY= command lines (deploy/systemd/wirebridge@.service) as
# systemd would run them for this test's instance: the prefix (+, -, ...) dropped, the installed
# binary and /etc/wirebridge/%i.yaml replaced by the binary under test and this test's config.
# (tests/kernel/inline_systemd.sh runs the unit itself under systemd, in the VM.)
UNIT=$(dirname "$0")/../../deploy/systemd/wirebridge@.service
unit_lines() {
    sed -n "s/^$1=[-+!@:]*//p" "$UNIT" |
        sed -e "s|^/usr/sbin/wirebridge |$WB |" -e "s|/etc/wirebridge/%i\.yaml|$WORK/box.yaml|g"
}

echo "== failure open"
write_config open
# The unit's ExecStartPre= lines, in order (check, then modules), must pass before ExecStart=.
# (From a file, not a process substitution: the kernel VM's initramfs has no /dev/fd.)
unit_lines ExecStartPre >"$WORK/exec-start-pre"
n=0
while IFS= read -r line; do
    n=$((n + 1))
    require "the unit's ExecStartPre #$n passes: ${line#"$WB" }" on box $line
done <"$WORK/exec-start-pre"
check "the unit has its two ExecStartPre= lines (check, modules)" test "$n" = 2
wbn_start box
require "the agent installs its bridge table within 20 s" wait_for 20 intercepting
check "the bridge holds lan, wan and the TAP" test "$(ip -n "$T-box" -o link show master "${T}b" | wc -l)" = 3
box_routes=$(ip -n "$T-box" -4 route show | tr '\n' ';')
check "the box has no route but the connected one ($box_routes)" test "$box_routes" = \
    "192.0.2.0/24 dev ${T}b proto kernel scope link src 192.0.2.2 ;"
require "unselected: the host reaches $UNSEL through its own router" reach h "$UNSEL" 20
on h ping -c 5 -i 0.2 -W 1 "$UNSEL" >/dev/null
check "unselected frames reach the router untouched (host MAC, router MAC, TTL 64): $(rcount unsel_as_sent) of $(rcount unsel_all)" \
    test "$(rcount unsel_as_sent)" = "$(rcount unsel_all)" -a "$(rcount unsel_all)" -ge 5
queued0=$(flow queued)
inline_send 5022 5
check "bypass: 5 datagrams reach the router untouched ($(rcount bypass_as_sent) of $(rcount bypass_all))" \
    test "$(rcount bypass_as_sent)" = 5 -a "$(rcount bypass_all)" = 5
check "bypass: nothing queued" test "$(flow queued)" = "$queued0"
inline_send 5001 10
check "selected: the first packet queued, decided tunnel" wait_for 5 decided
check "selected: all 10 datagrams routed by the tunnel decision (table 1194, through the bridge to the TAP)" wait_for 5 tapped_ge 10
check "selected: table 1194 routes through the bridge (join_bridge)" \
    matches "$(ip -n "$T-box" route show table 1194)" "^default dev ${T}b"
log "routed: $(tapped); queued: $(flow queued)"
check "selected: the router saw none of them ($(rcount selected))" test "$(rcount selected)" = 0
check "selected: the bridge table counted them" \
    matches "$(on box nft list table bridge wb_box)" "counter packets (1[0-9]|[2-9][0-9])"
log "the agent's table: $(on box nft list table bridge wb_box | tr -s '\t\n' '  ')"

echo "== the wire across SIGKILL, restart, SIGTERM and a failed start"
# Not through `on` (a function: `&` would fork a subshell): $! is ping itself (ip execs it), and
# SIGINT makes it print its summary. -w bounds it if the test dies first.
ip netns exec "$T-h" ping -i 0.05 -w 300 "$UNSEL" >"$WORK/ping.txt" 2>&1 &
ping_pid=$!
sleep 0.5  # a few pings before the first kill, so a loss at the kill would show
wbn_stop box KILL || true
check "SIGKILL: the kernel dropped the agent's bridge table with its socket (owner flag)" wait_for 2 no_table
check "SIGKILL: selected traffic falls back to the router ($SEL answers)" reach h "$SEL" 5
sent=$(rcount selected)
wbn_start box
require "restart: the table is back within 20 s" wait_for 20 intercepting
check "restart: the killed run's chains were replaced (logged)" grep -q "of an earlier run (not cleaned up) were replaced" "$WORK/box.log"
inline_send 5001 3
check "restart: selected traffic is taken off the wire again" test "$(rcount selected)" = "$sent"
check "SIGTERM: the agent exits 0" wbn_stop box
check "SIGTERM: the bridge table is removed, the foreign one stays as it was" \
    test "$(on box nft list tables bridge)" = "$tables_before"
check "SIGTERM: no chain or policy rule of the agent left" \
    bash -c "! ip netns exec $T-box iptables-save -t mangle | grep -q WB- && ! ip -n $T-box rule show | grep -q 0x30000"
check "SIGTERM: the bridge, its two ports and the address stay" \
    test "$(ip -n "$T-box" -o link show master "${T}b" | wc -l)" = 2 -a -n "$(ip -n "$T-box" addr show "${T}b" | grep 192.0.2.2/24)"
check "SIGTERM: selected traffic goes to the router" reach h "$SEL" 5
ip -n "$T-box" link add "${T}t" type veth peer name "${T}x"  # the TAP's name taken: the next start fails
wbn_start box
wait_pid "${PID[box]}" 10 && rc=0 || rc=$?
unset "PID[box]"
check "failed start: the agent exits with an error (status $rc)" test "$rc" != 0 -a "$rc" != 124
check "failed start: no bridge table, the bridge and its ports stay" \
    bash -c "! ip netns exec $T-box nft list tables bridge | grep -q wb_box && [ \$(ip -n $T-box -o link show master ${T}b | wc -l) = 2 ]"
ip -n "$T-box" link del "${T}t"
sleep 0.5
kill -INT "$ping_pid"
wait_pid "$ping_pid" 5 || true
summary=$(grep "packets transmitted" "$WORK/ping.txt")
log "ping $UNSEL every 50 ms across it all: $summary"
tx=$(awk '/packets transmitted/ {print $1}' "$WORK/ping.txt") rx=$(awk '/packets transmitted/ {print $4}' "$WORK/ping.txt")
check "the wire never broke: $((tx - rx)) of $tx pings lost" test "$tx" -ge 20 -a "$rx" = "$tx"
check "the host was not reconfigured (routes: $(host_routes | tr '\n' ';'))" test "$(host_routes)" = "$host_routes_before"

echo "== failure closed"
write_config closed
wbn_start box
require "closed: the table is installed within 20 s" wait_for 20 intercepting
wbn_stop box KILL || true
check "closed, SIGKILL: the table stays" has_table
check "closed, SIGKILL: selected traffic does not reach the router" unreachable h "$SEL"
check "closed, SIGKILL: unselected traffic still does" reach h "$UNSEL" 5
stop_post=$(unit_lines ExecStopPost)
require "the unit has one ExecStopPost= line, wirebridge cleanup" matches "$stop_post" "^$WB cleanup -c $WORK/box.yaml\$"
cleaned=$(on box $stop_post 2>&1) || true
log "the unit's ExecStopPost ($stop_post): $(echo "$cleaned" | tr '\n' ';')"
check "cleanup (ExecStopPost): the killed run's chains and policy rules removed, the table kept (closed)" \
    bash -c "grep -q 'removed chains WB-box' <<<'$cleaned' && grep -qE 'removed [36] policy rules' <<<'$cleaned' &&
             grep -q 'kept table bridge wb_box' <<<'$cleaned' && ! ip netns exec $T-box iptables-save -t mangle | grep -q WB-"
check "closed, after cleanup: the table is still there" has_table
wbn_start box
require "closed: restart within 20 s" wait_for 20 intercepting
check "closed: the stale table was replaced (logged)" grep -q "table bridge wb_box of an earlier run was replaced" "$WORK/box.log"
check "closed, SIGTERM: the agent exits 0" wbn_stop box
check "closed, SIGTERM: the table stays (logged)" bash -c "grep -q 'wb_box left in place' $WORK/box.log"
check "closed, SIGTERM: the table is still there" has_table
check "closed, SIGTERM: selected traffic does not reach the router" unreachable h "$SEL"
check "closed, SIGTERM: unselected traffic still does" reach h "$UNSEL" 5
wbn_finish
