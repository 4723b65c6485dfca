# shellcheck shell=bash
# Shared helpers of the netns tests: run tag and scratch folder, namespaces and wiring, PKI,
# appliance configs, agents, bounded waits, counting captures, status queries, leftover audit.
#
# The building blocks every test wires together (each test draws its own full topology):
#
#   LAN host ns $T-hN        appliance ns $T-N (hub, s1, s2, ...)          underlay ns $T-wan
#  +-------------+  veth  +---------------------------------------+ veth +------------------+
#  | ${T}e       |--------| ${T}l ─┐ bridge ${T}b (made by the agent) |------| ${T}pI ─ ${T}u   |
#  | 10.77.0.x/24|        |        └ ${T}t TAP ─ wirebridge   ${T}w|      | (plain bridge)   |
#  +-------------+        |          172.31.77.I/24 on ${T}w         |      +------------------+
#                         +---------------------------------------+
#
# Everything a test makes carries the tag T (namespaces $T-*, interfaces ${T}*, files under
# $WORK); the exit trap stops only the agents it started (by pid) and deletes only its own
# namespaces. Needs root. WB_WIREBRIDGE names the binary under test (ctest sets it).

set -euo pipefail
# shellcheck source=../lib/base.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/base.sh"

: "${WB_WIREBRIDGE:?set WB_WIREBRIDGE to the wirebridge binary (ctest -L netns does)}"
WB=$WB_WIREBRIDGE
WBN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEST=${TEST:-$(basename "$0" .sh)}
T=${WBN_TAG:-wn$(($$ % 100000))}
WORK=$(mktemp -d "/tmp/$T.XXXX")
LAN=10.77.0          # the one LAN subnet every host and appliance is on (/24)
WAN=172.31.77        # the underlay (/24); appliance I is $WAN.I, the hub is $WAN.1
HUB_WAN=$WAN.1
PORT=1194
declare -A PID=()    # agent name -> pid of its wirebridge
declare -A CAP=()    # capture id -> pid
FAILED=0

WB_TEST=$TEST
log() { say "$@" 2>&1; }  # on stdout, with the test's output
# Logs of every agent, for a failure's context.
dump_logs() {
    local f
    for f in "$WORK"/*.log; do
        [ -f "$f" ] || continue
        echo "---- last lines of $(basename "$f")"
        tail -n 25 "$f"
    done
}
die() {
    log "FAIL: $*"
    dump_logs
    exit 1
}
# check DESCRIPTION CMD...: a check that does not stop the test; wbn_finish fails if any failed.
check() {
    local what=$1
    shift
    if "$@"; then
        log "ok: $what"
    else
        log "FAIL: $what"
        FAILED=$((FAILED + 1))
    fi
}
# require DESCRIPTION CMD...: a check the rest of the test depends on.
require() {
    local what=$1
    shift
    "$@" || die "$what"
    log "ok: $what"
}
wbn_finish() {
    if [ "$FAILED" -ne 0 ]; then
        log "$FAILED check(s) failed"
        dump_logs
        exit 1
    fi
    log "PASS"
}

# wait_for SECONDS CMD...: polls CMD until it succeeds; fails when time runs out (base.sh).
wait_for() { wb_wait "$@"; }
# wait_pid PID SECONDS: waits for one of our children to exit; its status, or 124 on timeout.
wait_pid() { wb_wait_pid "$@"; }

cleanup() {
    set +e
    local name pid
    for name in "${!CAP[@]}"; do kill -TERM "${CAP[$name]}" 2>/dev/null; done
    for name in "${!PID[@]}"; do kill -TERM "${PID[$name]}" 2>/dev/null; done
    for name in "${!PID[@]}"; do
        pid=${PID[$name]}
        wait_pid "$pid" 5 >/dev/null 2>&1
        kill -KILL "$pid" 2>/dev/null
    done
    # Anything else still running in our own namespaces (a ping, a capture) goes with them.
    wb_ns_del_all
    if [ -n "${WBN_KEEP:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- namespaces and wiring ------------------------------------------------------------------------
on() {
    local n=$1
    shift
    ip netns exec "$T-$n" "$@"
}
wbn_ns() { wb_ns_add "$T-$1"; }
# The underlay: one plain bridge every appliance's ${T}w is wired to.
wbn_underlay() {
    wbn_ns wan
    ip -n "$T-wan" link add "${T}u" type bridge
    ip -n "$T-wan" link set "${T}u" up
}
# wbn_wan APPLIANCE INDEX: APPLIANCE's ${T}w on the underlay as $WAN.INDEX/24.
wbn_wan() {
    ip link add "${T}w" netns "$T-$1" type veth peer name "${T}p$2" netns "$T-wan"
    ip -n "$T-wan" link set "${T}p$2" master "${T}u" up
    ip -n "$T-$1" addr add "$WAN.$2/24" dev "${T}w"
    # Room for a full frame plus tunnel overhead without fragmenting on the underlay.
    ip -n "$T-$1" link set "${T}w" mtu 1600 up
    ip -n "$T-wan" link set "${T}p$2" mtu 1600
}
# wbn_host HOST APPLIANCE IP [PORT]: LAN host ns HOST whose ${T}e (IP/24) is cabled to APPLIANCE's
# PORT (default ${T}l), a port the appliance's config lists in bridge.ports (left down: the agent
# brings it up).
wbn_host() {
    local port=${4:-${T}l}
    wbn_ns "$1"
    ip link add "${T}e" netns "$T-$1" type veth peer name "$port" netns "$T-$2"
    ip -n "$T-$1" addr add "$3/24" dev "${T}e"
    ip -n "$T-$1" link set "${T}e" up
}
mac_of() { ip -n "$T-$1" -j link show "$2" | jq -r '.[0].address'; }

# wbn_inline_wire: the inline topology of tests/netns/inline_intercept.sh and
# tests/kernel/inline_systemd.sh (drawn in both): LAN host h (${T}e 192.0.2.10/24, default via the
# router) cabled to the box's ${T}l; the box's ${T}w to router r (${T}r0 192.0.2.1/24, ${T}r1
# 203.0.113.1/24, forwarding); ns up on ${T}u0 with $UNSEL/24 and $SEL/24 (default via the router).
# The box's two ports are left down and unaddressed: the agent's bridge takes them.
wbn_inline_wire() {
    local n pair
    for n in h box r up; do wbn_ns "$n"; done
    ip link add "${T}e" netns "$T-h" type veth peer name "${T}l" netns "$T-box"
    ip link add "${T}w" netns "$T-box" type veth peer name "${T}r0" netns "$T-r"
    ip link add "${T}r1" netns "$T-r" type veth peer name "${T}u0" netns "$T-up"
    ip -n "$T-h" addr add 192.0.2.10/24 dev "${T}e"
    ip -n "$T-r" addr add 192.0.2.1/24 dev "${T}r0"
    ip -n "$T-r" addr add 203.0.113.1/24 dev "${T}r1"
    ip -n "$T-up" addr add "$UNSEL/24" dev "${T}u0"
    ip -n "$T-up" addr add "$SEL/24" dev "${T}u0"
    for pair in "h ${T}e" "r ${T}r0" "r ${T}r1" "up ${T}u0"; do
        set -- $pair
        ip -n "$T-$1" link set "$2" up
    done
    ip -n "$T-h" route add default via 192.0.2.1
    ip -n "$T-up" route add default via 203.0.113.1
    on r sysctl -q -w net.ipv4.ip_forward=1
}
# wbn_inline_box_yaml FILE DIR SOCKET FAILURE [RULE]: the box's config for wbn_inline_wire: the
# bridge ${T}b over ${T}l and ${T}w with 192.0.2.2/24; a client with no server (127.0.0.1:1194:
# tunnel flows are routed towards its TAP ${T}t, a port of the bridge, and stop there) whose PKI
# is in DIR (ca.crt, box.crt, box.key); control socket SOCKET; interest on queue 3 with failure
# FAILURE selecting dst $SEL/32 and RULE (one more rule, a flow mapping); the fast path too with
# WB_INLINE_FASTPATH=1 (xt_GWMARK loaded, the VM).
wbn_inline_box_yaml() {
    cat >"$1" <<EOF
site: box
bridge: {name: ${T}b, ports: [${T}l, ${T}w], address: 192.0.2.2/24}
tunnel:
  role: client
  proto: udp
  remote: [127.0.0.1:1194]
  device: ${T}t
  join_bridge: true
  ca: $2/ca.crt
  cert: $2/box.crt
  key: $2/box.key
interest:
  queue: 3
  failure: $4
  rules:
    - {dst: $SEL/32}
${5:+    - $5}
control: {socket: $3}
log: {level: debug}
$([ "${WB_INLINE_FASTPATH:-0}" = 1 ] && echo "fastpath: {enabled: true, reply_mark: 0x32, orig_mark: 0x33}")
EOF
}
# wbn_inline_bridge SITE: the head of an inline box's config whose uplink is the LAN's router
# (bridge.gateway $GW): site SITE, the bridge ${T}b over ${T}l and ${T}w with 192.0.2.2/24.
wbn_inline_bridge() {
    cat <<EOF
site: $1
bridge:
  name: ${T}b
  ports: [${T}l, ${T}w]
  address: 192.0.2.2/24
  gateway: $GW
EOF
}
# inline_send PORT COUNT: COUNT datagrams of one flow from the LAN host h to $SEL:PORT, 20 ms apart.
inline_send() {
    on h python3 - "$SEL" "$1" "$2" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[3])):
    s.sendto(b"x%d" % i, (sys.argv[1], int(sys.argv[2])))
    time.sleep(0.02)
EOF
}

# --- PKI -------------------------------------------------------------------------------------------
# wbn_pki NAME...: a CA, a serverAuth certificate for "hub", a clientAuth certificate for every
# other NAME (its CN is NAME), and a tls-crypt key, all in $WORK.
wbn_pki() {
    local name eku
    (
        cd "$WORK"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
            -subj "/CN=$T test CA" -keyout ca.key -out ca.crt \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        for name in hub "$@"; do
            eku=clientAuth
            [ "$name" = hub ] && eku=serverAuth
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$name" \
                -keyout "$name.key" -out "$name.csr" 2>/dev/null
            printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=%s\n' \
                "$eku" >"$name.ext"
            openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
                -extfile "$name.ext" -out "$name.crt" 2>/dev/null
        done
    ) || die "cannot make the test PKI"
    "$WB" genkey tls-crypt "$WORK/tc.key" 2>/dev/null || die "wirebridge genkey tls-crypt failed"
}

# --- configs ---------------------------------------------------------------------------------------
# wbn_tunnel_creds NAME [INTERVAL TIMEOUT]: the tunnel lines every config of these tests shares: the
# CA, certificate and key of NAME that wbn_pki made, its tls-crypt key, and keepalive (INTERVAL s,
# default 2; TIMEOUT s, default 20). For a tunnel section's heredoc: $(wbn_tunnel_creds NAME).
wbn_tunnel_creds() {
    cat <<EOF
  ca: $WORK/ca.crt
  cert: $WORK/$1.crt
  key: $WORK/$1.key
  tls_crypt: $WORK/tc.key
  keepalive: {interval: ${2:-2}, timeout: ${3:-20}}
EOF
}
# wbn_hub_yaml CLIENT_TO_CLIENT [EXTRA_TUNNEL_LINES]: $WORK/hub.yaml, bridge ${T}b over ${T}l with
# $LAN.250, listening on $HUB_WAN. EXTRA lines are added to the tunnel section (indented by 2).
wbn_hub_yaml() {
    cat >"$WORK/hub.yaml" <<EOF
site: hub
bridge: {name: ${T}b, ports: [${T}l], address: $LAN.250/24, remove_on_stop: true}
tunnel:
  role: server
  proto: ${PROTO:-udp}
  local: $HUB_WAN:$PORT
  device: ${T}t
  pool: 10.200.77.0/24
  join_bridge: true
  data_ciphers: [AES-256-GCM, CHACHA20-POLY1305]
$(wbn_tunnel_creds "hub" "${KEEPALIVE_INTERVAL:-2}" "${KEEPALIVE_TIMEOUT:-10}")
  client_to_client: $1
${2:-}
control: {socket: $WORK/hub.sock}
log: {level: ${LOG_LEVEL:-info}}
EOF
}
# wbn_site_yaml NAME INDEX [PORTS]: $WORK/NAME.yaml for a site (client, certificate NAME) whose
# bridge ${T}b has $LAN.(200+INDEX) and PORTS (default [${T}l]).
wbn_site_yaml() {
    cat >"$WORK/$1.yaml" <<EOF
site: $1
bridge: {name: ${T}b, ports: ${3:-[${T}l]}, address: $LAN.$((200 + $2))/24, remove_on_stop: true}
tunnel:
  role: client
  proto: ${PROTO:-udp}
  remote: [$HUB_WAN:$PORT]
  device: ${T}t
  join_bridge: true
  data_ciphers: [AES-256-GCM, CHACHA20-POLY1305]
$(wbn_tunnel_creds "$1" "${KEEPALIVE_INTERVAL:-2}" "${KEEPALIVE_TIMEOUT:-10}")
control: {socket: $WORK/$1.sock}
log: {level: ${LOG_LEVEL:-info}}
EOF
}

# --- the usual topology: one hub, N sites, a LAN host behind each -----------------------------------
# wbn_hub_and_sites N CLIENT_TO_CLIENT [HUB_EXTRA]: the PKI (hub, s1..sN), the underlay, the hub
# ($HUB_WAN, LAN host hH on $LAN.1, $WORK/hub.yaml with CLIENT_TO_CLIENT and HUB_EXTRA tunnel
# lines as wbn_hub_yaml takes them) and N sites sI ($WAN.(10+I), LAN host hI on $LAN.(10+I),
# $WORK/sI.yaml). Sets SITES=(s1 .. sN), APPLIANCES=(hub s1 .. sN) and ip_of[hH], ip_of[hI]. Starts
# nothing: a test may change the configs or the wiring first.
declare -A ip_of=()
SITES=()
APPLIANCES=()
wbn_hub_and_sites() {
    local n=$1 i
    SITES=()
    for ((i = 1; i <= n; i++)); do SITES+=("s$i"); done
    APPLIANCES=(hub "${SITES[@]}")
    log "tag $T, scratch $WORK, $("$WB" --version)"
    wbn_pki "${SITES[@]}"
    wbn_underlay
    wbn_ns hub
    wbn_wan hub 1
    ip_of[hH]=$LAN.1
    wbn_host hH hub "${ip_of[hH]}"
    wbn_hub_yaml "$2" "${3:-}"
    for ((i = 1; i <= n; i++)); do
        ip_of[h$i]=$LAN.$((10 + i))
        wbn_ns "s$i"
        wbn_wan "s$i" $((10 + i))
        wbn_host "h$i" "s$i" "${ip_of[h$i]}"
        wbn_site_yaml "s$i" "$i"
    done
}
# wbn_save_before [--check]: each appliance's namespace snapshot in $WORK/before.NAME, for
# same_as_before after the agents stop; --check first requires `wirebridge check` to accept its file.
wbn_save_before() {
    local a
    for a in "${APPLIANCES[@]}"; do
        [ "${1:-}" = --check ] && require "wirebridge check accepts $a.yaml" "$WB" check -c "$WORK/$a.yaml"
        snapshot "$a" >"$WORK/before.$a"
    done
}
# wbn_stop_all [--same-as-before]: SIGTERM to every appliance's agent at once, then each must exit
# with status 0 (checked); with --same-as-before its namespace must also be as wbn_save_before found it.
wbn_stop_all() {
    local a rc
    for a in "${APPLIANCES[@]}"; do kill -TERM "${PID[$a]}"; done
    for a in "${APPLIANCES[@]}"; do
        rc=0
        wbn_stop "$a" || rc=$?
        check "$a's agent exited with status 0 after SIGTERM (status $rc)" test "$rc" = 0
        [ "${1:-}" = --same-as-before ] &&
            check "$a: links, addresses and rules are as before the agent ran" same_as_before "$a" "$WORK/before.$a"
    done
    return 0
}
# wbn_start_hub_and_sites: starts the hub, then every site, each with its TAP bridged, and waits
# until the hub lists every site with its tunnel up (30 s).
wbn_start_hub_and_sites() {
    local s
    wbn_start hub
    wbn_wait_bridged hub
    for s in "${SITES[@]}"; do wbn_start "$s"; done
    wbn_wait_bridged "${SITES[@]}"
    wait_for 30 hub_peers_up "${#SITES[@]}" || die "the hub does not list ${#SITES[@]} connected site(s) within 30 s"
}

# --- a TCP hub under attack from one host ------------------------------------------------------------
# wbn_tcp_hub_attacked LIMITS: a TCP hub (PROTO=tcp, set before sourcing) with sites s1 and s2 as
# wbn_hub_and_sites makes them, `limits: {LIMITS}` added to hub.yaml; s2 runs no agent: its
# namespace is the attacker's host ($WAN.12). Starts the hub, waits until it is bridged, sets
# hub_pid; s1 is left for the test to start.
wbn_tcp_hub_attacked() {
    wbn_hub_and_sites 2 true
    echo "limits: {$1}" >>"$WORK/hub.yaml"
    APPLIANCES=(hub s1)
    wbn_start hub
    wbn_wait_bridged hub
    hub_pid=${PID[hub]}
}
# tcp_hold N SECONDS [TRICKLE_PERCENT]: N TCP connections from s2 to the hub held for up to
# SECONDS, idle or trickling (tests/netns/tcp_hold.py says what it prints).
tcp_hold() { on s2 python3 "$WBN_DIR/tcp_hold.py" "$HUB_WAN" "$PORT" "$@"; }

# --- agents ----------------------------------------------------------------------------------------
# wbn_start NAME: runs wirebridge with $WORK/NAME.yaml in namespace $T-NAME (log $WORK/NAME.log).
# Started as `ip netns exec ... &` so that $! is the agent itself (ip execs it).
wbn_start() {
    echo "==== start $(date +%T)" >>"$WORK/$1.log"
    ip netns exec "$T-$1" "$WB" run -c "$WORK/$1.yaml" >>"$WORK/$1.log" 2>&1 &
    PID[$1]=$!
}
# wbn_stop NAME [SIGNAL]: signals the agent (SIGTERM by default) and waits up to 10 s (scaled); the
# agent's exit status is returned (124: it did not exit).
wbn_stop() {
    local pid=${PID[$1]} rc=0
    kill "-${2:-TERM}" "$pid" 2>/dev/null || true
    wait_pid "$pid" 10 || rc=$?
    [ "$rc" = 124 ] || unset "PID[$1]"
    return "$rc"
}
alive() { kill -0 "${PID[$1]}" 2>/dev/null; }
# The agent of NAME has its TAP in its bridge (set-up done).
bridged() { ip -n "$T-$1" -o link show master "${T}b" 2>/dev/null | grep -q "${T}t"; }
# wbn_wait_bridged NAME...: every one of them set up within 20 s.
wbn_wait_bridged() {
    local n
    for n in "$@"; do
        wait_for 20 bridged "$n" || die "agent $n did not put its TAP in its bridge within 20 s"
    done
}

# status NAME [--json]: the agent's `wirebridge status` through its control socket (named by
# path: NAME's config file may be broken on purpose).
status() { "$WB" status "${@:2}" --socket "$WORK/$1.sock"; }
# hub_peers_up N: the hub lists N peers that have a cipher (their tunnels are up).
hub_peers_up() {
    [ "$(status hub --json | jq '[.peers[] | select(.cipher != "")] | length')" = "$1" ]
}
# site_up NAME: the site's status lists its server with a cipher.
site_up() { [ "$(status "$1" --json | jq '[.peers[] | select(.cipher != "")] | length')" = 1 ]; }
# hub_peer_of ADDRESS: the hub's status entry (JSON) of the peer whose real address is on ADDRESS.
hub_peer_of() {
    status hub --json | jq -c --arg a "$1:" '.peers[] | select(.real_address | startswith($a))'
}
# hub_macs_of ADDRESS: the MACs the hub learned behind the peer at ADDRESS, one a line.
hub_macs_of() { hub_peer_of "$1" | jq -r '.macs[]'; }
# hub_has_mac ADDRESS MAC: the hub lists MAC behind the peer at ADDRESS.
hub_has_mac() { hub_macs_of "$1" | grep -qx "$2"; }

# skmem APPLIANCE -u|-t FIELD FILTER...: the skmem FIELD (rb: receive buffer, tb: send buffer, in
# bytes as the kernel counts them: twice what was asked) of each UDP (-u) or TCP (-t) socket of
# the appliance's namespace that the ss FILTER selects (e.g. sport = :1194), one a line.
skmem() {
    local ns=$1 proto=$2 field=$3
    shift 3
    ip netns exec "$T-$ns" ss "$proto" -amnH "$@" | grep -oE "[(,]$field[0-9]+" | tr -dc '0-9\n'
}

# pings FROM_HOST IP: one ping answered within 1 s.
pings() { on "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; }
# unreachable FROM_HOST IP: none of 5 pings (over about 3 s) is answered.
unreachable() { ! on "$1" ping -c 5 -i 0.3 -W 1 "$2" >/dev/null 2>&1; }
# reach FROM_HOST IP [SECONDS]: pings until one is answered (ARP may have to cross first).
reach() { wait_for "${3:-20}" pings "$1" "$2"; }

# --- captures that count ---------------------------------------------------------------------------
# cap_start ID NS IFACE FILTER: captures the frames coming IN on IFACE of namespace $T-NS (one line
# each, with MACs) until cap_stop; waits until tcpdump is listening.
cap_start() {
    ip netns exec "$T-$2" timeout -s INT 60 tcpdump -Q in -l -n -e -U --immediate-mode -i "$3" "$4" \
        >"$WORK/cap.$1" 2>"$WORK/cap.$1.err" &
    CAP[$1]=$!
    wait_for 5 grep -q "listening on" "$WORK/cap.$1.err" || die "tcpdump $1 did not start: $(cat "$WORK/cap.$1.err")"
}
cap_stop() {
    kill -INT "${CAP[$1]}" 2>/dev/null || true
    wait_pid "${CAP[$1]}" 5 >/dev/null 2>&1 || true
    unset "CAP[$1]"
}
# cap_count ID REGEX: how many captured lines match.
cap_count() { grep -cE "$2" "$WORK/cap.$1" || true; }
cap_has() { grep -qE "$2" "$WORK/cap.$1"; }

# udp_send HOST DEST PORT PAYLOAD: one UDP datagram from HOST (broadcast and multicast allowed,
# multicast leaves through the host's ${T}e).
udp_send() {
    on "$1" python3 - "$2" "$3" "$4" "$(ip -n "$T-$1" -4 -o addr show "${T}e" | awk '{sub(/\/.*/, "", $4); print $4}')" <<'EOF'
import socket, sys
dest, port, payload, src = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
s.sendto(payload, (dest, port))
EOF
}

# udp_burst FROM TO TO_IP COUNT SIZE: COUNT datagrams of SIZE bytes of one flow from host FROM to
# host TO, in bursts of 32 (tests/netns/udp_burst.py); prints the receiver's "got N in_order M bad K".
udp_burst() {
    local out=$WORK/udp_burst.$1-$2 srv
    on "$2" timeout 70 python3 "$WBN_DIR/udp_burst.py" recv 5002 "$4" >"$out" 2>&1 &
    srv=$!
    wait_for 5 udp_bound "$2" || log "the UDP receiver did not bind on $2"
    on "$1" timeout 60 python3 "$WBN_DIR/udp_burst.py" send "$3" 5002 "$4" "$5" 32
    wait_pid "$srv" 70 || true
    cat "$out"
}
udp_bound() { on "$1" ss -Hlun "sport = :5002" | grep -q .; }
# tap_rx NS: the packets the TAP ${T}t of NS took from its agent: one per write, a merged run too.
tap_rx() { ip -n "$T-$1" -j -s link show "${T}t" | jq '.[0].stats64.rx.packets'; }

# --- leftovers -------------------------------------------------------------------------------------
# snapshot NS: the state of namespace $T-NS an agent must leave as it found it: its links (name,
# admin state, master, MTU, MAC), addresses and firewall rules.
snapshot() {
    ip -n "$T-$1" -j link show | jq -c '.[] | {ifname, up: (.flags | index("UP") != null), master, mtu, address}'
    ip -n "$T-$1" -j addr show | jq -c '.[] | {ifname, addr: [.addr_info[] | "\(.local)/\(.prefixlen)"]}'
    on "$1" iptables-save 2>/dev/null | grep -v '^#' || true
    on "$1" ip6tables-save 2>/dev/null | grep -v '^#' || true
}
# same_as_before NS FILE: the namespace's snapshot equals the one saved in FILE (differences shown).
same_as_before() {
    snapshot "$1" >"$2.after"
    diff -u "$2" "$2.after"
}
# audit_gone: nothing of this run is left on the machine: no namespace, no interface in the root
# namespace, no agent process (by pid) and no scratch file but ours.
audit_gone() {
    local ok=0 pid
    for pid in "${PID[@]}"; do
        kill -0 "$pid" 2>/dev/null && { echo "agent pid $pid still runs"; ok=1; }
    done
    ip netns list | grep -q "^$T-" && { echo "namespaces left: $(ip netns list | grep "^$T-" | tr '\n' ' ')"; ok=1; }
    ip -o link show | grep -q ": ${T}" && { echo "interfaces left in the root namespace"; ok=1; }
    pgrep -f -- "$WORK/" >/dev/null && { echo "processes still use $WORK: $(pgrep -af -- "$WORK/")"; ok=1; }
    return "$ok"
}
# teardown_all: deletes this run's namespaces now (what the trap would do), for audit_gone.
teardown_all() { wb_ns_del_all; }

# --- small predicates for check/require ------------------------------------------------------------
has_line() { grep -qxF -- "$2" <<<"$1"; }      # TEXT LINE: TEXT has LINE as a whole line
lacks_line() { ! has_line "$@"; }
matches() { grep -qE -- "$2" <<<"$1"; }       # TEXT REGEX
no_link() { ! ip -n "$T-$1" link show "$2" >/dev/null 2>&1; }

# eth_send HOST FIRST COUNT [DST]: COUNT raw Ethernet frames out of HOST's ${T}e, ethertype 0x88b5
# (IEEE local experimental), to DST (default broadcast), frame i from source MAC 02:77:aa:00:HH:LL
# with HHLL = FIRST + i: as many stations as frames, as behind a switch with many hosts.
eth_send() {
    on "$1" python3 - "${T}e" "$2" "$3" "${4:-ff:ff:ff:ff:ff:ff}" <<'PY'
import socket, sys
ifname, first, count, dst = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), bytes.fromhex(sys.argv[4].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
for i in range(first, first + count):
    src = bytes([0x02, 0x77, 0xaa, 0x00, (i >> 8) & 0xff, i & 0xff])
    s.send(dst + src + b"\x88\xb5" + b"wirebridge test frame".ljust(46, b"."))
PY
}

# bulk FROM TO TO_IP BYTES: BYTES of random data from host FROM to host TO over one TCP
# connection (nc), compared byte for byte; bounded to 60 s.
bulk() {
    local f=$WORK/bulk.$1-$2 srv rc=0 t0=$SECONDS
    head -c "$4" /dev/urandom >"$f"
    on "$2" timeout 60 nc -l "$3" 5001 >"$f.got" 2>/dev/null &
    srv=$!
    wait_for 5 bulk_listening "$2" || log "nc did not start listening on $2"
    on "$1" timeout 60 nc -N "$3" 5001 <"$f" || rc=$?
    wait_pid "$srv" 30 || true
    log "bulk $1 -> $2: $4 bytes in about $((SECONDS - t0)) s (nc status $rc)"
    [ "$rc" = 0 ] && cmp -s "$f" "$f.got"
}
bulk_listening() { on "$1" ss -Hltn "sport = :5001" | grep -q LISTEN; }
