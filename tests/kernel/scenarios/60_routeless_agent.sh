#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 60_routeless_agent.sh - the whole appliance run by the agent: wirebridge installs its own
# rules (NFQUEUE, CONNMARK, GWMARK) with xt_GWMARK loaded; a LAN host reaches a server behind
# the remote site through a real tunnel (two wirebridge agents), the replies come back through
# the fast path; the decision routes: a bypass-selected flow to a destination behind the
# tunnel never enters it (refused at the appliance), a bypass flow elsewhere takes the ordinary
# route; an agent restart under traffic leaves nothing in the queue.
#
#   wbk-lan                wbk-app (appliance)                    wbk-hub (remote site)       wbk-rem
#   192.0.2.10/24          bridge wbkbr0 [wbkp0], 192.0.2.2/32,   wirebridge server, bridge   10.20.0.5/16
#   default via 192.0.2.2  NO route to the LAN; wirebridge client  wbkhbr [wbkhr0, wbkhtap]   192.0.2.0/24
#   wbkl0 ================ wbkp0   TAP wbktap 10.20.0.2/16         10.20.0.1/16                via 10.20.0.2
#                                  wbku0 172.31.9.2 ====UDP 1194==== wbkh0 172.31.9.1   wbkhr0 ==== wbkr0
#
# The appliance's only addresses are its one LAN address and the tunnel's; replies to
# 192.0.2.10 that come out of the tunnel can reach the LAN host only through GWMARK.
. "$(dirname "$0")/../lib.sh"
need_gwmark

build=${XTABLES_LIBDIR%%/iptables-ext:*}
WB=$build/agent/app/wirebridge
if [ ! -x "$WB" ]; then
	fail "$SCENARIO" "no wirebridge binary at $WB (build the wirebridge target in the --build dir)"
	exit 0
fi
modprobe -a xt_NFQUEUE nfnetlink_queue xt_physdev 2>/dev/null
W=/tmp/wbk60
mkdir -p "$W"
AGENTS=()
stop_agents() {
	local p
	for p in "${AGENTS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${AGENTS[@]}"; do wait "$p" 2>/dev/null; done
	AGENTS=()
}
trap 'stop_agents; wbk_cleanup' EXIT

LAN_MAC=02:00:00:00:0a:10
BR_MAC=02:00:00:00:0a:02
# ping_ok NS DST [COUNT]: COUNT (default 3) echo replies within a bound.
ping_ok() { nse "$1" ping -n -q -c "${3:-3}" -i 0.2 -W 2 -w 10 "$2" >/dev/null 2>&1; }

# ---------------------------------------------------------------- PKI
(
	cd "$W" || exit 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=wbk-ca -keyout ca.key -out ca.crt 2>/dev/null
	for who in hub:serverAuth site:clientAuth; do
		n=${who%%:*} eku=${who##*:}
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$n" \
			-keyout "$n.key" -out "$n.csr" 2>/dev/null
		printf 'extendedKeyUsage=%s\nkeyUsage=digitalSignature,keyAgreement\n' "$eku" >"$n.ext"
		openssl x509 -req -in "$n.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
			-extfile "$n.ext" -out "$n.crt" 2>/dev/null
	done
) || { fail pki "openssl failed"; exit 0; }

# ---------------------------------------------------------------- namespaces
for ns in wbk-lan wbk-app wbk-hub wbk-rem; do
	netns_add "$ns"
	nse "$ns" sysctl -q -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 >/dev/null
done
ip -n wbk-lan link add wbkl0 address "$LAN_MAC" type veth peer name wbkp0 netns wbk-app
ip -n wbk-app link add wbku0 type veth peer name wbkh0 netns wbk-hub
ip -n wbk-hub link add wbkhr0 type veth peer name wbkr0 netns wbk-rem

ip -n wbk-app link add wbkbr0 address "$BR_MAC" type bridge
ip -n wbk-app link set wbkp0 master wbkbr0
nse wbk-app sysctl -q -w net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 >/dev/null
ip -n wbk-app addr add 192.0.2.2/32 dev wbkbr0
ip -n wbk-app addr add 172.31.9.2/30 dev wbku0
for d in wbkp0 wbkbr0 wbku0; do ip -n wbk-app link set "$d" up; done

ip -n wbk-lan addr add 192.0.2.10/24 dev wbkl0
ip -n wbk-lan link set wbkl0 up
ip -n wbk-lan route add default via 192.0.2.2
ip -n wbk-lan neigh replace 192.0.2.2 lladdr "$BR_MAC" dev wbkl0 nud permanent

ip -n wbk-hub addr add 172.31.9.1/30 dev wbkh0
ip -n wbk-hub link set wbkh0 up
ip -n wbk-hub link set wbkhr0 up
ip -n wbk-rem addr add 10.20.0.5/16 dev wbkr0
ip -n wbk-rem link set wbkr0 up
ip -n wbk-rem route add 192.0.2.0/24 via 10.20.0.2

cat >"$W/hub.yaml" <<EOF
site: wbk-hub
bridge: {name: wbkhbr, ports: [wbkhr0], address: 10.20.0.1/16}
tunnel:
  role: server
  proto: udp
  local: 172.31.9.1:1194
  device: wbkhtap
  pool: 10.200.0.0/24
  join_bridge: true
  ca: ca.crt
  cert: hub.crt
  key: hub.key
  keepalive: {interval: 2, timeout: 20}
control: {socket: $W/hub.sock}
log: {level: info}
EOF
cat >"$W/app.yaml" <<EOF
site: wbk-app
tunnel:
  role: client
  proto: udp
  remote: [172.31.9.1:1194]
  device: wbktap
  address: 10.20.0.2/16
  ca: ca.crt
  cert: site.crt
  key: site.key
  keepalive: {interval: 2, timeout: 20}
fastpath: {enabled: true, reply_mark: 0x32, orig_mark: 0x33}
interest:
  queue: 0
  failure: open
  rules:
    - {dst: 10.20.0.0/16}
    - {proto: udp, dport: 5022, action: bypass}
control: {socket: $W/app.sock}
log: {level: info}
EOF

# Started with ip netns exec itself (not through nse, a function), so $! is the agent.
start_app() {
	ip netns exec wbk-app "$WB" run -c "$W/app.yaml" >>"$W/app.log" 2>&1 &
	APP_PID=$!
	AGENTS+=("$APP_PID")
}
flows_num() {
	"$WB" status --json -c "$W/app.yaml" 2>/dev/null |
		sed -n "s/.*\"flows\":{[^}]*\"$1\":\\([0-9]*\\).*/\\1/p"
}
queue_total() {  # packets waiting in NFQUEUE 0 of the appliance
	nse wbk-app awk '$1 == 0 {print $3}' /proc/net/netfilter/nfnetlink_queue 2>/dev/null
}

ip netns exec wbk-hub "$WB" run -c "$W/hub.yaml" >"$W/hub.log" 2>&1 &
AGENTS+=($!)
start_app

check agent-rules wait_until 60 sh -c "ip netns exec wbk-app iptables-save -t mangle | grep -q -- '-A PREROUTING -j WB-wbk-app'"
saved=$(nse wbk-app iptables-save -t mangle)
check_eq agent-gwmark-rule 1 "$(printf '%s\n' "$saved" | grep -c -- '-A WB-wbk-app -i wbktap -j GWMARK --reply-mark 0x32/0xfffcffff')"
check_eq agent-nfqueue-rule 1 "$(printf '%s\n' "$saved" | grep -c -- '-d 10.20.0.0/16 -m conntrack --ctstate NEW -j NFQUEUE --queue-num 0 --queue-bypass')"
check_eq agent-orig-rule 1 "$(printf '%s\n' "$saved" | grep -c -- '-A WB-wbk-app-OUT -m connmark ! --mark 0x0/0x30000 -j GWMARK --orig-mark 0x33/0xfffcffff')"
check_fails appliance-no-route-to-lan nse wbk-app ip route get 192.0.2.10
prules=$(nse wbk-app ip rule show)
check agent-policy-rule-tunnel grep -q '^1194:.*fwmark 0x10000/0x30000 lookup 1194' <<<"$prules"
check agent-policy-rule-bypass grep -q '^1195:.*fwmark 0x20000/0x30000 lookup main suppress_ifgroup 1194' <<<"$prules"
check agent-policy-rule-refuse grep -q '^1196:.*fwmark 0x20000/0x30000 unreachable' <<<"$prules"
check agent-table-default-dev-tap sh -c "ip netns exec wbk-app ip route show table 1194 | grep -q '^default dev wbktap'"
# Counters for the bypass checks: what the appliance routes into the TAP, what reaches the
# remote server and the hub's own WAN address, datagrams to port 5022.
nse wbk-app iptables -A FORWARD -o wbktap -p udp --dport 5022
nse wbk-rem iptables -A INPUT -p udp --dport 5022
nse wbk-hub iptables -A INPUT -i wbkh0 -p udp --dport 5022
ipt_count() {  # NS CHAIN: packets of the chain's first rule
	nse "$1" iptables -w -nvxL "$2" | awk 'NR == 3 {print $1}'
}
no_routes() {  # the appliance's IpExt InNoRoutes (forwarded packets without a route)
	nse wbk-app awk '/^IpExt:/ {if (!h) {for (i = 1; i <= NF; i++) if ($i == "InNoRoutes") c = i; h = 1} else print $c}' \
		/proc/net/netstat
}
# logs_on_fail NAME: the agents' last log lines as comments, for failure analysis.
logs_on_fail() {
	tail -n 8 "$W/hub.log" | sed "s/^/# $1 hub: /"
	tail -n 8 "$W/app.log" | sed "s/^/# $1 app: /"
}
check tunnel-up wait_until 90 nse wbk-rem ping -c1 -W1 10.20.0.2 || logs_on_fail tunnel-up

before=$(gw_stat wbk-app reply_xmit)
q0=$(flows_num queued)
check lan-reaches-remote-server ping_ok wbk-lan 10.20.0.5 5
after=$(gw_stat wbk-app reply_xmit)
check_gt replies-via-fast-path "${after:-0}" "$((${before:-0} + 4))"
# Which TAP I/O path the agent runs, as its log says once at info level: writes go through
# io_uring batches on both kernels; reads do only where a TAP takes RWF_NOWAIT reads (Linux 6.4+),
# else they fall back to read() at the first batch. The frames read so far decided it.
kv=$(uname -r)
kmaj=${kv%%.*} kmin=${kv#*.}
kmin=${kmin%%[!0-9]*}
if [ "$kmaj" -gt 6 ] || { [ "$kmaj" -eq 6 ] && [ "$kmin" -ge 4 ]; }; then
	want_reads="reads: io_uring batches of up to 16 RWF_NOWAIT reads a call"
else
	want_reads="reads: read(), one call a frame: this kernel's TAP refuses RWF_NOWAIT reads through io_uring ("
fi
# The data path's worker reads the TAP (over UDP the one worker runs on the main loop): its lines
# say "worker 0: TAP wbktap queue 0 reads: ...".
tap_read_lines() { grep -E 'info (worker [0-9]+: )?TAP wbktap (queue [0-9]+ )?reads: ' "$W/app.log"; }
tap_read_path_logged() { tap_read_lines | grep -qF -- "$want_reads"; }
check tap-read-path-logged tap_read_path_logged || grep -F 'TAP wbktap' "$W/app.log" | sed 's/^/# app: /'
check_eq tap-read-path-logged-once 1 "$(tap_read_lines | wc -l)"
check tap-write-path-logged grep -qF -- "info TAP wbktap writes: io_uring batches of up to 80 writes a call" "$W/app.log"
# What the writer merges: UDP runs only where tun builds UDP GSO skbs from a write (Linux 6.2+,
# found by probing TUNSETOFFLOAD with TUN_F_USO4|TUN_F_USO6), TCP runs on both.
if [ "$kmaj" -gt 6 ] || { [ "$kmaj" -eq 6 ] && [ "$kmin" -ge 2 ]; }; then
	want_merge="; runs of TCP segments and of UDP datagrams merged"
else
	want_merge="; runs of TCP segments merged (UDP datagrams not: this kernel takes no UDP GSO write, Linux 6.2 does)"
fi
check tap-write-merging-logged grep -qF -- "$want_merge" "$W/app.log"
# One ping run is one flow: its first packet was queued, the other four stayed in the kernel.
check_eq one-packet-queued-per-flow "$((q0 + 1))" "$(flows_num queued)"
check_gt flow-decided-tunnel "$(flows_num decided_tunnel)" 0
check lan-flow-cached sh -c "ip netns exec wbk-app grep -v '^#' /proc/net/gwmark/flows | grep -q '192.0.2.10'"
q2=$(flows_num queued)
echo x | nse wbk-lan nc -u -w1 -p 41022 10.20.0.5 5022 >/dev/null 2>&1
echo x | nse wbk-lan nc -u -w1 -p 41023 10.20.0.5 5023 >/dev/null 2>&1
check_eq selected-udp-flow-queued "$((q2 + 1))" "$(flows_num queued)"
# The bypass flow above (to 10.20.0.5, behind the tunnel): decided bypass in the kernel, so
# it was never queued, never routed into the TAP, never seen at the remote site; the decision
# refused it at the appliance (no route outside the tunnel: InNoRoutes). Its packet died
# before conntrack confirmed the entry, so there is no entry to show.
check_eq bypass-flow-not-into-tap 0 "$(ipt_count wbk-app FORWARD)"
check_eq bypass-flow-not-at-remote 0 "$(ipt_count wbk-rem INPUT)"
nr0=$(no_routes)
echo x | nse wbk-lan nc -u -w1 -p 41024 10.20.0.5 5022 >/dev/null 2>&1
check_gt bypass-flow-refused-at-appliance "$(no_routes)" "$nr0"
check_eq bypass-flow-still-not-into-tap 0 "$(ipt_count wbk-app FORWARD)"
check_eq bypass-never-queued "$((q2 + 1))" "$(flows_num queued)"
# A bypass flow to a destination outside the tunnel (the hub's WAN address, the appliance's
# connected uplink) takes the ordinary route.
echo x | nse wbk-lan nc -u -w1 -p 41025 172.31.9.1 5022 >/dev/null 2>&1
check_gt bypass-elsewhere-takes-the-uplink "$(ipt_count wbk-hub INPUT)" 0
check bypass-flow-decided-in-kernel sh -c "ip netns exec wbk-app conntrack -L -d 172.31.9.1 -p udp --dport 5022 2>/dev/null | grep -q 'mark=131072'"
check_eq bypass-elsewhere-not-into-tap 0 "$(ipt_count wbk-app FORWARD)"
gw_dump wbk-app

# Restart under traffic: a ping runs across the restart; nothing may stay queued.
nse wbk-lan ping -n -i 0.2 -c 150 -W 1 10.20.0.5 >"$W/ping.out" 2>&1 &
PING=$!
sleep 2
kill -TERM "$APP_PID"
wait "$APP_PID" 2>/dev/null
check_eq restart-rules-removed 0 "$(nse wbk-app iptables-save -t mangle | grep -c 'WB-wbk-app')" || logs_on_fail restart
# The restarted agent drops to nobody after set-up; /proc/net/gwmark/flows is root-only, so
# `wirebridge flows` works only through the descriptor it opened before the drop.
echo "user: nobody" >>"$W/app.yaml"
start_app
check restart-rules-back wait_until 60 sh -c "ip netns exec wbk-app iptables-save -t mangle | grep -q -- '-A PREROUTING -j WB-wbk-app'"
check restart-tunnel-up wait_until 90 nse wbk-rem ping -c1 -W1 10.20.0.2
check restart-lan-reaches-server wait_until 30 ping_ok wbk-lan 10.20.0.5 1
wait "$PING"
check_eq restart-nothing-stuck-in-queue 0 "$(queue_total)"
check_eq restart-agent-runs-as-nobody "$(id -u nobody)" "$(awk '$1 == "Uid:" {print $2}' /proc/$APP_PID/status)"
check_fails flows-file-root-only nse wbk-app setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" \
	--clear-groups cat /proc/net/gwmark/flows
check flows-after-privilege-drop sh -c "'$WB' flows -c '$W/app.yaml' | grep -q '^ipv4 icmp 192.0.2.10 '" ||
	"$WB" flows -c "$W/app.yaml" 2>&1 | head -n 3 | sed 's/^/# flows: /'

check_gt restart-ping-got-replies "$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$W/ping.out")" 0
"$WB" status -c "$W/app.yaml" | sed 's/^/# /'
stop_agents
check_eq stop-rules-removed 0 "$(nse wbk-app iptables-save -t mangle | grep -c 'WB-')"
check_eq stop-policy-rules-removed 0 "$( (nse wbk-app ip rule show; nse wbk-app ip -6 rule show) | grep -c '0x30000')"
grep -E 'routeless|fastpath|error' "$W/app.log" | head -n 12 | sed 's/^/# app: /'
