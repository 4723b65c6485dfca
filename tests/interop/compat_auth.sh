#!/bin/bash
# Interop for the control-plane options of existing OpenVPN deployments (issue 18), wirebridge
# against stock openvpn 2.6 in both roles (topology in lib.sh); each working case brings the tunnel
# up, ARP and ping cross, and 5 MB go each way byte-exact.
#
#   compat_auth.sh [--wirebridge PATH] [--only REGEX] [--list] [--keep]
#
# userpass-wbclient: an openvpn server with auth-user-pass-verify (via-file) admits the wirebridge
#   site's auth_user_pass; a wrong password gets AUTH_FAILED (the site's log says so, no tunnel).
# userpass-env-wbserver / userpass-file-wbserver: an openvpn client with auth-user-pass is admitted
#   by the hub's auth_user_pass_verify program (via-env / via-file), which sees username, password,
#   common_name, untrusted_ip/port, IV_ variables; a wrong password is refused and the client is
#   told AUTH_FAILED,REASON (from auth_failed_reason_file) at once.
# userpass-deferred-wbserver: the hub's program defers (exit status 2, OpenVPN 2.6's deferred
#   authentication) and leaves a job that writes 1 or 0 into $auth_control_file 3 s later: the right
#   password gets its tunnel only after that job decided, a wrong one is told AUTH_FAILED with the
#   text the job wrote into $auth_failed_reason_file.
# userpass-slow-wbserver: one client's program takes 12 s; meanwhile the hub answers another
#   client's pings (from a third namespace, no loss) and that client's restart (a full handshake
#   with its own program run) completes; then the slow client gets its tunnel too.
# userpass-reneg-wbserver: the hub renegotiates every 4 s and runs the program again each time, as
#   OpenVPN does; once the program refuses the password, the next renegotiation tells the client
#   AUTH_FAILED and ends its session.
# bridgepool-wbserver: the hub's pool as server-bridge GW MASK START END (range .100-.150 of the
#   LAN's /24, route-gateway pushed); a client killed without notice and restarted gets its address
#   back, and again after the hub restarts (tunnel.pool.persist, OpenVPN's ifconfig-pool-persist).
# nopool-wbserver: a hub without pool (server-bridge without arguments): no address pushed,
#   "route-gateway dhcp"; the client sets its own address and traffic passes.
# fingerprint-wbclient / fingerprint-wbserver: self-signed certificates, no CA on either side,
#   peer_fingerprint (openvpn --peer-fingerprint); a wrong fingerprint is refused.
# dh-wbserver: an RSA hub, an openvpn client limited to TLS 1.2 DHE suites: refused without
#   tunnel.dh, connects with it.
# import-wbclient / import-wbserver: an OpenVPN client (server-bridge server) config with inline
#   <ca> <cert> <key> <tls-crypt> blocks, as one hands them out, goes through `wirebridge import`;
#   `wirebridge check` accepts the YAML, and it runs against stock openvpn with a real transfer
#   (the server case also runs the same .ovpn with openvpn first, to prove it is a real config).
# Prints PASS/FAIL per case and "N passed, N failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

CASES=(userpass-wbclient userpass-env-wbserver userpass-file-wbserver userpass-deferred-wbserver userpass-slow-wbserver
       userpass-reneg-wbserver bridgepool-wbserver nopool-wbserver
       fingerprint-wbclient fingerprint-wbserver dh-wbserver import-wbclient import-wbserver)
wb_case_args compat_auth.sh 2,37 "$@"
wb_case_prepare compat_auth.sh
chmod 755 "$WORK"

# A third namespace for a second client (userpass-slow-wbserver): ${T}c, reaching the hub's
# underlay address through ${T}u2/${T}u3 ($PAIR_NET -> .1 of the next /24).
NS_C=${T}c
TAP_X=${T}tx
C_NET=${PAIR_NET%.*}.$((${PAIR_NET##*.} + 1))
cleanup() { pair_teardown; wb_ns_del "$NS_C"; }

setup_third() {
    ip netns add "$NS_C" || return 1
    ip link add "${T}u2" netns "$NS_A" type veth peer name "${T}u3" netns "$NS_C" || return 1
    ina ip addr add "$C_NET.1/24" dev "${T}u2" && ina ip link set "${T}u2" up || return 1
    ip -n "$NS_C" addr add "$C_NET.2/24" dev "${T}u3" && ip -n "$NS_C" link set "${T}u3" up && ip -n "$NS_C" link set lo up || return 1
    ip -n "$NS_C" route add "$PAIR_NET.0/24" via "$C_NET.1"
}

# start_second_client USERPASS_FILE: stock openvpn in ${T}c with the same certificate.
start_second_client() {
    ip netns exec "$NS_C" "$OPENVPN" --client --dev "$TAP_X" --dev-type tap --proto udp --remote "$SERVER_IP" $PORT \
        --nobind --ca "$PKI/ca.crt" --cert "$PKI/client.crt" --key "$PKI/client.key" --remote-cert-tls server \
        $(ovpn_wrap_args 1) --data-ciphers "$CIPHER" --connect-retry 1 1 --verb 3 --auth-user-pass "$1" \
        > "$LOGS/openvpn-client2.log" 2>&1 &
    PIDS+=($!)
}
second_client_ip() { ip -n "$NS_C" -4 -o addr show dev "$TAP_X" 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | grep "^${PAIR_TUN_NET//./\\.}\."; }

transfers() {
    check_ping_and_arp || return 1
    transfer "$NS_B" "$NS_A" $TUN_SERVER_IP 5001 "$WORK/data5m" || return 1
    transfer "$NS_A" "$NS_B" "$CLIENT_TUN_IP" 5002 "$WORK/data5m" || return 1
}

# The verify program both sides use: admits user "site" with password "right pass", logs what it saw.
write_verify_script() {  # FILE LOG
    cat > "$1" <<SCRIPT
#!/bin/sh
# \$1: the via-file (username, password lines), else \$username/\$password from the environment.
if [ -n "\${1:-}" ]; then u=\$(sed -n 1p "\$1"); p=\$(sed -n 2p "\$1"); mode=file:\$(stat -c %a "\$1"); else u=\$username; p=\$password; mode=env; fi
echo "mode=\$mode user=\$u cn=\$common_name ip=\$untrusted_ip port=\$untrusted_port type=\$script_type ver=\$IV_VER" >> "$2"
if [ "\$u" = site ] && [ "\$p" = "right pass" ]; then exit 0; fi
[ -n "\${auth_failed_reason_file:-}" ] && echo "wrong password for \$u" > "\$auth_failed_reason_file"
exit 1
SCRIPT
    chmod 755 "$1"
}

# wb_server_yaml FILE POOL_LINE [EXTRA_LINES]: the harness's hub YAML with another pool line.
wb_server_yaml() {
    local ka=($KEEPALIVE)
    cat > "$1" <<YAML
site: $PAIR_PREFIX-server
tunnel:
  role: server
  proto: $PROTO
  local: $SERVER_IP:$PORT
  device: $TAP_S
  address: $TUN_SERVER_IP/24
$2
  ca: $PKI/ca.crt
  cert: $PKI/server.crt
  key: $PKI/server.key
  tls_crypt: $PKI/tc.key
  data_ciphers: [$CIPHER]
  keepalive: {interval: ${ka[0]}, timeout: ${ka[1]}}
${3:-}
log: {level: $WB_LOG_LEVEL}
control: {socket: $LOGS/server.sock}
YAML
}

run_wb_server() {  # YAML
    ip netns exec "$NS_A" "$WIREBRIDGE" run -c "$1" >> "$LOGS/wirebridge-server.log" 2>&1 &
    PIDS+=($!)
    SERVER_PID=$!
}

# Self-signed certificates (no CA) for the fingerprint cases: DIR/{server,client}.{crt,key,fp}.
make_selfsigned() {
    (
        cd "$1" || exit 1
        for who in server client; do
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=$PAIR_PREFIX-$who-selfsigned" \
                -keyout ss-$who.key -out ss-$who.crt 2>/dev/null || exit 1
            openssl x509 -in ss-$who.crt -noout -fingerprint -sha256 | cut -d= -f2 > ss-$who.fp
        done
    )
}

ovpn_ss_server() {  # CLIENT_FP
    if ! ina ip link show "$TAP_S" >/dev/null 2>&1; then
        ina ip tuntap add dev "$TAP_S" mode tap && ina ip addr add "$TUN_SERVER_IP/24" dev "$TAP_S" && ina ip link set "$TAP_S" up
    fi
    ip netns exec "$NS_A" "$OPENVPN" --mode server --tls-server --dev "$TAP_S" --dev-type tap --proto udp \
        --local "$SERVER_IP" --port $PORT --server-bridge "$TUN_SERVER_IP" 255.255.255.0 "$PAIR_TUN_NET.100" "$PAIR_TUN_NET.150" \
        --cert "$PKI/ss-server.crt" --key "$PKI/ss-server.key" --dh none --peer-fingerprint "$1" \
        --tls-crypt "$PKI/tc.key" --data-ciphers "$CIPHER" --keepalive 10 60 --verb 3 > "$LOGS/openvpn-server.log" 2>&1 &
    PIDS+=($!)
    SERVER_PID=$!
}

ovpn_ss_client() {  # SERVER_FP
    ip netns exec "$NS_B" "$OPENVPN" --client --dev "$TAP_C" --dev-type tap --proto udp --remote "$SERVER_IP" $PORT \
        --nobind --cert "$PKI/ss-client.crt" --key "$PKI/ss-client.key" --peer-fingerprint "$1" \
        --tls-crypt "$PKI/tc.key" --data-ciphers "$CIPHER" --connect-retry 1 1 --verb 3 > "$LOGS/openvpn-client.log" 2>&1 &
    PIDS+=($!)
    CLIENT_PID=$!
}

wb_ss_yaml() {  # FILE ROLE FINGERPRINT
    local side=client cert=ss-client
    [ "$2" = server ] && side=server cert=ss-server
    {
        echo "site: $PAIR_PREFIX-$side"
        echo "tunnel:"
        echo "  role: $2"
        if [ "$2" = server ]; then
            echo "  local: $SERVER_IP:$PORT"
            echo "  address: $TUN_SERVER_IP/24"
            echo "  pool: $PAIR_TUN_NET.0/24"
            echo "  device: $TAP_S"
        else
            echo "  remote: [$SERVER_IP:$PORT]"
            echo "  device: $TAP_C"
        fi
        echo "  cert: $PKI/$cert.crt"
        echo "  key: $PKI/$cert.key"
        echo "  peer_fingerprint: [\"$3\"]"
        echo "  tls_crypt: $PKI/tc.key"
        echo "  data_ciphers: [$CIPHER]"
        echo "log: {level: $WB_LOG_LEVEL}"
        echo "control: {socket: $LOGS/$side.sock}"
    } > "$1"
}

# The deferring program: exit status 2 at once; a job decides 3 s later through auth_control_file.
write_deferred_script() {  # FILE LOG
    cat > "$1" <<SCRIPT
#!/bin/sh
echo "start user=\$username acf=\${auth_control_file:+set}" >> "$2"
(
    sleep 3
    if [ "\$username" = site ] && [ "\$password" = "right pass" ]; then
        echo "decided 1 user=\$username" >> "$2"
        echo 1 > "\$auth_control_file"
    else
        echo "deferred refusal for \$username" > "\$auth_failed_reason_file"
        echo "decided 0 user=\$username" >> "$2"
        echo 0 > "\$auth_control_file"
    fi
) < /dev/null > /dev/null 2>&1 &
exit 2
SCRIPT
    chmod 755 "$1"
}

# The slow program: user "slow" takes 12 s, the others none.
write_slow_script() {  # FILE LOG
    cat > "$1" <<SCRIPT
#!/bin/sh
echo "start user=\$username" >> "$2"
[ "\$username" = slow ] && sleep 12
echo "done user=\$username" >> "$2"
[ "\$password" = "right pass" ]
SCRIPT
    chmod 755 "$1"
}

client_restart_same_address() {  # what: the client is killed without notice and comes back
    local before=$CLIENT_TUN_IP
    kill -9 "$CLIENT_PID"
    wait_for 10 "client gone" sh -c "! kill -0 $CLIENT_PID"
    inb ip link del "$TAP_C" 2>/dev/null
    start_openvpn_client || return 1
    wait_tunnel 40 || return 1
    [ "$CLIENT_TUN_IP" = "$before" ] || die "$1: the client got $CLIENT_TUN_IP, it had $before" || return 1
    log "$1: the client got its address $before back"
}

case_run() {
    case $1 in
        userpass-wbclient)
            SERVER_IMPL=openvpn CLIENT_IMPL=wirebridge
            write_verify_script "$WORK/verify.sh" "$LOGS/verify.log"
            printf 'site\nright pass\n' > "$WORK/up-right"
            printf 'site\nwrong pass\n' > "$WORK/up-wrong"
            OVPN_SERVER_EXTRA=(--script-security 2 --auth-user-pass-verify "$WORK/verify.sh" via-file --tmp-dir "$WORK")
            WB_CLIENT_TUNNEL="  auth_user_pass: $WORK/up-right"
            setup_underlay && start_server && start_client || return 1
            wait_tunnel 40 || return 1
            transfers || return 1
            grep -q "mode=file:600 user=site cn=$PAIR_PREFIX-client" "$LOGS/verify.log" || die "the server's script did not see the site's username" || return 1
            stop_pid "$CLIENT_PID"
            wait_for 10 "client TAP gone" sh -c "! ip netns exec $NS_B ip link show $TAP_C"
            WB_CLIENT_TUNNEL="  auth_user_pass: $WORK/up-wrong"
            start_client || return 1
            wait_for 30 "the site to log AUTH_FAILED" grep -q "AUTH_FAILED" "$LOGS/wirebridge-client.log" || return 1
            ! have_client_ip || die "a wrong password got a tunnel" || return 1
            log "site told: $(grep -m1 AUTH_FAILED "$LOGS/wirebridge-client.log")" ;;
        userpass-env-wbserver|userpass-file-wbserver)
            local method=via-env
            [ "$1" = userpass-file-wbserver ] && method=via-file
            SERVER_IMPL=wirebridge CLIENT_IMPL=openvpn
            write_verify_script "$WORK/verify.sh" "$LOGS/verify.log"
            printf 'site\nright pass\n' > "$WORK/up-right"
            printf 'site\nwrong pass\n' > "$WORK/up-wrong"
            WB_SERVER_TUNNEL="  auth_user_pass_verify: {command: $WORK/verify.sh, method: $method, timeout: 20}"
            OVPN_CLIENT_EXTRA=(--auth-user-pass "$WORK/up-right")
            setup_underlay && start_server && start_client || return 1
            wait_tunnel 40 || return 1
            transfers || return 1
            local want="mode=env"
            [ $method = via-file ] && want="mode=file:600"
            grep -q "$want user=site cn=$PAIR_PREFIX-client ip=$CLIENT_IP port=[0-9]* type=user-pass-verify ver=2\." "$LOGS/verify.log" \
                || die "the hub's program did not get OpenVPN's variables: $(cat "$LOGS/verify.log")" || return 1
            log "the program saw: $(head -n1 "$LOGS/verify.log")"
            stop_pid "$CLIENT_PID"
            wait_for 10 "client TAP gone" sh -c "! ip netns exec $NS_B ip link show $TAP_C"
            OVPN_CLIENT_EXTRA=(--auth-user-pass "$WORK/up-wrong")
            start_client || return 1
            refused_by_hub "refused by auth_user_pass_verify" "AUTH_FAILED" || return 1
            grep -q "AUTH_FAILED,wrong password for site" "$LOGS/openvpn-client.log" || die "the client was not told the program's reason" || return 1
            # The via-file and reason files are gone.
            [ -z "$(ls /tmp/wirebridge-up-* /tmp/wirebridge-reason-* 2>/dev/null | grep -v "^$")" ] || log "note: other wirebridge temp files exist in /tmp" ;;
        userpass-deferred-wbserver)
            SERVER_IMPL=wirebridge CLIENT_IMPL=openvpn
            write_deferred_script "$WORK/verify.sh" "$LOGS/verify.log"
            printf 'site\nright pass\n' > "$WORK/up-right"
            printf 'site\nwrong pass\n' > "$WORK/up-wrong"
            WB_SERVER_TUNNEL="  auth_user_pass_verify: {command: $WORK/verify.sh, method: via-env, timeout: 20}"
            OVPN_CLIENT_EXTRA=(--auth-user-pass "$WORK/up-right")
            setup_underlay && start_server && start_client || return 1
            wait_tunnel 40 || return 1
            # No tunnel before the job wrote its verdict (a hub taking status 2 as success fails here).
            grep -q "decided 1 user=site" "$LOGS/verify.log" || die "the client got its tunnel before the deferred verdict: $(cat "$LOGS/verify.log")" || return 1
            grep -q "start user=site acf=set" "$LOGS/verify.log" || die "the program saw no auth_control_file" || return 1
            grep -q "deferred (exit status 2); waiting for" "$LOGS/wirebridge-server.log" || die "the hub did not log the deferral" || return 1
            log "hub: $(grep -m1 "deferred (exit status 2)" "$LOGS/wirebridge-server.log")"
            transfers || return 1
            stop_pid "$CLIENT_PID"
            wait_for 10 "client TAP gone" sh -c "! ip netns exec $NS_B ip link show $TAP_C"
            OVPN_CLIENT_EXTRA=(--auth-user-pass "$WORK/up-wrong")
            start_client || return 1
            wait_for 30 "the deferred refusal" grep -q "decided 0 user=site" "$LOGS/verify.log" || return 1
            refused_by_hub "refused by auth_user_pass_verify" "AUTH_FAILED" || return 1
            grep -q "AUTH_FAILED,deferred refusal for site" "$LOGS/openvpn-client.log" || die "the client was not told the job's reason" || return 1 ;;
        userpass-slow-wbserver)
            SERVER_IMPL=wirebridge CLIENT_IMPL=openvpn
            write_slow_script "$WORK/verify.sh" "$LOGS/verify.log"
            printf 'site\nright pass\n' > "$WORK/up-right"
            printf 'slow\nright pass\n' > "$WORK/up-slow"
            WB_SERVER_TUNNEL="  auth_user_pass_verify: {command: $WORK/verify.sh, method: via-env, timeout: 30}
  duplicate_cn: true"
            OVPN_CLIENT_EXTRA=(--auth-user-pass "$WORK/up-right")
            setup_underlay && setup_third && start_server && start_client || return 1
            wait_tunnel 40 || return 1
            check_ping_and_arp || return 1
            start_second_client "$WORK/up-slow"
            wait_for 20 "the slow program to start" grep -q "start user=slow" "$LOGS/verify.log" || return 1
            # While it runs: 20 pings to the first client, none lost.
            local got
            got=$(ina ping -c 20 -i 0.2 -W 1 "$CLIENT_TUN_IP" | awk '/packets transmitted/ { print $4 }')
            log "pings during the slow program: $got of 20 answered"
            [ "${got:-0}" -ge 20 ] || die "only ${got:-0} of 20 pings answered while the slow program ran" || return 1
            ! grep -q "done user=slow" "$LOGS/verify.log" || die "the slow program ended before the pings did: the check proves nothing" || return 1
            # And a full handshake: the first client restarts and gets its tunnel back.
            kill -9 "$CLIENT_PID"
            wait_for 10 "client gone" sh -c "! kill -0 $CLIENT_PID"
            inb ip link del "$TAP_C" 2>/dev/null
            start_openvpn_client || return 1
            wait_tunnel 40 || return 1
            ! grep -q "done user=slow" "$LOGS/verify.log" || die "the restarted client got its tunnel only after the slow program ended" || return 1
            log "the first client reconnected while the slow program still ran"
            ina ping -c3 -i0.2 -W2 "$CLIENT_TUN_IP" >/dev/null || die "no ping to the reconnected client" || return 1
            # Then the slow one is admitted.
            wait_for 40 "the second client's address" second_client_ip || return 1
            local ip2
            ip2=$(second_client_ip)
            ina ping -c3 -i0.2 -W2 "$ip2" >/dev/null || die "no ping to the second client at $ip2" || return 1
            log "the slow client got $ip2 after its program ended" ;;
        userpass-reneg-wbserver)
            SERVER_IMPL=wirebridge CLIENT_IMPL=openvpn RENEG=4
            write_verify_script "$WORK/verify.sh" "$LOGS/verify.log"
            printf 'site\nright pass\n' > "$WORK/up-right"
            WB_SERVER_TUNNEL="  auth_user_pass_verify: {command: $WORK/verify.sh, method: via-env, timeout: 20}"
            OVPN_CLIENT_EXTRA=(--auth-user-pass "$WORK/up-right")
            setup_underlay && start_server && start_client || return 1
            wait_tunnel 40 || return 1
            check_ping_and_arp || return 1
            wait_for 20 "the program run again at renegotiations" sh -c "[ \$(wc -l < $LOGS/verify.log) -ge 3 ]" || return 1
            ina ping -c2 -W2 "$CLIENT_TUN_IP" >/dev/null || die "no traffic after the renegotiations" || return 1
            log "the program ran $(wc -l < "$LOGS/verify.log") times; now it refuses the password"
            sed -i 's/"right pass"/"new pass"/' "$WORK/verify.sh"
            wait_for 20 "the hub to refuse the client at a renegotiation" grep -q "refused by auth_user_pass_verify at a renegotiation" "$LOGS/wirebridge-server.log" || return 1
            wait_for 10 "the client to be told AUTH_FAILED" grep -q "AUTH_FAILED" "$LOGS/openvpn-client.log" || return 1
            log "hub: $(grep -m1 "at a renegotiation" "$LOGS/wirebridge-server.log")" ;;
        bridgepool-wbserver)
            SERVER_IMPL=wirebridge CLIENT_IMPL=openvpn
            setup_underlay || return 1
            wb_server_yaml "$LOGS/server.yaml" "  pool: {subnet: $PAIR_TUN_NET.0/24, start: $PAIR_TUN_NET.100, end: $PAIR_TUN_NET.150, gateway: $TUN_SERVER_IP, persist: $WORK/pool.txt}"
            run_wb_server "$LOGS/server.yaml"
            start_client || return 1
            wait_tunnel 40 || return 1
            local n=${CLIENT_TUN_IP##*.}
            ((n >= 100 && n <= 150)) || die "the client got $CLIENT_TUN_IP, outside .100-.150" || return 1
            grep -q "route-gateway $TUN_SERVER_IP" "$LOGS/openvpn-client.log" || die "no route-gateway $TUN_SERVER_IP pushed" || return 1
            inb ip -o -4 addr show dev "$TAP_C" | grep -q "$CLIENT_TUN_IP/24" || die "the client's netmask is not the LAN's /24" || return 1
            transfers || return 1
            grep -qx "$PAIR_PREFIX-client,$CLIENT_TUN_IP," "$WORK/pool.txt" || die "pool file: $(cat "$WORK/pool.txt")" || return 1
            client_restart_same_address "client restart" || return 1
            # The hub restarts (the client reconnects by itself): the address comes from the file.
            stop_pid "$SERVER_PID"
            # Another CN remembered at the next address: the client still gets its own.
            printf 'someone-else,%s.%s,\n' "$PAIR_TUN_NET" $((${CLIENT_TUN_IP##*.} + 1)) >> "$WORK/pool.txt"
            run_wb_server "$LOGS/server.yaml"
            kill -9 "$CLIENT_PID"
            inb ip link del "$TAP_C" 2>/dev/null
            local had=$CLIENT_TUN_IP
            start_openvpn_client || return 1
            wait_tunnel 40 || return 1
            [ "$CLIENT_TUN_IP" = "$had" ] || die "after the hub's restart the client got $CLIENT_TUN_IP, it had $had" || return 1
            check_ping_and_arp ;;
        nopool-wbserver)
            SERVER_IMPL=wirebridge CLIENT_IMPL=openvpn
            setup_underlay || return 1
            wb_server_yaml "$LOGS/server.yaml" ""
            run_wb_server "$LOGS/server.yaml"
            start_client || return 1
            wait_for 40 "the openvpn client to complete" grep -q "Initialization Sequence Completed" "$LOGS/openvpn-client.log" || return 1
            grep -q "route-gateway dhcp" "$LOGS/openvpn-client.log" || die "no route-gateway dhcp pushed" || return 1
            ! grep -q "ifconfig $PAIR_TUN_NET" "$LOGS/openvpn-client.log" || die "an address was pushed" || return 1
            # DHCP's part: the client takes an address on the LAN itself.
            inb ip addr add "$PAIR_TUN_NET.77/24" dev "$TAP_C"
            inb ip link set "$TAP_C" up  # openvpn brings the TAP up only with an ifconfig
            CLIENT_TUN_IP=$PAIR_TUN_NET.77
            transfers ;;
        fingerprint-wbclient|fingerprint-wbserver)
            make_selfsigned "$PKI" || return 1
            local sfp cfp
            sfp=$(cat "$PKI/ss-server.fp") cfp=$(cat "$PKI/ss-client.fp")
            setup_underlay || return 1
            if [ "$1" = fingerprint-wbclient ]; then
                ovpn_ss_server "$cfp"
                wb_ss_yaml "$LOGS/client.yaml" client "${cfp}"  # the wrong one: its own
                ip netns exec "$NS_B" "$WIREBRIDGE" run -c "$LOGS/client.yaml" > "$LOGS/wirebridge-client.log" 2>&1 &
                PIDS+=($!) CLIENT_PID=$!
                wait_for 30 "the site to refuse the server's fingerprint" grep -q "is not a configured peer-fingerprint" "$LOGS/wirebridge-client.log" || return 1
                ! have_client_ip || die "a wrong fingerprint got a tunnel" || return 1
                log "site refused: $(grep -m1 "is not a configured peer-fingerprint" "$LOGS/wirebridge-client.log")"
                stop_pid "$CLIENT_PID"
                wait_for 10 "client TAP gone" sh -c "! ip netns exec $NS_B ip link show $TAP_C"
                wb_ss_yaml "$LOGS/client.yaml" client "$sfp"
                ip netns exec "$NS_B" "$WIREBRIDGE" run -c "$LOGS/client.yaml" >> "$LOGS/wirebridge-client.log" 2>&1 &
                PIDS+=($!) CLIENT_PID=$!
            else
                wb_ss_yaml "$LOGS/server.yaml" server "$sfp"  # the wrong one: its own
                run_wb_server "$LOGS/server.yaml"
                ovpn_ss_client "$sfp"
                wait_for 30 "the hub to refuse the client's fingerprint" grep -q "is not a configured peer-fingerprint" "$LOGS/wirebridge-server.log" || return 1
                ! have_client_ip || die "a wrong fingerprint got a tunnel" || return 1
                log "hub refused: $(grep -m1 "is not a configured peer-fingerprint" "$LOGS/wirebridge-server.log")"
                stop_pid "$SERVER_PID"
                wb_ss_yaml "$LOGS/server.yaml" server "$cfp"
                run_wb_server "$LOGS/server.yaml"
            fi
            wait_tunnel 40 || return 1
            transfers ;;
        dh-wbserver)
            PKI=$(pki_variant rsa)
            (
                cd "$PKI" || exit 1
                openssl req -newkey rsa:2048 -nodes -subj "/CN=$PAIR_PREFIX-server" -keyout server.key -out server.csr 2>/dev/null &&
                    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.crt 2>/dev/null &&
                    openssl genpkey -genparam -algorithm DH -pkeyopt dh_param:ffdhe2048 -out dh.pem 2>/dev/null
            ) || die "cannot make the RSA server certificate or DH parameters" || return 1
            grep -q "BEGIN DH PARAMETERS" "$PKI/dh.pem" || die "dh.pem: $(head -n1 "$PKI/dh.pem")" || return 1
            SERVER_IMPL=wirebridge CLIENT_IMPL=openvpn
            OVPN_CLIENT_EXTRA=(--tls-version-max 1.2 --tls-cipher DHE-RSA-AES256-GCM-SHA384)
            setup_underlay && start_server && start_client || return 1
            wait_for 30 "the hub to refuse a DHE-only client without dh" grep -q "no shared cipher\|no_shared_cipher\|NO_SHARED_CIPHER" "$LOGS/wirebridge-server.log" || return 1
            ! have_client_ip || die "a DHE-only client connected without dh" || return 1
            stop_pid "$CLIENT_PID"; stop_pid "$SERVER_PID"
            inb ip link del "$TAP_C" 2>/dev/null
            WB_SERVER_TUNNEL="  dh: $PKI/dh.pem"
            start_server && start_client || return 1
            wait_tunnel 40 || return 1
            grep -q "DHE-RSA-AES256-GCM-SHA384\|Control Channel: TLSv1.2, cipher TLSv1.2 DHE" "$LOGS/openvpn-client.log" || die "the client's log shows no DHE suite" || return 1
            log "$(grep -m1 'Control Channel' "$LOGS/openvpn-client.log")"
            transfers ;;
        import-wbclient)
            SERVER_IMPL=openvpn CLIENT_IMPL=wirebridge
            {
                echo "client"; echo "dev $TAP_C"; echo "dev-type tap"; echo "proto udp"; echo "remote $SERVER_IP $PORT"
                echo "nobind"; echo "persist-key"; echo "persist-tun"; echo "remote-cert-tls server"
                echo "data-ciphers $CIPHER"; echo "verb 3"
                for b in ca cert key tls-crypt; do
                    local f=$PKI/ca.crt
                    case $b in cert) f=$PKI/client.crt ;; key) f=$PKI/client.key ;; tls-crypt) f=$PKI/tc.key ;; esac
                    echo "<$b>"; cat "$f"; echo "</$b>"
                done
            } > "$LOGS/site.ovpn"
            "$WIREBRIDGE" import "$LOGS/site.ovpn" -o "$LOGS/imported.yaml" --site "$T-imported" > "$LOGS/import.out" 2>&1 \
                || die "import failed: $(cat "$LOGS/import.out")" || return 1
            cat "$LOGS/import.out" >&2
            grep -q "ignored  line 8: persist-tun" "$LOGS/import.out" || die "the report does not name persist-tun as ignored" || return 1
            [ "$(stat -c %a "$LOGS/imported-key.pem")" = 600 ] || die "the key file is not 0600" || return 1
            cmp -s "$LOGS/imported-tc.key" "$PKI/tc.key" || die "the tls-crypt block was not written as it was" || return 1
            "$WIREBRIDGE" check -c "$LOGS/imported.yaml" >&2 || die "wirebridge check refuses the imported YAML" || return 1
            # Refuses to overwrite what it wrote.
            ! "$WIREBRIDGE" import "$LOGS/site.ovpn" -o "$LOGS/imported.yaml" >/dev/null 2>&1 || die "import overwrote its files" || return 1
            setup_underlay && start_server || return 1
            ip netns exec "$NS_B" "$WIREBRIDGE" run -c "$LOGS/imported.yaml" > "$LOGS/wirebridge-client.log" 2>&1 &
            PIDS+=($!) CLIENT_PID=$!
            wait_tunnel 40 || return 1
            transfers ;;
        import-wbserver)
            SERVER_IMPL=wirebridge CLIENT_IMPL=openvpn
            {
                echo "mode server"; echo "tls-server"; echo "dev $TAP_S"; echo "dev-type tap"; echo "proto udp"; echo "local $SERVER_IP"; echo "port $PORT"
                echo "server-bridge $TUN_SERVER_IP 255.255.255.0 $PAIR_TUN_NET.100 $PAIR_TUN_NET.150"
                echo "ifconfig-pool-persist $LOGS/ipp.txt"
                echo "dh none"; echo "keepalive 10 60"; echo "data-ciphers $CIPHER"; echo "persist-tun"; echo "verb 3"
                for b in ca cert key tls-crypt; do
                    local f=$PKI/ca.crt
                    case $b in cert) f=$PKI/server.crt ;; key) f=$PKI/server.key ;; tls-crypt) f=$PKI/tc.key ;; esac
                    echo "<$b>"; cat "$f"; echo "</$b>"
                done
            } > "$LOGS/hub.ovpn"
            setup_underlay || return 1
            # The same file first runs under openvpn (a persistent TAP with the hub's address, as the harness does).
            ina ip tuntap add dev "$TAP_S" mode tap && ina ip addr add "$TUN_SERVER_IP/24" dev "$TAP_S" && ina ip link set "$TAP_S" up
            ip netns exec "$NS_A" "$OPENVPN" --config "$LOGS/hub.ovpn" > "$LOGS/openvpn-server.log" 2>&1 &
            PIDS+=($!) SERVER_PID=$!
            start_client || return 1
            wait_tunnel 40 || return 1
            log "openvpn with hub.ovpn gave the client $CLIENT_TUN_IP"
            stop_pid "$CLIENT_PID"; stop_pid "$SERVER_PID"
            inb ip link del "$TAP_C" 2>/dev/null
            "$WIREBRIDGE" import "$LOGS/hub.ovpn" --site "$T-hub" > "$LOGS/import.out" 2>&1 || die "import failed: $(cat "$LOGS/import.out")" || return 1
            cat "$LOGS/import.out" >&2
            grep -q "pool: {subnet: $PAIR_TUN_NET.0/24, start: $PAIR_TUN_NET.100, end: $PAIR_TUN_NET.150, gateway: $TUN_SERVER_IP" "$LOGS/hub.yaml" \
                || die "the pool is not the server-bridge range: $(cat "$LOGS/hub.yaml")" || return 1
            "$WIREBRIDGE" check -c "$LOGS/hub.yaml" >&2 || die "wirebridge check refuses the imported YAML" || return 1
            run_wb_server "$LOGS/hub.yaml"
            start_client || return 1
            wait_tunnel 40 || return 1
            local n=${CLIENT_TUN_IP##*.}
            ((n >= 100 && n <= 150)) || die "the client got $CLIENT_TUN_IP, outside .100-.150" || return 1
            grep -q "route-gateway $TUN_SERVER_IP" "$LOGS/openvpn-client.log" || die "no route-gateway pushed" || return 1
            transfers ;;
        *) die "unknown case $1" ;;
    esac
}

make_pki "$PKI" || exit 1
head -c 5000000 "$PKI/data20m" > "$WORK/data5m"
wb_run_cases
