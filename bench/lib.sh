# shellcheck shell=bash
# Benchmark topology and peers: two namespaces over a veth, a VPN process and its TAP in each.
#
#   netns ${T}a  (server side)                          netns ${T}b  (client side)
#  +-------------------------------+                   +-------------------------------+
#  | ${T}u0 10.93.0.1/24  =========|==== veth pair ====|========= ${T}u1 10.93.0.2/24  |
#  |  (underlay, MTU 1500 or --underlay, UDP/TCP 1194)   |                               |
#  | VPN server  -- TAP ${T}ts      |                   | TAP ${T}tc --  VPN client      |
#  |                 10.94.0.1/24   |  <- tunnel L2 ->  |   (pushed 10.94.0.1xx/24)      |
#  | iperf3 -s on 10.94.0.1         |                   | iperf3 -c, ping                |
#  +-------------------------------+                   +-------------------------------+
#
# Traffic under test goes iperf3 client (b) -> TAP -> VPN client -> underlay -> VPN server -> TAP
# -> iperf3 server (a). Each side is stock openvpn or wirebridge, started by the same functions as
# in the interop tests (tests/lib/vpn_pair.sh): TLS with EC certificates, tls-crypt, dev-type tap,
# server-bridge pool, keepalive 10 60.
# openvpn runs with its defaults otherwise (socket buffers, txqueuelen, no compression, no
# --fast-io): what a user who only picks the cipher gets.

PAIR_PREFIX=wbb PAIR_NET=10.93.0 PAIR_TUN_NET=10.94.0
# shellcheck source=../tests/lib/vpn_pair.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tests/lib/vpn_pair.sh"
IPERF_PORT=5201
IPERF_PID=''

# --workers N: the wirebridge client runs with `tunnel.workers: N`. vpn_pair.sh writes the client's
# YAML and starts it in one step, so the key goes in through a small launcher (in the run's scratch
# folder) that adds it to the YAML and execs the real binary (same pid: CPU ticks still count it).
eval "pair_$(declare -f start_wirebridge_client)"
start_wirebridge_client() {
    if [ -z "${BENCH_WORKERS:-}" ]; then pair_start_wirebridge_client; return; fi
    local real=$WIREBRIDGE launcher=$WORK/wirebridge-workers
    cat > "$launcher" <<SH
#!/bin/bash
sed -i '/^  role: client\$/a\\  workers: $BENCH_WORKERS' "\$3"
exec "$real" "\$@"
SH
    chmod +x "$launcher"
    WIREBRIDGE=$launcher
    pair_start_wirebridge_client
    WIREBRIDGE=$real
}

make_pki() { pair_make_pki "$1"; }
teardown() {
    pair_teardown
    IPERF_PID=''
}

# impls_of PAIR: the pair's client and server implementations.
impls_of() {
    case $1 in
        ovpn) SERVER_IMPL=openvpn CLIENT_IMPL=openvpn ;;
        wb|wbbefore) SERVER_IMPL=wirebridge CLIENT_IMPL=wirebridge ;;  # wbbefore: the --before binary
        wbclient) SERVER_IMPL=openvpn CLIENT_IMPL=wirebridge ;;
        wbserver) SERVER_IMPL=wirebridge CLIENT_IMPL=openvpn ;;
        plain) SERVER_IMPL=none CLIENT_IMPL=none ;;  # no VPN: iperf3 straight over the veth
        *) return 1 ;;
    esac
}

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
    if [ -n "${PIN:-}" ]; then
        # Every thread, and the threads they start later (workers start at connect: they inherit).
        taskset -a -p -c "$PIN_SERVER" "$SERVER_PID" > /dev/null && taskset -a -p -c "$PIN_CLIENT" "$CLIENT_PID" > /dev/null \
            || { log "--pin: taskset failed"; return 1; }
    fi
    start_iperf3_server
}

start_iperf3_server() {
    ip netns exec "$NS_A" ${PIN_RECV:+taskset -c "$PIN_RECV"} iperf3 -s -B "$TARGET_IP" -p $IPERF_PORT > "$LOGS/iperf3-server.log" 2>&1 &
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
