#!/bin/bash
# Interop with data path workers: wirebridge as the client with `tunnel.workers: 2` (UDP) against
# stock `openvpn --mode server`, and wirebridge as the hub with `tunnel.workers: 2` against a stock
# `openvpn --client` (topology in lib.sh).
#
#   workers.sh [--wirebridge PATH] [--only REGEX] [--list] [--keep]
#
# Cases: workers-up: two workers start (two TAP queues), ARP and ping cross, 20 MB each way
# byte-exact, status counts the workers' traffic. workers-reneg: renegotiation every 3 s under
# steady pings (no loss) and a 20 MB transfer across several rekeys. workers-reload: SIGHUP to 1
# worker and back to 2 with the session kept, traffic still byte-exact. workers-stop: 32 UDP flows
# spread over both workers' TAP queues; SIGTERM ends the process (every worker joined, each
# reporting what it sealed) within the bound. hub-up: the hub's two workers (TAP queue and
# SO_REUSEPORT socket each) carry a stock openvpn client's traffic: ARP, ping, 20 MB each way
# byte-exact, the hub's status lists both workers and their packets add up to the transfers.
# hub-reneg: renegotiation every 3 s (openvpn's reneg-sec and the hub's) under steady pings (no
# loss) and a 20 MB transfer across the rekeys; then SIGTERM under a ping flood ends the hub cleanly.
# Prints PASS/FAIL per case and "N passed, N failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

CASES=(workers-up workers-reneg workers-reload workers-stop hub-up hub-reneg)
wb_case_args workers.sh 2,19 "$@"
wb_case_prepare workers.sh

WORKERS=2
# The pair's client (tests/lib/vpn_pair.sh) gets the workers key in its tunnel section.
WB_CLIENT_TUNNEL="  workers: $WORKERS"

bring_up() {
    SERVER_IMPL=openvpn CLIENT_IMPL=wirebridge
    setup_underlay || return 1
    start_server || return 1
    start_client || return 1
    wait_tunnel 40 || return 1
    wait_for 10 "the client to run $WORKERS workers" grep -q "data path: $WORKERS workers" "$LOGS/wirebridge-client.log" || return 1
    # Both TAP queues are in use: the device is multi-queue and has two queue fds open.
    inb ip -d link show "$TAP_C" | grep -q multi_queue || die "the client's TAP is not multi-queue" || return 1
}

# The workers' receive and send counters add up in the status: more than the transfers carried.
check_worker_status() {
    local json bytes_out
    json=$("$WIREBRIDGE" status --json -c "$LOGS/client.yaml") || die "status failed: $json" || return 1
    bytes_out=$(grep -o '"bytes_out":[0-9]*' <<<"$json" | head -n1 | cut -d: -f2)
    [ "${bytes_out:-0}" -ge 20000000 ] || die "status counts $bytes_out bytes out, expected the 20 MB transfer" || return 1
    check_status || return 1
}

case_up() {
    bring_up || return 1
    check_ping_and_arp || return 1
    check_transfers || return 1
    check_worker_status || return 1
}

ovpn_key_count() { grep -c "Control Channel: TLS" "$LOGS"/openvpn-*.log 2>/dev/null | awk -F: '{s+=$NF} END {print s+0}'; }

case_reneg() {
    RENEG=3
    bring_up || return 1
    check_ping_and_arp || return 1
    local before after
    before=$(ovpn_key_count)
    ina ping -c 150 -i 0.1 -W 2 "$CLIENT_TUN_IP" > "$LOGS/reneg-ping.log" 2>&1
    grep -q " 0% packet loss" "$LOGS/reneg-ping.log" || die "pings lost across renegotiation: $(grep loss "$LOGS/reneg-ping.log")" || return 1
    transfer "$NS_B" "$NS_A" $TUN_SERVER_IP 5001 "$PKI/data20m" || return 1
    transfer "$NS_A" "$NS_B" "$CLIENT_TUN_IP" 5002 "$PKI/data20m" || return 1
    after=$(ovpn_key_count)
    ((after - before >= 3)) || die "only $((after - before)) new keys with reneg every ${RENEG}s" || return 1
    ! grep -q "auth_failed\|packet_id_wrap" "$LOGS/wirebridge-client.log" || die "data packets refused across rekeys" || return 1
    log "$((after - before)) renegotiations under traffic with 2 workers, 0% loss"
}

case_reload() {
    bring_up || return 1
    check_ping_and_arp || return 1
    sed -i 's/^  workers: 2$/  workers: 1/' "$LOGS/client.yaml"
    kill -HUP "$CLIENT_PID"
    wait_for 10 "the reload to 1 worker" grep -q "data path workers: 1" "$LOGS/wirebridge-client.log" || return 1
    transfer "$NS_B" "$NS_A" $TUN_SERVER_IP 5001 "$PKI/data20m" || return 1
    sed -i 's/^  workers: 1$/  workers: 2/' "$LOGS/client.yaml"
    kill -HUP "$CLIENT_PID"
    wait_for 10 "the reload back to 2 workers" grep -q "data path workers: 2" "$LOGS/wirebridge-client.log" || return 1
    [ "$(grep -c "data path: 2 workers" "$LOGS/wirebridge-client.log")" -ge 2 ] || die "the workers did not start again" || return 1
    transfer "$NS_A" "$NS_B" "$CLIENT_TUN_IP" 5002 "$PKI/data20m" || return 1
    [ "$(grep -c "tunnel up" "$LOGS/wirebridge-client.log")" = 1 ] || die "the session was not kept across the reloads" || return 1
}

case_stop() {
    bring_up || return 1
    check_ping_and_arp || return 1
    # 32 UDP flows (ports) through the tunnel: the TAP spreads them over both queues by flow hash,
    # so both workers seal (all 32 on one queue: 1 in 2^31).
    inb bash -c "for i in \$(seq 10); do for p in \$(seq 6000 6031); do echo x > /dev/udp/$TUN_SERVER_IP/\$p; done; done" 2>/dev/null
    # Traffic in flight while it stops.
    ina ping -f -c 20000 -W 1 "$CLIENT_TUN_IP" > /dev/null 2>&1 &
    local flood=$!
    sleep 1
    local t0=$SECONDS
    stop_pid "$CLIENT_PID" || die "the client needed SIGKILL (a worker not joined?)" || { kill $flood 2>/dev/null; return 1; }
    kill $flood 2>/dev/null; wait $flood 2>/dev/null
    log "client stopped in $((SECONDS - t0))s"
    grep -q "SIGTERM: stopping" "$LOGS/wirebridge-client.log" || die "no clean stop in the log" || return 1
    grep -q "ERROR\|AddressSanitizer\|runtime error" "$LOGS/wirebridge-client.log" && die "errors at stop: $(grep -m3 "ERROR\|AddressSanitizer\|runtime error" "$LOGS/wirebridge-client.log")" && return 1
    wait_for 10 "client TAP gone" sh -c "! ip netns exec $NS_B ip link show $TAP_C" || return 1
    local w
    for w in 0 1; do
        local sealed
        sealed=$(sed -n "s/.*worker $w stopped: \([0-9]*\) packets sealed.*/\1/p" "$LOGS/wirebridge-client.log" | tail -n1)
        [ "${sealed:-0}" -ge 30 ] || die "worker $w sealed ${sealed:-no} packets: the flows did not spread over the TAP queues" || return 1
        log "worker $w sealed $sealed packets"
    done
}

# The hub (wirebridge server) with workers, a stock openvpn client.
bring_up_hub() {
    SERVER_IMPL=wirebridge CLIENT_IMPL=openvpn
    WB_CLIENT_TUNNEL='' WB_SERVER_TUNNEL="  workers: $WORKERS"
    setup_underlay || return 1
    start_server || return 1
    start_client || return 1
    wait_tunnel 40 || return 1
    wait_for 10 "the hub to run $WORKERS workers" grep -q "data path: $WORKERS workers" "$LOGS/wirebridge-server.log" || return 1
}

# The hub's status: both workers listed; what they opened and sealed covers both 20 MB transfers
# (about 14,000 full-size packets each way; the main thread takes only control and ping packets).
check_hub_workers() {
    local json n in out
    json=$("$WIREBRIDGE" status --json -c "$LOGS/server.yaml") || die "hub status failed: $json" || return 1
    n=$(jq '.workers | length' <<<"$json")
    [ "$n" = "$WORKERS" ] || die "the hub's status lists $n workers: $json" || return 1
    in=$(jq '[.workers[].packets_in] | add' <<<"$json")
    out=$(jq '[.workers[].packets_out] | add' <<<"$json")
    ((in >= 13000 && out >= 13000)) || die "the workers opened $in and sealed $out packets; the transfers need 13,000+ each way" || return 1
    log "hub workers: $(jq -c '[.workers[] | {index, packets_in, packets_out}]' <<<"$json")"
    check_status || return 1
}

case_hub_up() {
    bring_up_hub || return 1
    check_ping_and_arp || return 1
    check_transfers || return 1
    check_hub_workers || return 1
}

case_hub_reneg() {
    RENEG=3
    bring_up_hub || return 1
    check_ping_and_arp || return 1
    local before after
    before=$(ovpn_key_count)
    ina ping -c 150 -i 0.1 -W 2 "$CLIENT_TUN_IP" > "$LOGS/reneg-ping.log" 2>&1
    grep -q " 0% packet loss" "$LOGS/reneg-ping.log" || die "pings lost across renegotiation: $(grep loss "$LOGS/reneg-ping.log")" || return 1
    transfer "$NS_B" "$NS_A" $TUN_SERVER_IP 5001 "$PKI/data20m" || return 1
    after=$(ovpn_key_count)
    ((after - before >= 3)) || die "only $((after - before)) new keys with reneg every ${RENEG}s" || return 1
    local refused="Authenticate/Decrypt packet error\|AEAD Decrypt error"
    ! grep -q "$refused" "$LOGS/openvpn-client.log" || die "openvpn refused data packets across rekeys: $(grep -m3 "$refused" "$LOGS/openvpn-client.log")" || return 1
    log "$((after - before)) renegotiations under traffic with a 2-worker hub, 0% loss"
    # SIGTERM under a ping flood: the hub joins its workers and exits.
    inb ping -f -c 20000 -W 1 "$TUN_SERVER_IP" > /dev/null 2>&1 &
    local flood=$!
    sleep 1
    stop_pid "$SERVER_PID" || die "the hub needed SIGKILL (a worker not joined?)" || { kill $flood 2>/dev/null; return 1; }
    kill $flood 2>/dev/null; wait $flood 2>/dev/null
    grep -q "SIGTERM: stopping" "$LOGS/wirebridge-server.log" || die "no clean stop in the hub's log" || return 1
    grep -q "ERROR\|AddressSanitizer\|runtime error" "$LOGS/wirebridge-server.log" && die "errors at stop: $(grep -m3 "ERROR\|AddressSanitizer\|runtime error" "$LOGS/wirebridge-server.log")" && return 1
    return 0
}

case_run() {
    case $1 in
        workers-up) case_up ;;
        workers-reneg) case_reneg ;;
        workers-reload) case_reload ;;
        workers-stop) case_stop ;;
        hub-up) case_hub_up ;;
        hub-reneg) case_hub_reneg ;;
    esac
}

make_pki "$PKI" || exit 1
wb_run_cases
