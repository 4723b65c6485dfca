# shellcheck shell=bash
# Interop harness library: the server/client pair of tests/lib/vpn_pair.sh (namespaces, PKI, stock
# openvpn or wirebridge on each side), plus the interop checks.
#
#   netns ${T}a  (server side)                         netns ${T}b  (client side)
#  +------------------------------+                   +------------------------------+
#  | ${T}u0 10.91.0.1/24  ========|==== veth pair ====|======== ${T}u1 10.91.0.2/24  |
#  |        (underlay, UDP/TCP 1194)                  |                              |
#  | TAP ${T}ts 10.92.0.1/24       |  <- tunnel L2 ->  | TAP ${T}tc  (pushed address)  |
#  +------------------------------+                   +------------------------------+
#
# The server always runs in ${T}a and the client in ${T}b; each side is either stock openvpn or
# wirebridge. T is a short tag unique to this process (names stay within 15 characters).

PAIR_PREFIX=wbi PAIR_NET=10.91.0 PAIR_TUN_NET=10.92.0
# shellcheck source=../lib/vpn_pair.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/vpn_pair.sh"
# openvpn with explicit exit notification (restart cases), wirebridge logging everything.
OVPN_EXIT_NOTIFY=1 WB_LOG_LEVEL=debug

die() { log "FAIL: $*"; return 1; }
cleanup() { pair_teardown; }

# make_pki DIR: the pair's PKI and keys, plus 20 MB of random data for the transfers.
make_pki() {
    pair_make_pki "$1" || return 1
    [ -f "$1/data20m.sha" ] && return 0
    head -c 20000000 /dev/urandom > "$1/data20m"
    sha256sum < "$1/data20m" | cut -d' ' -f1 > "$1/data20m.sha"
}

start_server() { if [ "$SERVER_IMPL" = openvpn ]; then start_openvpn_server; else start_wirebridge_server; fi; }
start_client() { if [ "$CLIENT_IMPL" = openvpn ]; then start_openvpn_client; else start_wirebridge_client; fi; }

stop_pid() {  # SIGTERM, bounded wait (10 s, scaled), then SIGKILL
    wb_stop_pid "$1" 10 && return 0
    log "pid $1 needed SIGKILL"
    return 1
}

# --- Checks ------------------------------------------------------------------------------------

wait_tunnel() {
    wait_for "${1:-30}" "the client's TAP to get its pushed 10.92.0.x address" have_client_ip || return 1
    CLIENT_TUN_IP=$(client_tun_ip)
    [ "$CLIENT_TUN_IP" != "$TUN_SERVER_IP" ] || die "client got the server's own address"
    log "tunnel up: client TAP has $CLIENT_TUN_IP"
}

check_ping_and_arp() {
    wait_for 20 "ping client -> server through the tunnel" inb ping -c1 -W1 $TUN_SERVER_IP || return 1
    ina ping -c3 -i0.2 -W2 "$CLIENT_TUN_IP" >/dev/null || die "ping server -> client" || return 1
    # ARP crossed both ways: each side has resolved the other's tunnel address to a MAC.
    ina ip neigh show dev "$TAP_S" | grep -q "^$CLIENT_TUN_IP lladdr" || die "server side has no ARP entry for $CLIENT_TUN_IP" || return 1
    inb ip neigh show dev "$TAP_C" | grep -q "^$TUN_SERVER_IP lladdr" || die "client side has no ARP entry for $TUN_SERVER_IP" || return 1
}

# transfer FROM_NS TO_NS TO_IP PORT FILE: TCP through the tunnel, compared by sha256.
transfer() {
    local from=$1 to=$2 to_ip=$3 port=$4 file=$5 limit=${6:-90}
    local out="$LOGS/recv.$port"
    rm -f "$out"
    ip netns exec "$to" timeout "$limit" nc -l "$to_ip" "$port" > "$out" &
    local lpid=$!
    wait_for 10 "listener on $to_ip:$port" listening "$to" "$port" || { kill $lpid 2>/dev/null; return 1; }
    local t0=$SECONDS
    ip netns exec "$from" timeout "$limit" nc -N "$to_ip" "$port" < "$file" || { kill $lpid 2>/dev/null; die "sender nc failed"; return 1; }
    wait $lpid
    local got want
    got=$(sha256sum < "$out" | cut -d' ' -f1)
    want=$(sha256sum < "$file" | cut -d' ' -f1)
    [ "$got" = "$want" ] || die "transfer to $to_ip:$port differs: $(stat -c %s "$out") of $(stat -c %s "$file") bytes" || return 1
    log "transfer of $(stat -c %s "$file") bytes to $to_ip byte-exact in $((SECONDS - t0))s"
}

# check_status: the wirebridge side answers `wirebridge status --json` with one peer that carried
# at least the transfers (20 MB each way) and, on the server, the client's MAC behind it.
check_status() {
    local side yaml json
    if [ "$SERVER_IMPL" = wirebridge ]; then side=a yaml=$LOGS/server.yaml; else side=b yaml=$LOGS/client.yaml; fi
    [ "$SERVER_IMPL" = wirebridge ] || [ "$CLIENT_IMPL" = wirebridge ] || return 0
    json=$("$WIREBRIDGE" status --json -c "$yaml") || die "wirebridge status failed: $json" || return 1
    grep -q '"peers":\[{' <<<"$json" || die "status shows no peer: $json" || return 1
    local bytes_in
    bytes_in=$(grep -o '"bytes_in":[0-9]*' <<<"$json" | head -n1 | cut -d: -f2)
    [ "${bytes_in:-0}" -ge 20000000 ] || die "status counts $bytes_in bytes in, expected the 20 MB transfer" || return 1
    if [ "$side" = a ]; then
        local mac
        mac=$(inb cat "/sys/class/net/$TAP_C/address")
        grep -q "\"$mac\"" <<<"$json" || die "the hub's status does not list the client's MAC $mac: $json" || return 1
    fi
    log "status: peer with $bytes_in bytes in${mac:+, MAC $mac behind it}"
}

check_transfers() {
    transfer "$NS_B" "$NS_A" $TUN_SERVER_IP 5001 "$PKI/data20m" || return 1
    transfer "$NS_A" "$NS_B" "$CLIENT_TUN_IP" 5002 "$PKI/data20m" || return 1
}

# pki_variant NAME: a copy of the PKI for one case (its client certificate or key replaced).
pki_variant() {
    local d=$WORK/pki-$1
    rm -rf "$d"
    cp -r "$WORK/pki" "$d"
    echo "$d"
}

# refused_by_hub PATTERN [TOLD]: the openvpn client gets no tunnel, the hub's log says why (PATTERN),
# and the client is told (TOLD, default a TLS alert; or AUTH_FAILED), well before openvpn's 60 s
# hand-window.
refused_by_hub() {
    wait_for 30 "the hub to refuse the client ($1)" grep -q "$1" "$LOGS/wirebridge-server.log" || return 1
    ! have_client_ip || die "the refused client has a tunnel address" || return 1
    log "hub refused the client: $(grep -m1 "$1" "$LOGS/wirebridge-server.log")"
    wait_for 5 "the openvpn client to be told why (${2:-alert})" grep -qi "${2:-alert}" "$LOGS/openvpn-client.log" || return 1
    log "the client was told: $(grep -i -m1 "${2:-alert}" "$LOGS/openvpn-client.log")"
}
