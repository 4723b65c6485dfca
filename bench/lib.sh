# shellcheck shell=bash
# Benchmark topology and peers: two namespaces over a veth, a VPN process and its TAP in each.
#
#   netns ${T}a  (server side)                          netns ${T}b  (client side)
#  +-------------------------------+                   +-------------------------------+
#  | ${T}u0 10.93.0.1/24  =========|==== veth pair ====|========= ${T}u1 10.93.0.2/24  |
#  |        (underlay, MTU 1600, UDP or TCP 1194)       |                               |
#  | VPN server  -- TAP ${T}ts      |                   | TAP ${T}tc --  VPN client      |
#  |                 10.94.0.1/24   |  <- tunnel L2 ->  |   (pushed 10.94.0.1xx/24)      |
#  | iperf3 -s on 10.94.0.1         |                   | iperf3 -c, ping                |
#  +-------------------------------+                   +-------------------------------+
#
# Traffic under test goes iperf3 client (b) -> TAP -> VPN client -> underlay -> VPN server -> TAP
# -> iperf3 server (a). Each side is stock openvpn or wirebridge, configured as the interop tests
# do (tests/interop/lib.sh): TLS with EC certificates, tls-crypt, dev-type tap, server-bridge pool.
# openvpn runs with its defaults otherwise (socket buffers, txqueuelen, no compression, no
# --fast-io): what a user who only picks the cipher gets.

OPENVPN=${OPENVPN:-/usr/sbin/openvpn}
SERVER_IP=10.93.0.1
CLIENT_IP=10.93.0.2
TUN_SERVER_IP=10.94.0.1
PORT=1194
IPERF_PORT=5201

T=${T:-wbb$(( $$ % 10000 ))}
NS_A=${T}a
NS_B=${T}b
TAP_S=${T}ts
TAP_C=${T}tc
PIDS=()
SERVER_PID='' CLIENT_PID='' IPERF_PID=''

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
ina() { ip netns exec "$NS_A" "$@"; }
inb() { ip netns exec "$NS_B" "$@"; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls every 0.1 s, bounded.
wait_for() {
    local limit=$1 what=$2
    shift 2
    local end=$((SECONDS + limit))
    while ((SECONDS < end)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    log "timed out after ${limit}s waiting for: $what"
    return 1
}

make_pki() {
    local d=$1
    [ -f "$d/done" ] && return 0
    mkdir -p "$d"
    (
        cd "$d" || exit 1
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
            -subj "/CN=wbb bench CA" -keyout ca.key -out ca.crt \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        for who in server client; do
            local eku=serverAuth
            [ $who = client ] && eku=clientAuth
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=wbb-$who" \
                -keyout $who.key -out $who.csr 2>/dev/null
            printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=%s\n' \
                $eku > $who.ext
            openssl x509 -req -in $who.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
                -extfile $who.ext -out $who.crt 2>/dev/null
        done
        "$OPENVPN" --genkey tls-crypt tc.key >/dev/null
        touch done
    ) || { log "cannot make the bench PKI in $d"; return 1; }
}

setup_underlay() {
    ip netns add "$NS_A" && ip netns add "$NS_B" || return 1
    ip link add "${T}u0" netns "$NS_A" type veth peer name "${T}u1" netns "$NS_B" || return 1
    ina ip addr add $SERVER_IP/24 dev "${T}u0"
    inb ip addr add $CLIENT_IP/24 dev "${T}u1"
    # A full 1514-byte frame plus tunnel overhead fits without underlay fragmentation.
    ina ip link set "${T}u0" mtu 1600 up
    inb ip link set "${T}u1" mtu 1600 up
    ina ip link set lo up
    inb ip link set lo up
}

teardown() {
    local pid ns
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    done
    PIDS=()
    SERVER_PID='' CLIENT_PID='' IPERF_PID=''
    # Anything else still running inside our own namespaces (iperf3 left by a timeout) goes too.
    for ns in "$NS_A" "$NS_B"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    done
    ip netns del "$NS_A" 2>/dev/null
    ip netns del "$NS_B" 2>/dev/null
    return 0
}

# Daemons start as `ip netns exec NS CMD &` so that $! is the daemon itself (ip execs it): the
# CPU accounting reads /proc/$!/stat.
start_openvpn_server() {
    local proto=udp
    [ "$PROTO" = tcp ] && proto=tcp-server
    ina ip tuntap add dev "$TAP_S" mode tap || return 1
    ina ip addr add $TUN_SERVER_IP/24 dev "$TAP_S"
    ina ip link set "$TAP_S" up
    ip netns exec "$NS_A" "$OPENVPN" --mode server --tls-server --dev "$TAP_S" --dev-type tap --proto $proto \
        --local $SERVER_IP --port $PORT --server-bridge $TUN_SERVER_IP 255.255.255.0 10.94.0.100 10.94.0.150 \
        --ca "$PKI/ca.crt" --cert "$PKI/server.crt" --key "$PKI/server.key" --dh none \
        --remote-cert-tls client --tls-crypt "$PKI/tc.key" --data-ciphers "$CIPHER" --keepalive 10 60 \
        --verb 3 > "$LOGS/openvpn-server.log" 2>&1 &
    PIDS+=($!)
    SERVER_PID=$!
}

start_openvpn_client() {
    local proto=udp
    [ "$PROTO" = tcp ] && proto=tcp-client
    ip netns exec "$NS_B" "$OPENVPN" --client --dev "$TAP_C" --dev-type tap --proto $proto --remote $SERVER_IP $PORT \
        --nobind --ca "$PKI/ca.crt" --cert "$PKI/client.crt" --key "$PKI/client.key" --remote-cert-tls server \
        --tls-crypt "$PKI/tc.key" --data-ciphers "$CIPHER" --connect-retry 1 1 --verb 3 \
        > "$LOGS/openvpn-client.log" 2>&1 &
    PIDS+=($!)
    CLIENT_PID=$!
}

start_wirebridge_server() {
    cat > "$LOGS/server.yaml" <<YAML
site: wbb-server
tunnel:
  role: server
  proto: $PROTO
  local: $SERVER_IP:$PORT
  device: $TAP_S
  address: $TUN_SERVER_IP/24
  pool: 10.94.0.0/24
  ca: $PKI/ca.crt
  cert: $PKI/server.crt
  key: $PKI/server.key
  tls_crypt: $PKI/tc.key
  data_ciphers: [$CIPHER]
  keepalive: {interval: 10, timeout: 60}
log: {level: info}
control: {socket: $LOGS/server.sock}
YAML
    ip netns exec "$NS_A" "$WIREBRIDGE" run -c "$LOGS/server.yaml" > "$LOGS/wirebridge-server.log" 2>&1 &
    PIDS+=($!)
    SERVER_PID=$!
}

start_wirebridge_client() {
    cat > "$LOGS/client.yaml" <<YAML
site: wbb-client
tunnel:
  role: client
  proto: $PROTO
  remote: [$SERVER_IP:$PORT]
  device: $TAP_C
  ca: $PKI/ca.crt
  cert: $PKI/client.crt
  key: $PKI/client.key
  tls_crypt: $PKI/tc.key
  data_ciphers: [$CIPHER]
log: {level: info}
control: {socket: $LOGS/client.sock}
YAML
    ip netns exec "$NS_B" "$WIREBRIDGE" run -c "$LOGS/client.yaml" > "$LOGS/wirebridge-client.log" 2>&1 &
    PIDS+=($!)
    CLIENT_PID=$!
}

# impls_of PAIR: the pair's client and server implementations.
impls_of() {
    case $1 in
        ovpn) SERVER_IMPL=openvpn CLIENT_IMPL=openvpn ;;
        wb) SERVER_IMPL=wirebridge CLIENT_IMPL=wirebridge ;;
        wbclient) SERVER_IMPL=openvpn CLIENT_IMPL=wirebridge ;;
        wbserver) SERVER_IMPL=wirebridge CLIENT_IMPL=openvpn ;;
        plain) SERVER_IMPL=none CLIENT_IMPL=none ;;  # no VPN: iperf3 straight over the veth
        *) return 1 ;;
    esac
}

client_tun_ip() { inb ip -4 -o addr show dev "$TAP_C" 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | grep '^10\.94\.0\.'; }
have_client_ip() { [ -n "$(client_tun_ip)" ]; }
listening() { ip netns exec "$1" ss -ltnH "sport = :$2" | grep -q LISTEN; }

# bring_up PAIR: namespaces, both peers, tunnel with a pushed address, ping across, iperf3 server
# on TARGET_IP (the server's TAP address; the veth address for the pair "plain").
bring_up() {
    impls_of "$1" || return 1
    setup_underlay || return 1
    if [ "$SERVER_IMPL" = none ]; then
        TARGET_IP=$SERVER_IP
        start_iperf3_server
        return
    fi
    TARGET_IP=$TUN_SERVER_IP
    if [ "$SERVER_IMPL" = openvpn ]; then start_openvpn_server; else start_wirebridge_server; fi || return 1
    if [ "$CLIENT_IMPL" = openvpn ]; then start_openvpn_client; else start_wirebridge_client; fi || return 1
    wait_for 40 "the client's TAP to get its pushed 10.94.0.x address" have_client_ip || return 1
    CLIENT_TUN_IP=$(client_tun_ip)
    wait_for 20 "ping client -> server through the tunnel" inb ping -c1 -W1 $TUN_SERVER_IP || return 1
    start_iperf3_server
}

start_iperf3_server() {
    ip netns exec "$NS_A" iperf3 -s -B "$TARGET_IP" -p $IPERF_PORT > "$LOGS/iperf3-server.log" 2>&1 &
    PIDS+=($!)
    IPERF_PID=$!
    wait_for 10 "iperf3 server on $TARGET_IP:$IPERF_PORT" listening "$NS_A" $IPERF_PORT
}

# cpu_ticks PID...: utime+stime of whole processes (all threads), in clock ticks.
cpu_ticks() {
    local total=0 pid rest
    for pid in "$@"; do
        [ -n "$pid" ] || continue
        rest=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
        # After "pid (comm) ": state is field 1, utime field 12, stime field 13.
        total=$((total + $(awk '{print $12 + $13}' <<<"$rest")))
    done
    echo $total
}
