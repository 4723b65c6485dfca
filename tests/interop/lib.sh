# shellcheck shell=bash
# Interop harness library: namespaces, PKI, peers (stock openvpn or wirebridge), bounded waits, checks.
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

OPENVPN=${OPENVPN:-/usr/sbin/openvpn}
WIREBRIDGE=${WIREBRIDGE:-wirebridge}
SERVER_IP=10.91.0.1
CLIENT_IP=10.91.0.2
TUN_SERVER_IP=10.92.0.1
PORT=1194

# T: unique tag, WORK: per-run scratch folder (PKI, data, logs).
T=${T:-wbi$(( $$ % 10000 ))}
NS_A=${T}a
NS_B=${T}b
TAP_S=${T}ts
TAP_C=${T}tc
PIDS=()

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAIL: $*"; return 1; }
ina() { ip netns exec "$NS_A" "$@"; }
inb() { ip netns exec "$NS_B" "$@"; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls every 0.2 s, bounded.
wait_for() {
    local limit=$1 what=$2
    shift 2
    local end=$((SECONDS + limit))
    while ((SECONDS < end)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    die "timed out after ${limit}s waiting for: $what"
}

# --- PKI and keys, made once per run with the openssl CLI and openvpn --genkey --------------------
make_pki() {
    local d=$1
    [ -f "$d/done" ] && return 0
    mkdir -p "$d"
    (
        cd "$d" || exit 1
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
            -subj "/CN=wbi test CA" -keyout ca.key -out ca.crt \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        for who in server client; do
            local eku=serverAuth
            [ $who = client ] && eku=clientAuth
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=wbi-$who" \
                -keyout $who.key -out $who.csr 2>/dev/null
            printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=%s\n' \
                $eku > $who.ext
            openssl x509 -req -in $who.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
                -extfile $who.ext -out $who.crt 2>/dev/null
        done
        "$OPENVPN" --genkey tls-crypt tc.key >/dev/null
        "$OPENVPN" --genkey tls-auth ta.key >/dev/null
        head -c 20000000 /dev/urandom > data20m
        sha256sum < data20m | cut -d' ' -f1 > data20m.sha
        touch done
    ) || die "cannot make the test PKI in $d"
}

# --- Namespaces --------------------------------------------------------------------------------
setup_underlay() {
    ip netns add "$NS_A" && ip netns add "$NS_B" || return 1
    ip link add "${T}u0" netns "$NS_A" type veth peer name "${T}u1" netns "$NS_B" || return 1
    ina ip addr add $SERVER_IP/24 dev "${T}u0"
    inb ip addr add $CLIENT_IP/24 dev "${T}u1"
    # Room for a full 1514-byte frame plus tunnel overhead without underlay fragmentation.
    ina ip link set "${T}u0" mtu 1600 up
    inb ip link set "${T}u1" mtu 1600 up
    ina ip link set lo up
    inb ip link set lo up
}

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    done
    PIDS=()
    # Anything else still running inside our own namespaces (e.g. a listener) goes too.
    local ns
    for ns in "$NS_A" "$NS_B"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    done
    ip netns del "$NS_A" 2>/dev/null
    ip netns del "$NS_B" 2>/dev/null
    return 0
}

# --- Peers -------------------------------------------------------------------------------------
# Case parameters (globals): PROTO udp|tcp, CIPHER, WRAP tls-auth|tls-crypt, RENEG seconds (0 = default),
# KEEPALIVE "interval timeout".
PROTO=udp CIPHER=AES-256-GCM WRAP=tls-crypt RENEG=0 KEEPALIVE="10 60"

ovpn_wrap_args() {  # $1 = 0 (server) or 1 (client)
    if [ "$WRAP" = tls-auth ]; then echo "--tls-auth $PKI/ta.key $1"; else echo "--tls-crypt $PKI/tc.key"; fi
}

# Daemons start as `ip netns exec NS CMD &` (never through a shell function) so that $! is the
# daemon itself: ip execs it after entering the namespace, and stop_pid signals the real process.
start_openvpn_server() {
    local proto=udp
    [ "$PROTO" = tcp ] && proto=tcp-server
    # A persistent TAP with the server's address: openvpn's server-bridge does not configure it,
    # and it outlives a restart of the server.
    if ! ina ip link show "$TAP_S" >/dev/null 2>&1; then
        ina ip tuntap add dev "$TAP_S" mode tap || return 1
        ina ip addr add $TUN_SERVER_IP/24 dev "$TAP_S"
        ina ip link set "$TAP_S" up
    fi
    local extra=()
    [ "$RENEG" != 0 ] && extra+=(--reneg-sec "$RENEG")
    # shellcheck disable=SC2046
    ip netns exec "$NS_A" "$OPENVPN" --mode server --tls-server --dev "$TAP_S" --dev-type tap --proto $proto \
        --local $SERVER_IP --port $PORT --server-bridge $TUN_SERVER_IP 255.255.255.0 10.92.0.100 10.92.0.150 \
        --ca "$PKI/ca.crt" --cert "$PKI/server.crt" --key "$PKI/server.key" --dh none \
        --remote-cert-tls client $(ovpn_wrap_args 0) --data-ciphers "$CIPHER" --keepalive $KEEPALIVE \
        --explicit-exit-notify 1 --verb 3 "${extra[@]}" > "$LOGS/openvpn-server.log" 2>&1 &
    PIDS+=($!)
    SERVER_PID=$!
}

start_openvpn_client() {
    local proto=udp
    [ "$PROTO" = tcp ] && proto=tcp-client
    local extra=()
    [ "$RENEG" != 0 ] && extra+=(--reneg-sec "$RENEG")
    [ "$PROTO" = udp ] && extra+=(--explicit-exit-notify 1)
    # shellcheck disable=SC2046
    ip netns exec "$NS_B" "$OPENVPN" --client --dev "$TAP_C" --dev-type tap --proto $proto --remote $SERVER_IP $PORT --nobind \
        --ca "$PKI/ca.crt" --cert "$PKI/client.crt" --key "$PKI/client.key" --remote-cert-tls server \
        $(ovpn_wrap_args 1) --data-ciphers "$CIPHER" --connect-retry 1 1 --verb 3 "${extra[@]}" \
        > "$LOGS/openvpn-client.log" 2>&1 &
    PIDS+=($!)
    CLIENT_PID=$!
}

wb_wrap_yaml() {  # $1 = direction for tls-auth
    if [ "$WRAP" = tls-auth ]; then echo "  tls_auth: {key: $PKI/ta.key, direction: $1}"
    else echo "  tls_crypt: $PKI/tc.key"; fi
}

start_wirebridge_server() {
    local ka=($KEEPALIVE)
    cat > "$LOGS/server.yaml" <<YAML
site: wbi-server
tunnel:
  role: server
  proto: $PROTO
  local: $SERVER_IP:$PORT
  device: $TAP_S
  address: $TUN_SERVER_IP/24
  pool: 10.92.0.0/24
  ca: $PKI/ca.crt
  cert: $PKI/server.crt
  key: $PKI/server.key
$(wb_wrap_yaml 0)
  data_ciphers: [$CIPHER]
  keepalive: {interval: ${ka[0]}, timeout: ${ka[1]}}
  reneg_seconds: $([ "$RENEG" != 0 ] && echo "$RENEG" || echo 3600)
log: {level: debug}
control: {socket: $LOGS/server.sock}
YAML
    ip netns exec "$NS_A" "$WIREBRIDGE" run -c "$LOGS/server.yaml" > "$LOGS/wirebridge-server.log" 2>&1 &
    PIDS+=($!)
    SERVER_PID=$!
}

start_wirebridge_client() {
    cat > "$LOGS/client.yaml" <<YAML
site: wbi-client
tunnel:
  role: client
  proto: $PROTO
  remote: [$SERVER_IP:$PORT]
  device: $TAP_C
  ca: $PKI/ca.crt
  cert: $PKI/client.crt
  key: $PKI/client.key
$(wb_wrap_yaml 1)
  data_ciphers: [$CIPHER]
  reneg_seconds: $([ "$RENEG" != 0 ] && echo "$RENEG" || echo 3600)
log: {level: debug}
control: {socket: $LOGS/client.sock}
YAML
    ip netns exec "$NS_B" "$WIREBRIDGE" run -c "$LOGS/client.yaml" > "$LOGS/wirebridge-client.log" 2>&1 &
    PIDS+=($!)
    CLIENT_PID=$!
}

start_server() { if [ "$SERVER_IMPL" = openvpn ]; then start_openvpn_server; else start_wirebridge_server; fi; }
start_client() { if [ "$CLIENT_IMPL" = openvpn ]; then start_openvpn_client; else start_wirebridge_client; fi; }

stop_pid() {  # SIGTERM, bounded wait, then SIGKILL
    local pid=$1
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
    log "pid $pid needed SIGKILL"
    return 1
}

# --- Checks ------------------------------------------------------------------------------------
client_tun_ip() { inb ip -4 -o addr show dev "$TAP_C" 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | grep '^10\.92\.0\.'; }
have_client_ip() { [ -n "$(client_tun_ip)" ]; }

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

listening() { ip netns exec "$1" ss -ltnH "sport = :$2" | grep -q LISTEN; }

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
