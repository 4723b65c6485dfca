#!/usr/bin/env bash
# Routeless mode on the host kernel (no xt_GWMARK): the agent's rules, NFQUEUE decisions and
# conntrack counts, routing by the decision (policy rules), clean removal, stale rules after
# SIGKILL, fail-open vs fail-closed, late selection of running flows on SIGHUP, and table T's
# route put back when the TAP goes down and up again.
#
#   lan (LAN host)                 app (appliance: wirebridge client,             rem (server)
#   10.98.1.10/24                  interest rules, routes between lan and rem)    10.20.0.5/16
#   default via 10.98.1.1          10.98.1.1/24          10.20.0.1/16             10.30.0.5/16
#   lan0 ========================== lan0                  10.30.0.1/16             default via 10.20.0.1
#                                  TAP <tag>t            rem0 ===================== rem0
#
# The tunnel's server does not exist (the client keeps retrying): what is checked here is the
# kernel side the agent drives. Interest: dst 10.20.0.0/16 is queued; udp dport 5022 bypasses.
# The main table sends everything to rem over rem0; a flow decided "tunnel" must go into the
# TAP instead (counted by FORWARD rules "-o TAP" per port, and rem never sees it), a bypass
# flow must not.
# Needs root. Env: WB_WIREBRIDGE (the binary).
set -euo pipefail
# shellcheck source=../lib/base.sh
. "$(dirname "$0")/../lib/base.sh"

wb=${WB_WIREBRIDGE:?set WB_WIREBRIDGE to the wirebridge binary}
tag=rtq$$
work=$(mktemp -d "/tmp/$tag.XXXX")
lan=$tag-lan app=$tag-app rem=$tag-rem
pids=()
failures=0

cleanup() {
    set +e
    for pid in "${pids[@]}"; do kill -CONT "$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    wb_ns_del_all
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

ok() { echo "PASS $*"; }
bad() { echo "FAIL $*"; failures=$((failures + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
wait_for() { wb_wait "$@"; }

python=$(command -v python3)
# UDP receiver in rem: one line "PORT PAYLOAD" per datagram, on ports 5001..5009 and 5022.
cat >"$work/rx.py" <<'EOF'
import select, socket, sys
socks = []
for port in list(range(5001, 5010)) + [5022]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    socks.append(s)
out = open(sys.argv[1], "a", buffering=1)
while True:
    for s in select.select(socks, [], [], 1.0)[0]:
        data, _ = s.recvfrom(2048)
        out.write("%d %s\n" % (s.getsockname()[1], data.decode(errors="replace")))
EOF
# send SPORT DPORT COUNT TEXT: COUNT datagrams of one flow from lan to rem (DST, default 10.20.0.5).
send() {
    ip netns exec "$lan" "$python" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
for i in range(int(sys.argv[3])):
    s.sendto(("%s-%d" % (sys.argv[4], i)).encode(), (sys.argv[5], int(sys.argv[2])))
    time.sleep(0.05)
' "$@" "${DST:-10.20.0.5}"
}
received() { grep -c " $1-" "$work/rx.txt" 2>/dev/null || true; }
got_at_least() { [ "$(received "$1")" -ge "$2" ]; }
status_num() { "$wb" status --json -c "$work/app.yaml" | "$python" -c 'import json,sys; print(json.load(sys.stdin)["flows"][sys.argv[1]])' "$1"; }
num_ge() { [ "$(status_num "$1")" -ge "$2" ]; }
rules() { ip netns exec "$app" iptables-save -t mangle; }
rules6() { ip netns exec "$app" ip6tables-save -t mangle; }
has_rules() { rules | grep -q -- "-A PREROUTING -j WB-$tag"; }
# Policy rules and the agent's table (interest.table and rule_priority: their defaults, 1194).
prules() { ip -n "$app" "$@" rule show; }
no_prules() {
    ! prules | grep -q "0x30000" && ! prules -6 | grep -q "0x30000" &&
        [ -z "$(ip -n "$app" route show table 1194)" ] && [ -z "$(ip -n "$app" -6 route show table 1194)" ]
}
no_rules() { ! rules | grep -q "WB-" && ! rules6 | grep -q "WB-" && no_prules; }
# tapped PORT: datagrams to PORT that the appliance routed into the tunnel device.
tapped() {
    ip netns exec "$app" iptables -w -nvxL FORWARD | awk -v p="dpt:$1" '$0 ~ p"$" && /udp/ {print $1; exit}'
}
tapped_ge() { [ "$(tapped "$1")" -ge "$2" ]; }

echo "== namespaces"
for ns in "$lan" "$app" "$rem"; do wb_ns_add "$ns"; done
ip link add lan0 netns "$lan" type veth peer name lan0 netns "$app"
ip link add rem0 netns "$app" type veth peer name rem0 netns "$rem"
ip -n "$lan" addr add 10.98.1.10/24 dev lan0
ip -n "$app" addr add 10.98.1.1/24 dev lan0
ip -n "$app" addr add 10.20.0.1/16 dev rem0
ip -n "$app" addr add 10.30.0.1/16 dev rem0
ip -n "$rem" addr add 10.20.0.5/16 dev rem0
ip -n "$rem" addr add 10.30.0.5/16 dev rem0
for pair in "$lan lan0" "$app lan0" "$app rem0" "$rem rem0"; do set -- $pair; ip -n "$1" link set "$2" up; done
ip -n "$lan" route add default via 10.98.1.1
ip -n "$rem" route add default via 10.20.0.1
ip netns exec "$app" sysctl -q -w net.ipv4.ip_forward=1
# A rule of someone else's that must survive everything the agent does, and a policy rule.
ip netns exec "$app" iptables -t mangle -A PREROUTING -p icmp -j MARK --set-mark 0x7
ip -n "$app" rule add priority 900 fwmark 0x7 lookup main
# Counters of what is routed into the TAP (it exists only while the agent runs; -o takes names).
for port in 5001 5002 5003 5004 5005 5006 5007 5008 5009 5022; do
    ip netns exec "$app" iptables -A FORWARD -o "${tag}t" -p udp --dport "$port"
done

echo "== pki"
(
    cd "$work"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=rtq-ca -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=site \
        -keyout site.key -out site.csr 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyAgreement\n' >site.ext
    openssl x509 -req -in site.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
        -extfile site.ext -out site.crt 2>/dev/null
)

write_config() {  # FAILURE
    cat >"$work/app.yaml" <<EOF
site: $tag
tunnel:
  role: client
  proto: udp
  remote: [127.0.0.1:1194]
  device: ${tag}t
  ca: ca.crt
  cert: site.crt
  key: site.key
fastpath: {enabled: true, reply_mark: 0x32, orig_mark: 0x33, require_module: false}
interest:
  queue: 7
  failure: $1
  rules:
    - {dst: 10.20.0.0/16}
    - {proto: udp, dport: 5022, action: bypass}
control: {socket: $work/app.sock}
log: {level: debug}
EOF
}
start_agent() {
    ip netns exec "$app" "$wb" run -c "$work/app.yaml" >>"$work/app.log" 2>&1 &
    agent=$!
    pids+=("$agent")
    wait_for 20 has_rules && wait_for 10 "$wb" status -c "$work/app.yaml"
}

ip netns exec "$rem" "$python" "$work/rx.py" "$work/rx.txt" &
pids+=($!)

echo "== agent, failure: open"
write_config open
"$wb" check -c "$work/app.yaml"
check "agent starts and installs its chain" start_agent
rules | grep -E "WB-|NFQUEUE" || true
check "one jump from PREROUTING" [ "$(rules | grep -c -- "-A PREROUTING -j WB-$tag")" = 1 ]
check "NFQUEUE rule for the selection, with --queue-bypass (failure: open)" \
    grep -q -- "-A WB-$tag -d 10.20.0.0/16 -m conntrack --ctstate NEW -j NFQUEUE --queue-num 7 --queue-bypass" <(rules)
check "bypass rule (decides bypass in the kernel) before the queue" \
    grep -q -- "-A WB-$tag -p udp -m udp --dport 5022 -j MARK --set-xmark 0x20000/0x30000" <(rules)
check "IPv6 chain too" grep -q -- "-A PREROUTING -j WB-$tag" <(rules6)
check "no GWMARK rule without the module" bash -c "! ip netns exec $app iptables-save -t mangle | grep -q GWMARK"
check "the missing module is said plainly at start-up" grep -q "xt_GWMARK is not loaded.*Still working" "$work/app.log"
prules | grep -E "0x30000|^900" || true
check "policy rule: tunnel decision -> table 1194" grep -q "^1194:.*fwmark 0x10000/0x30000 lookup 1194" <(prules)
check "policy rule: bypass decision -> main without the TAP" \
    grep -q "^1195:.*fwmark 0x20000/0x30000 lookup main suppress_ifgroup 1194" <(prules)
check "policy rule: bypass decision -> unreachable otherwise" grep -q "^1196:.*fwmark 0x20000/0x30000 unreachable" <(prules)
check "IPv6 policy rules too" [ "$(prules -6 | grep -c "0x30000")" = 3 ]
check "table 1194: default dev TAP (IPv4 and IPv6)" bash -c \
    "ip -n $app route show table 1194 | grep -q '^default dev ${tag}t' && ip -n $app -6 route show table 1194 | grep -q '^default dev ${tag}t'"
check "the TAP is in interface group 1194" grep -q "group 1194" <(ip -n "$app" link show "${tag}t")
table_routes() { ip -n "$app" route show table 1194; ip -n "$app" -6 route show table 1194; }
table_has_both() { [ "$(table_routes | grep -c "^default dev ${tag}t")" = 2 ]; }

echo "== the TAP goes down and up again (an admin): table 1194's route comes back"
ip -n "$app" link set "${tag}t" down
check "TAP down: the kernel flushed table 1194's routes with it" [ -z "$(table_routes)" ]
ip -n "$app" link set "${tag}t" up
check "TAP up: the agent re-added both (IPv4, IPv6) within 5 s" wait_for 5 table_has_both
check "routes_restored counts them" [ "$(status_num routes_restored)" = 2 ]
check "and the log says so" grep -q "${tag}t is up again: table 1194's default route re-added" "$work/app.log"

echo "== a selected flow: first packet queued, the rest stay in the kernel"
send 41000 5001 5 tunnel
check "all 5 datagrams of the flow are routed into the tunnel device" wait_for 5 tapped_ge 5001 5
check "and none took the main table's route to the server" [ "$(received tunnel)" = 0 ]
check "exactly one packet was queued" [ "$(status_num queued)" = 1 ]
check "decided: tunnel" [ "$(status_num decided_tunnel)" = 1 ]
ct=$(ip netns exec "$app" conntrack -L -p udp --dport 5001 2>/dev/null)
echo "$ct"
check "the connection carries the tunnel decision (mark 0x10000)" grep -q "mark=65536" <<<"$ct"
check "conntrack NEW event counted as a tunnel flow" wait_for 3 num_ge new_tunnel 1

echo "== a second flow, then bypass traffic"
send 41001 5002 3 second
check "a second flow goes into the tunnel device" wait_for 5 tapped_ge 5002 3
check "and was queued once" [ "$(status_num queued)" = 2 ]
send 41002 5022 4 bypass
check "bypass traffic passes, by the main table" wait_for 5 got_at_least bypass 4
check "bypass traffic never reached the queue" [ "$(status_num queued)" = 2 ]
check "and never entered the tunnel device" [ "$(tapped 5022)" = 0 ]
check "the bypass rule decided it in the kernel (mark 0x20000)" \
    grep -q "mark=131072" <(ip netns exec "$app" conntrack -L -p udp --dport 5022 2>/dev/null)

echo "== a flow no rule selects yet (10.30.0.0/16): undecided, routed by the main table"
DST=10.30.0.5 send 41010 5009 3 late
check "an unselected flow passes by the main table" wait_for 5 got_at_least late 3
check "it was not queued" [ "$(status_num queued)" = 2 ]
check "and carries no decision" grep -q "mark=0 " <(ip netns exec "$app" conntrack -L -d 10.30.0.5 -p udp --dport 5009 2>/dev/null)

echo "== SIGHUP: the new rules replace the old at once; flows whose decision changed are re-decided"
sed -i 's/^    - {proto: udp, dport: 5022, action: bypass}$/&\n    - {proto: udp, dport: 5001, action: bypass}\n    - {dst: 10.30.0.0\/16}/' "$work/app.yaml"
kill -HUP "$agent"
check "reload counted" wait_for 5 num_ge reloads 1
check "the new bypass rule is in" grep -q -- "--dport 5001 -j MARK --set-xmark 0x20000/0x30000" <(rules)
check "still one jump after the reload" [ "$(rules | grep -c -- "-A PREROUTING -j WB-$tag")" = 1 ]
ct1=$(ip netns exec "$app" conntrack -L -p udp --dport 5001 2>/dev/null)
ct2=$(ip netns exec "$app" conntrack -L -p udp --dport 5002 2>/dev/null)
echo "$ct1"
check "the flow to 5001 is re-decided: bypass (mark 0x20000)" grep -q "mark=131072" <<<"$ct1"
check "the flow to 5002 keeps its decision (tunnel)" grep -q "mark=65536" <<<"$ct2"
check "remarked counts exactly that one" [ "$(status_num remarked)" = 1 ]
send 41000 5001 3 redecided
check "the re-decided flow's next datagrams leave the tunnel at once (main table)" wait_for 5 got_at_least redecided 3
check "late selection: the running flow to 10.30.0.5 now carries the tunnel decision" \
    grep -q "mark=65536" <(ip netns exec "$app" conntrack -L -d 10.30.0.5 -p udp --dport 5009 2>/dev/null)
check "late_selected counts it" [ "$(status_num late_selected)" = 1 ]
DST=10.30.0.5 send 41010 5009 3 latetunnel
check "its next datagrams go into the tunnel device" wait_for 5 tapped_ge 5009 3
check "and no longer reach the server by the main table" [ "$(received latetunnel)" = 0 ]
check "without being queued" [ "$(status_num queued)" = 2 ]

echo "== SIGSTOP: a new flow waits in the queue, nothing is lost"
kill -STOP "$agent"
send 41003 5003 1 stopped
sleep 0.5
check "while stopped, the new flow's packet is held" [ "$(received stopped)" = 0 ]
kill -CONT "$agent"
check "after SIGCONT it gets its verdict and goes into the tunnel device" wait_for 5 tapped_ge 5003 1

echo "== SIGTERM removes exactly what the agent installed"
kill -TERM "$agent"
rc=0; wait "$agent" || rc=$?
check "clean exit" [ "$rc" = 0 ]
check "no WB- chain or jump left (IPv4 and IPv6)" no_rules
check "the foreign rule is still there" grep -q -- "--set-xmark 0x7" <(rules)
check "removal logged" grep -q "routeless: chain WB-$tag removed" "$work/app.log"
check "the policy rules are gone, the foreign one kept" bash -c "ip -n $app rule show | grep -q '^900:.*fwmark 0x7 lookup main'"
check "policy rule removal logged" grep -q "routeless: policy rules at priority 1194 removed" "$work/app.log"

echo "== SIGKILL with failure: open: the kernel passes new flows itself"
start_agent || bad "restart"
kill -KILL "$agent"; wait "$agent" 2>/dev/null || true
check "the killed agent's rules are still in (nobody removed them)" has_rules
check "and its policy rules" grep -q "fwmark 0x10000/0x30000 lookup 1194" <(prules)
send 41004 5004 3 killedopen
check "with --queue-bypass new flows pass while no agent listens" wait_for 5 got_at_least killedopen 3

echo "== restart after SIGKILL: stale rules replaced, then removed"
start_agent || bad "restart after SIGKILL"
check "stale chains replaced and said so" grep -q "chains WB-$tag of an earlier run (not cleaned up) were replaced" "$work/app.log"
check "stale policy rules replaced and said so" grep -q "policy rules at priority 1194 of an earlier run" "$work/app.log"
check "one set of policy rules" [ "$(prules | grep -c "0x30000")" = 3 ]
check "still one jump" [ "$(rules | grep -c -- "-A PREROUTING -j WB-$tag")" = 1 ]
send 41005 5005 2 restarted
check "flows go into the tunnel after the restart" wait_for 5 tapped_ge 5005 2
check "and were queued by the new agent" [ "$(status_num queued)" -ge 1 ]
kill -TERM "$agent"; wait "$agent" || true
check "gone after SIGTERM" no_rules

echo "== failure: closed: no --queue-bypass; with the agent killed, new flows are dropped"
write_config closed
start_agent || bad "start (closed)"
check "NFQUEUE without --queue-bypass" grep -q -- "-j NFQUEUE --queue-num 7$" <(rules)
send 41006 5006 2 closedlive
check "with the agent running, flows pass (into the tunnel device)" wait_for 5 tapped_ge 5006 2
kill -KILL "$agent"; wait "$agent" 2>/dev/null || true
send 41007 5007 3 closeddead
sleep 1
check "with the agent killed, new flows are dropped" [ "$(received closeddead)" = 0 ]
check "(not routed anywhere)" [ "$(tapped 5007)" = 0 ]
send 41006 5006 2 closedknown
# Its TAP went with the agent, and with it table 1194's route: the tunnel rule finds nothing
# and the flow falls through to the main table (it is not queued nor dropped).
check "an already decided flow goes on without the agent" wait_for 5 got_at_least closedknown 2
start_agent || bad "restart (closed)"
kill -TERM "$agent"; wait "$agent" || true
check "removed after SIGTERM" no_rules

echo "== fanout: queues: 2 (queues 7 and 8, balanced by the kernel, both served by the agent)"
write_config open
sed -i 's/^  queue: 7$/&\n  queues: 2/' "$work/app.yaml"
start_agent || bad "start (fanout)"
check "NFQUEUE rule balances over 7:8" grep -q -- "-j NFQUEUE --queue-balance 7:8 --queue-bypass --queue-cpu-fanout" <(rules)
bound() { ip netns exec "$app" awk '$1 == 7 || $1 == 8' /proc/net/netfilter/nfnetlink_queue | wc -l; }
check "both queues bound" [ "$(bound)" = 2 ]
for sport in 41020 41021 41022 41023; do send "$sport" 5008 2 fan; done
check "the four flows go into the tunnel device" wait_for 5 tapped_ge 5008 8
check "one packet per flow queued, summed over the queues" [ "$(status_num queued)" = 4 ]
check "all decided tunnel" [ "$(status_num decided_tunnel)" = 4 ]
kill -TERM "$agent"; wait "$agent" || true
check "removed after SIGTERM (fanout)" no_rules
check "both queues unbound" [ "$(bound)" = 0 ]

echo
if [ "$failures" -ne 0 ]; then
    echo "routeless_queue: $failures check(s) failed; agent log:"
    tail -n 40 "$work/app.log"
    exit 1
fi
echo "routeless_queue: all checks passed"
