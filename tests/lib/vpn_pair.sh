# shellcheck shell=bash
# One VPN server and one client over a veth, for the interop tests (tests/interop/lib.sh) and the
# benchmark (bench/lib.sh): run tag, PKI, underlay, stock openvpn or wirebridge on each side with
# the same flags and YAML, bounded waits, teardown.
#
#   netns ${T}a  (server side)                          netns ${T}b  (client side)
#  +-------------------------------+                   +-------------------------------+
#  | ${T}u0 $PAIR_NET.1/24  ========|==== veth pair ====|======== ${T}u1 $PAIR_NET.2/24  |
#  | (underlay, MTU 1500 or UNDERLAY_MTU, UDP/TCP 1194)  |                               |
#  | VPN server -- TAP ${T}ts        |  <- tunnel L2 ->  | TAP ${T}tc -- VPN client       |
#  |          $PAIR_TUN_NET.1/24     |                   | (pushed $PAIR_TUN_NET.x/24)    |
#  +-------------------------------+                   +-------------------------------+
#
# Set before sourcing: PAIR_PREFIX (a short name: the tag T is PREFIX + 4 digits, so interface
# names stay within 15 characters; certificate CNs and site names are PREFIX-server,
# PREFIX-client), PAIR_NET and PAIR_TUN_NET (the underlay's and the tunnel's /24, as "10.91.0").
# Per run: PKI (a folder from pair_make_pki), LOGS (a folder for logs and configs), WIREBRIDGE.
# Per case (defaults below): PROTO udp|tcp, CIPHER, WRAP tls-crypt|tls-auth, RENEG seconds
# (0: the default), KEEPALIVE "interval timeout", OVPN_EXIT_NOTIFY (1: openvpn sends explicit
# exit notifications; empty: openvpn's default, none), WB_LOG_LEVEL, WB_SERVER_TUNNEL and
# WB_CLIENT_TUNNEL (more lines for wirebridge's tunnel section, each indented by two spaces, e.g.
# "  workers: 2"), TA_DIGEST (tls-auth's HMAC: openvpn --auth, wirebridge tls_auth.digest; empty:
# the default SHA1), OVPN_SERVER_EXTRA and OVPN_CLIENT_EXTRA (arrays of more openvpn arguments).

# shellcheck source=base.sh
. "$(dirname "${BASH_SOURCE[0]}")/base.sh"

: "${PAIR_PREFIX:?set PAIR_PREFIX before sourcing vpn_pair.sh}"
: "${PAIR_NET:?set PAIR_NET before sourcing vpn_pair.sh}"
: "${PAIR_TUN_NET:?set PAIR_TUN_NET before sourcing vpn_pair.sh}"

OPENVPN=${OPENVPN:-/usr/sbin/openvpn}
WIREBRIDGE=${WIREBRIDGE:-wirebridge}
SERVER_IP=$PAIR_NET.1
CLIENT_IP=$PAIR_NET.2
TUN_SERVER_IP=$PAIR_TUN_NET.1
PORT=1194

T=${T:-$PAIR_PREFIX$(( $$ % 10000 ))}
NS_A=${T}a
NS_B=${T}b
TAP_S=${T}ts
TAP_C=${T}tc
PIDS=()
SERVER_PID='' CLIENT_PID=''

PROTO=udp CIPHER=AES-256-GCM WRAP=tls-crypt RENEG=0 KEEPALIVE="10 60" OVPN_EXIT_NOTIFY='' WB_LOG_LEVEL=info
WB_SERVER_TUNNEL='' WB_CLIENT_TUNNEL= TA_DIGEST=''
OVPN_SERVER_EXTRA=() OVPN_CLIENT_EXTRA=()

log() { say "$@"; }
ina() { ip netns exec "$NS_A" "$@"; }
inb() { ip netns exec "$NS_B" "$@"; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND, bounded (base.sh); says what timed out.
wait_for() {
    local limit=$1 what=$2
    shift 2
    wb_wait "$limit" "$@" && return 0
    log "timed out after $((limit * ${WB_WAIT_SCALE:-3}))s waiting for: $what"
    return 1
}

# pair_make_pki DIR: an EC CA, a serverAuth certificate (CN PREFIX-server) and a clientAuth one
# (PREFIX-client), a tls-crypt and a tls-auth key (openvpn --genkey); once per DIR.
pair_make_pki() {
    local d=$1
    [ -f "$d/done" ] && return 0
    mkdir -p "$d"
    (
        cd "$d" || exit 1
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
            -subj "/CN=$PAIR_PREFIX test CA" -keyout ca.key -out ca.crt \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        for who in server client; do
            local eku=serverAuth
            [ $who = client ] && eku=clientAuth
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$PAIR_PREFIX-$who" \
                -keyout $who.key -out $who.csr 2>/dev/null
            printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=%s\n' \
                $eku > $who.ext
            openssl x509 -req -in $who.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
                -extfile $who.ext -out $who.crt 2>/dev/null
        done
        "$OPENVPN" --genkey tls-crypt tc.key >/dev/null
        "$OPENVPN" --genkey tls-auth ta.key >/dev/null
        touch done
    ) || { log "cannot make the PKI in $d"; return 1; }
}

setup_underlay() {
    ip netns add "$NS_A" && ip netns add "$NS_B" || return 1
    ip link add "${T}u0" netns "$NS_A" type veth peer name "${T}u1" netns "$NS_B" || return 1
    ina ip addr add "$SERVER_IP/24" dev "${T}u0"
    inb ip addr add "$CLIENT_IP/24" dev "${T}u1"
    # 1500: what an Internet path gives (full frames plus tunnel overhead are IP-fragmented, TCP
    # is clamped by mssfix). UNDERLAY_MTU=1600 (a full frame fits whole) only where a case says why.
    ina ip link set "${T}u0" mtu "${UNDERLAY_MTU:-1500}" up
    inb ip link set "${T}u1" mtu "${UNDERLAY_MTU:-1500}" up
    ina ip link set lo up
    inb ip link set lo up
}

# pair_teardown: stops what PIDS holds (SIGTERM, 5 s, SIGKILL), anything else left in our two
# namespaces, and deletes them.
pair_teardown() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do WB_WAIT_SCALE=1 wb_stop_pid "$pid" 5; done
    PIDS=()
    SERVER_PID='' CLIENT_PID=''
    wb_ns_del "$NS_A" "$NS_B"
}

# --- peers -----------------------------------------------------------------------------------------
ovpn_wrap_args() {  # $1 = 0 (server) or 1 (client)
    if [ "$WRAP" = tls-auth ]; then echo "--tls-auth $PKI/ta.key $1${TA_DIGEST:+ --auth $TA_DIGEST}"; else echo "--tls-crypt $PKI/tc.key"; fi
}

# Daemons start as `ip netns exec NS CMD &` (never through a shell function) so that $! is the
# daemon itself: ip execs it after entering the namespace, so signals and /proc/$!/stat reach it.
start_openvpn_server() {
    local proto=udp
    [ "$PROTO" = tcp ] && proto=tcp-server
    # A persistent TAP with the server's address: openvpn's server-bridge does not configure it,
    # and it outlives a restart of the server.
    if ! ina ip link show "$TAP_S" >/dev/null 2>&1; then
        ina ip tuntap add dev "$TAP_S" mode tap || return 1
        ina ip addr add "$TUN_SERVER_IP/24" dev "$TAP_S"
        ina ip link set "$TAP_S" up
    fi
    local extra=()
    [ "$RENEG" != 0 ] && extra+=(--reneg-sec "$RENEG")
    [ -n "$OVPN_EXIT_NOTIFY" ] && extra+=(--explicit-exit-notify "$OVPN_EXIT_NOTIFY")
    # shellcheck disable=SC2046,SC2086
    ip netns exec "$NS_A" "$OPENVPN" --mode server --tls-server --dev "$TAP_S" --dev-type tap --proto $proto \
        --local "$SERVER_IP" --port $PORT --server-bridge "$TUN_SERVER_IP" 255.255.255.0 "$PAIR_TUN_NET.100" "$PAIR_TUN_NET.150" \
        --ca "$PKI/ca.crt" --cert "$PKI/server.crt" --key "$PKI/server.key" --dh none \
        --remote-cert-tls client $(ovpn_wrap_args 0) --data-ciphers "$CIPHER" --keepalive $KEEPALIVE \
        --verb 3 "${extra[@]}" "${OVPN_SERVER_EXTRA[@]}" > "$LOGS/openvpn-server.log" 2>&1 &
    PIDS+=($!)
    SERVER_PID=$!
}

start_openvpn_client() {
    local proto=udp
    [ "$PROTO" = tcp ] && proto=tcp-client
    local extra=()
    [ "$RENEG" != 0 ] && extra+=(--reneg-sec "$RENEG")
    # Over TCP the connection's end tells the server: the client sends exit notifications over UDP only.
    [ -n "$OVPN_EXIT_NOTIFY" ] && [ "$PROTO" = udp ] && extra+=(--explicit-exit-notify "$OVPN_EXIT_NOTIFY")
    # shellcheck disable=SC2046
    ip netns exec "$NS_B" "$OPENVPN" --client --dev "$TAP_C" --dev-type tap --proto $proto --remote "$SERVER_IP" $PORT \
        --nobind --ca "$PKI/ca.crt" --cert "$PKI/client.crt" --key "$PKI/client.key" --remote-cert-tls server \
        $(ovpn_wrap_args 1) --data-ciphers "$CIPHER" --connect-retry 1 1 --verb 3 "${extra[@]}" "${OVPN_CLIENT_EXTRA[@]}" \
        > "$LOGS/openvpn-client.log" 2>&1 &
    PIDS+=($!)
    CLIENT_PID=$!
}

wb_wrap_yaml() {  # $1 = direction for tls-auth
    if [ "$WRAP" = tls-auth ]; then echo "  tls_auth: {key: $PKI/ta.key, direction: $1${TA_DIGEST:+, digest: $TA_DIGEST}}"
    else echo "  tls_crypt: $PKI/tc.key"; fi
}

start_wirebridge_server() {
    local ka=($KEEPALIVE)
    cat > "$LOGS/server.yaml" <<YAML
site: $PAIR_PREFIX-server
tunnel:
  role: server
  proto: $PROTO
  local: $SERVER_IP:$PORT
  device: $TAP_S
  address: $TUN_SERVER_IP/24
  pool: $PAIR_TUN_NET.0/24
  ca: $PKI/ca.crt
  cert: $PKI/server.crt
  key: $PKI/server.key
$(wb_wrap_yaml 0)
  data_ciphers: [$CIPHER]
  keepalive: {interval: ${ka[0]}, timeout: ${ka[1]}}
  reneg_seconds: $([ "$RENEG" != 0 ] && echo "$RENEG" || echo 3600)
$WB_SERVER_TUNNEL
log: {level: $WB_LOG_LEVEL}
control: {socket: $LOGS/server.sock}
YAML
    ip netns exec "$NS_A" "$WIREBRIDGE" run -c "$LOGS/server.yaml" > "$LOGS/wirebridge-server.log" 2>&1 &
    PIDS+=($!)
    SERVER_PID=$!
}

start_wirebridge_client() {
    cat > "$LOGS/client.yaml" <<YAML
site: $PAIR_PREFIX-client
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
$WB_CLIENT_TUNNEL
log: {level: $WB_LOG_LEVEL}
control: {socket: $LOGS/client.sock}
YAML
    ip netns exec "$NS_B" "$WIREBRIDGE" run -c "$LOGS/client.yaml" > "$LOGS/wirebridge-client.log" 2>&1 &
    PIDS+=($!)
    CLIENT_PID=$!
}

# --- checks ----------------------------------------------------------------------------------------
# The client's tunnel address (pushed by the server), empty until it has one.
client_tun_ip() {
    inb ip -4 -o addr show dev "$TAP_C" 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | grep "^${PAIR_TUN_NET//./\\.}\."
}
have_client_ip() { [ -n "$(client_tun_ip)" ]; }
listening() { ip netns exec "$1" ss -ltnH "sport = :$2" | grep -q LISTEN; }
