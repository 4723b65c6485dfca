#!/bin/bash
# Interop with the OpenVPN options older deployments run (topology in lib.sh), wirebridge against
# stock openvpn 2.6 in both roles; each case brings the tunnel up, ARP and ping cross, and 5 MB go
# each way byte-exact.
#
#   compat.sh [--wirebridge PATH] [--only REGEX] [--list] [--keep]
#
# tls-auth digests (openvpn --auth, wirebridge tls_auth.digest): ta256-wbclient, ta384-wbclient-tcp,
# ta512-wbserver; ta-mismatch-wbclient: a SHA512 server refuses a SHA1 client (openvpn logs the
# HMAC failure, no tunnel); ta-mismatch-wbserver: a SHA1 hub refuses a SHA512 openvpn client, logs
# it once (rate-limited, with a hint) and counts it (status pre_session_auth_failed).
# Compression framing (openvpn comp-lzo / compress; wirebridge tunnel.compress, never compresses):
# complzo-wbclient (`comp-lzo no` on the server and `compress: comp-lzo` here), pushcomplzo-wbclient
# (the server pushes "comp-lzo no", nothing configured here), lz4v2-wbclient and lz4-wbclient (the
# server compresses toward us with allow-compression yes and pushes compress lz4-v2 / lz4: a
# compressible 5 MB crosses byte-exact while the client's underlay receives less than half of it,
# so the peer compressed and we decompressed), complzo-wbserver (an openvpn client with `comp-lzo
# no`), stubv2-wbserver (the hub pushes "compress stub-v2" to a client with no compression option),
# lz4v2-wbserver (a client that compresses and ignores the pushed stub: the hub decompresses);
# lzo-wbclient, lzo-wbserver: the same with LZO (`comp-lzo yes` and allow-compression yes on the
# openvpn side: liblzo2 decompresses here).
# TLS options: noeku-wbserver (a client certificate without EKU is accepted by the hub's default,
# as by openvpn's server), rctclient-wbserver (remote_cert_tls: client refuses it), x509name-wbclient
# (verify_x509_name name-prefix and subject accept the server, a wrong name refuses it), crl-wbserver
# (crl: the client connects, is revoked, the CRL is rewritten, SIGHUP, the client is refused),
# tlsmin-wbserver (tls_version_min 1.3 refuses a client capped at TLS 1.2, accepts it uncapped),
# askpass-wbclient (an encrypted client key opened with the askpass file), rctserver-wbclient (an
# openvpn server presenting a client certificate of the CA without EKU is refused by the site's
# default remote_cert_tls: server, and accepted with remote_cert_tls: none). Each refused client is
# told why (the TLS alert, or AUTH_FAILED for nocipher-wbserver: no common data cipher), not left
# to time out.
# MTU (wirebridge tunnel.mssfix, on by default as openvpn 2.6's `mssfix 1492 mtu`): mss-wbclient,
# mss-wbserver: a 1500-byte underlay, openvpn with --mssfix 0 so that only wirebridge clamps; TCP
# crosses both ways and neither namespace fragmented or reassembled a single outer packet;
# mss0-wbclient: the same with `mssfix: 0` here fragments (the check can fail).
# Fragmentation (openvpn --fragment 1300 on both sides, wirebridge tunnel.fragment: 1300): frag-wbclient,
# frag-wbserver: 1450-byte pings (1492-byte frames, cut in two by the sender, reassembled by the
# receiver) and 5 MB of TCP cross both ways, no datagram on the underlay carries more than 1300
# bytes and no outer IP fragment is made; neither side logs a fragment error.
# tunmtu-wbclient: an openvpn server with tun-mtu 1400 pushes it; the site sizes its TAP to 1400 and
# 1372-byte pings that must not be fragmented (1400-byte IP packets) cross, 1373 bytes do not.
# CBC + HMAC data channel (wirebridge data_ciphers with AES-*-CBC, tunnel.auth = openvpn --auth):
# cbc-wbclient, cbc-wbserver (AES-256-CBC + SHA256, negotiated through data-ciphers both ways),
# cbc128-wbclient-tcp (AES-128-CBC + SHA512 over TCP); each moves 5 MB both ways and openvpn's log
# names the CBC cipher it uses.
# pushignored-wbclient: an openvpn server pushes route, route-gateway, dhcp-option and
# redirect-gateway; the site names the ones it does not apply in one log line, adds no route and no
# default route, and traffic passes.
# Prints PASS/FAIL per case and "N passed, N failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

CASES=(ta256-wbclient ta384-wbclient-tcp ta512-wbserver ta-mismatch-wbclient ta-mismatch-wbserver
       complzo-wbclient pushcomplzo-wbclient lz4v2-wbclient lz4-wbclient
       complzo-wbserver stubv2-wbserver lz4v2-wbserver lzo-wbclient lzo-wbserver
       nocipher-wbserver noeku-wbserver rctclient-wbserver rctserver-wbclient x509name-wbclient crl-wbserver tlsmin-wbserver askpass-wbclient
       mss-wbclient mss-wbserver mss0-wbclient frag-wbclient frag-wbserver tunmtu-wbclient cbc-wbclient cbc-wbserver cbc128-wbclient-tcp
       pushignored-wbclient)
wb_case_args compat.sh 2,49 "$@"
wb_case_prepare compat.sh

up_and_transfer() {  # ROLE (wbclient | wbserver)
    if [ "$1" = wbclient ]; then SERVER_IMPL=openvpn CLIENT_IMPL=wirebridge; else SERVER_IMPL=wirebridge CLIENT_IMPL=openvpn; fi
    setup_underlay || return 1
    start_server || return 1
    start_client || return 1
    wait_tunnel 40 || return 1
    check_ping_and_arp || return 1
    # Pings with a compressible payload too (a compressing peer shrinks them).
    ina ping -c3 -i0.2 -s 1200 -p abcd -W2 "$CLIENT_TUN_IP" >/dev/null || die "large ping server -> client" || return 1
    inb ping -c3 -i0.2 -s 1200 -p abcd -W2 "$TUN_SERVER_IP" >/dev/null || die "large ping client -> server" || return 1
    transfer "$NS_B" "$NS_A" $TUN_SERVER_IP 5001 "$WORK/data5m" || return 1
    transfer "$NS_A" "$NS_B" "$CLIENT_TUN_IP" 5002 "$WORK/data5m" || return 1
}

# compressed_transfer FROM_NS TO_NS TO_IP PORT RX_NS RX_DEV: the compressible file crosses byte-exact
# while RX_DEV (the receiving side's underlay) takes in less than half its size.
compressed_transfer() {
    local from=$1 to=$2 to_ip=$3 port=$4 rx_ns=$5 rx_dev=$6 before after size
    size=$(stat -c %s "$WORK/text5m")
    before=$(ip netns exec "$rx_ns" cat "/sys/class/net/$rx_dev/statistics/rx_bytes")
    transfer "$from" "$to" "$to_ip" "$port" "$WORK/text5m" || return 1
    after=$(ip netns exec "$rx_ns" cat "/sys/class/net/$rx_dev/statistics/rx_bytes")
    log "underlay took in $((after - before)) bytes for the $size-byte compressible file"
    ((after - before < size / 2)) || die "the underlay carried $((after - before)) bytes for $size: the peer did not compress" || return 1
}

# ip_frag_counters: IPv4 fragments created + reassemblies needed, summed over both namespaces.
ip_frag_counters() {
    local ns sum=0 v
    for ns in "$NS_A" "$NS_B"; do
        v=$(ip netns exec "$ns" awk '/^Ip: / { if (!h) { for (i = 2; i <= NF; i++) n[i] = $i; h = 1; next }
            for (i = 2; i <= NF; i++) if (n[i] == "FragCreates" || n[i] == "ReasmReqds") s += $i; print s + 0; exit }' /proc/net/snmp)
        sum=$((sum + v))
    done
    echo "$sum"
}

# mss_case ROLE EXPECT (none | some): the 1500-byte underlay, openvpn not clamping; the transfers
# both ways fragment no outer packet (none) or do (some: wirebridge's clamping turned off).
mss_case() {
    if [ "$1" = wbclient ]; then OVPN_SERVER_EXTRA=(--mssfix 0); else OVPN_CLIENT_EXTRA=(--mssfix 0); fi
    local before after
    if [ "$1" = wbclient ]; then SERVER_IMPL=openvpn CLIENT_IMPL=wirebridge; else SERVER_IMPL=wirebridge CLIENT_IMPL=openvpn; fi
    setup_underlay && start_server && start_client || return 1
    wait_tunnel 40 || return 1
    check_ping_and_arp || return 1
    before=$(ip_frag_counters)
    transfer "$NS_B" "$NS_A" $TUN_SERVER_IP 5001 "$WORK/data5m" || return 1
    transfer "$NS_A" "$NS_B" "$CLIENT_TUN_IP" 5002 "$WORK/data5m" || return 1
    after=$(ip_frag_counters)
    log "outer IPv4 fragments created + reassembled during the transfers: $((after - before))"
    if [ "$2" = none ]; then
        [ $((after - before)) = 0 ] || die "the underlay fragmented $((after - before)) packets" || return 1
        # AES-256-GCM, DATA_V2, UDP over IPv4: the limit openvpn 2.6 computes for TAP (mss_fix:1368).
        local wblog
        wblog=$LOGS/wirebridge-$([ "$1" = wbclient ] && echo client || echo server).log
        grep -q ", mss 1368" "$wblog" || die "wirebridge's log does not say mss 1368" || return 1
        log "$(grep -m1 ", mss 1368" "$wblog")"
    else
        [ $((after - before)) -gt 100 ] || die "only $((after - before)) fragments without clamping: the check sees nothing" || return 1
    fi
}

# hub_auth_failed_at_least N: the hub's status counts N or more pre_session_auth_failed.
hub_auth_failed_at_least() {
    local n
    n=$("$WIREBRIDGE" status --json -c "$LOGS/server.yaml" | grep -o '"pre_session_auth_failed":[0-9]*' | cut -d: -f2)
    [ "${n:-0}" -ge "$1" ]
}

# udp_over_1300: datagrams of more than 1300 bytes of UDP payload (IP length > 1328) that
# reached INPUT in the namespaces (a counting rule is added on the first call).
udp_over_1300() {
    local ns sum=0 v
    for ns in "$NS_A" "$NS_B"; do
        ip netns exec "$ns" iptables -C INPUT -p udp -m length --length 1329:65535 2>/dev/null ||
            ip netns exec "$ns" iptables -A INPUT -p udp -m length --length 1329:65535
        v=$(ip netns exec "$ns" iptables -nvxL INPUT | awk '/length 1329:65535/ { s += $1 } END { print s + 0 }')
        sum=$((sum + v))
    done
    echo "$sum"
}

# frag_case ROLE: both sides run fragment 1300 (see the header).
frag_case() {
    OVPN_SERVER_EXTRA=(--fragment 1300) OVPN_CLIENT_EXTRA=(--fragment 1300)
    WB_SERVER_TUNNEL="  fragment: 1300" WB_CLIENT_TUNNEL="  fragment: 1300"
    if [ "$1" = wbclient ]; then SERVER_IMPL=openvpn CLIENT_IMPL=wirebridge; else SERVER_IMPL=wirebridge CLIENT_IMPL=openvpn; fi
    setup_underlay || return 1
    # wirebridge sends a batch of equal datagrams as one UDP GSO packet, which a veth carries whole
    # (a NIC would cut it): one segment a packet, so that the length match sees each datagram.
    ina ip link set "${T}u0" gso_max_segs 1 && inb ip link set "${T}u1" gso_max_segs 1 || return 1
    start_server && start_client || return 1
    wait_tunnel 40 || return 1
    check_ping_and_arp || return 1
    local big0 frag0 big frag
    big0=$(udp_over_1300) frag0=$(ip_frag_counters)
    ina ping -c5 -i0.2 -s 1450 -W2 "$CLIENT_TUN_IP" >/dev/null || die "1450-byte pings server -> client" || return 1
    inb ping -c5 -i0.2 -s 1450 -W2 "$TUN_SERVER_IP" >/dev/null || die "1450-byte pings client -> server" || return 1
    transfer "$NS_B" "$NS_A" $TUN_SERVER_IP 5001 "$WORK/data5m" || return 1
    transfer "$NS_A" "$NS_B" "$CLIENT_TUN_IP" 5002 "$WORK/data5m" || return 1
    big=$(( $(udp_over_1300) - big0 )) frag=$(( $(ip_frag_counters) - frag0 ))
    log "datagrams over 1300 bytes: $big; outer IPv4 fragments: $frag"
    [ "$big" = 0 ] || die "$big datagrams carried more than 1300 bytes" || return 1
    [ "$frag" = 0 ] || die "the underlay fragmented $frag packets" || return 1
    ! grep -q "FRAG_IN error\|FRAG_OUT error\|FRAG TTL" "$LOGS"/openvpn-*.log || die "openvpn: $(grep -m1 FRAG "$LOGS"/openvpn-*.log)" || return 1
    local yaml json
    yaml=$LOGS/$([ "$1" = wbclient ] && echo client || echo server).yaml
    json=$("$WIREBRIDGE" status --json -c "$yaml") || die "wirebridge status failed" || return 1
    ! grep -q '"bad_fragment"' <<<"$json" || die "wirebridge dropped fragments: $json" || return 1
}

# cbc_in_use SIDE CIPHER DIGEST: openvpn's log (SIDE server|client) shows the data channel keyed
# with the CBC cipher and the HMAC digest, and wirebridge's log names the same.
cbc_in_use() {
    local olog=$LOGS/openvpn-$1.log wblog
    wblog=$LOGS/wirebridge-$([ "$1" = server ] && echo client || echo server).log
    grep -q "Data Channel: cipher '$2', auth '$3'" "$olog" || die "openvpn's log does not show data channel $2 with $3" || return 1
    grep -q "cipher $2 with $3" "$wblog" || die "wirebridge's log does not name $2 with $3" || return 1
    log "openvpn: $(grep -m1 "Data Channel: cipher" "$olog")"
}

# A client certificate of the same CA with key usage but no extended key usage.
make_noeku_client() {
    (
        cd "$1" || exit 1
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$PAIR_PREFIX-client" \
            -keyout client.key -out client.csr 2>/dev/null || exit 1
        printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\n' > noeku.ext
        openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile noeku.ext \
            -out client.crt 2>/dev/null
    )
}

# crl DIR [revoke]: (re)writes DIR/crl.pem, first revoking DIR/client.crt when asked.
make_crl() {
    (
        cd "$1" || exit 1
        if [ ! -f ca.cnf ]; then
            printf '[ca]\ndefault_ca=d\n[d]\ndatabase=%s/index.txt\ncrlnumber=%s/crlnumber\ndefault_md=sha256\ndefault_crl_days=2\ncertificate=%s/ca.crt\nprivate_key=%s/ca.key\n' \
                "$PWD" "$PWD" "$PWD" "$PWD" > ca.cnf
            : > index.txt
            echo 01 > crlnumber
        fi
        if [ "${2:-}" = revoke ]; then openssl ca -config ca.cnf -revoke client.crt 2>/dev/null || exit 1; fi
        openssl ca -config ca.cnf -gencrl -out crl.pem.new 2>/dev/null && mv crl.pem.new crl.pem
    )
}

case_run() {
    case $1 in
        ta256-wbclient) WRAP=tls-auth TA_DIGEST=SHA256; up_and_transfer wbclient ;;
        ta384-wbclient-tcp) WRAP=tls-auth TA_DIGEST=SHA384 PROTO=tcp; up_and_transfer wbclient ;;
        ta512-wbserver) WRAP=tls-auth TA_DIGEST=SHA512; up_and_transfer wbserver ;;
        ta-mismatch-wbclient)
            WRAP=tls-auth SERVER_IMPL=openvpn CLIENT_IMPL=wirebridge
            setup_underlay || return 1
            # The server runs SHA512; the client keeps the default SHA1.
            TA_DIGEST=SHA512
            start_server || return 1
            TA_DIGEST=''
            start_client || return 1
            wait_for 30 "openvpn to refuse the SHA1 tls-auth HMAC" grep -q "authentication failed\|cannot locate HMAC" "$LOGS/openvpn-server.log" || return 1
            ! have_client_ip || die "the client got an address through a mismatched tls-auth" || return 1
            log "openvpn refused the mismatched digest: $(grep -m1 "authentication failed\|cannot locate HMAC" "$LOGS/openvpn-server.log")" ;;
        ta-mismatch-wbserver)
            WRAP=tls-auth SERVER_IMPL=wirebridge CLIENT_IMPL=openvpn
            setup_underlay && start_server || return 1
            TA_DIGEST=SHA512
            start_client || return 1
            wait_for 30 "the hub to log the mismatched HMAC" grep -q "pre-session drop: auth_failed from .*tls-auth/tls-crypt HMAC" "$LOGS/wirebridge-server.log" || return 1
            ! have_client_ip || die "the client got an address through a mismatched tls-auth" || return 1
            # openvpn retries every few seconds: more drops, still one line (rate-limited).
            wait_for 30 "a second pre-session drop counted" hub_auth_failed_at_least 2 || return 1
            [ "$(grep -c "pre-session drop: auth_failed" "$LOGS/wirebridge-server.log")" = 1 ] || die "the drop is logged more than once a minute" || return 1
            log "hub: $(grep -m1 "pre-session drop" "$LOGS/wirebridge-server.log")" ;;
        complzo-wbclient)
            OVPN_SERVER_EXTRA=(--comp-lzo no) WB_CLIENT_TUNNEL="  compress: comp-lzo"; up_and_transfer wbclient ;;
        pushcomplzo-wbclient)
            OVPN_SERVER_EXTRA=(--comp-lzo no --push "comp-lzo no"); up_and_transfer wbclient ;;
        lz4v2-wbclient|lz4-wbclient)
            local alg=lz4-v2
            [ "$1" = lz4-wbclient ] && alg=lz4
            OVPN_SERVER_EXTRA=(--allow-compression yes --compress "$alg" --push "compress $alg")
            up_and_transfer wbclient || return 1
            compressed_transfer "$NS_A" "$NS_B" "$CLIENT_TUN_IP" 5003 "$NS_B" "${T}u1" ;;
        complzo-wbserver)
            OVPN_CLIENT_EXTRA=(--comp-lzo no) WB_SERVER_TUNNEL="  compress: comp-lzo"; up_and_transfer wbserver ;;
        stubv2-wbserver)
            WB_SERVER_TUNNEL="  compress: stub-v2"; up_and_transfer wbserver || return 1
            grep -q "compress stub-v2" "$LOGS/openvpn-client.log" || die "the client's log shows no pushed compress stub-v2" ;;
        lz4v2-wbserver)
            OVPN_CLIENT_EXTRA=(--allow-compression yes --compress lz4-v2 --pull-filter ignore compress)
            WB_SERVER_TUNNEL="  compress: lz4-v2"
            up_and_transfer wbserver || return 1
            compressed_transfer "$NS_B" "$NS_A" "$TUN_SERVER_IP" 5003 "$NS_A" "${T}u0" ;;
        lzo-wbclient)
            OVPN_SERVER_EXTRA=(--allow-compression yes --comp-lzo yes --push "comp-lzo yes")
            up_and_transfer wbclient || return 1
            grep -q "compression: 'lzo'" "$LOGS/openvpn-server.log" || die "openvpn does not say it uses LZO" || return 1
            compressed_transfer "$NS_A" "$NS_B" "$CLIENT_TUN_IP" 5003 "$NS_B" "${T}u1" ;;
        lzo-wbserver)
            OVPN_CLIENT_EXTRA=(--allow-compression yes --comp-lzo yes --pull-filter ignore comp-lzo)
            WB_SERVER_TUNNEL="  compress: comp-lzo"
            up_and_transfer wbserver || return 1
            compressed_transfer "$NS_B" "$NS_A" "$TUN_SERVER_IP" 5003 "$NS_A" "${T}u0" ;;
        rctserver-wbclient)
            # The server shows a client certificate of the CA with key usage and no EKU (what a
            # site holding one could do to pose as the hub; OpenSSL's own purpose check lets a
            # certificate without EKU pass, so only remote_cert_tls stops it).
            PKI=$(pki_variant noeku)
            cp "$PKI/client.crt" "$PKI/site.crt" && cp "$PKI/client.key" "$PKI/site.key" && make_noeku_client "$PKI" || return 1
            mv "$PKI/client.crt" "$PKI/fake.crt" && mv "$PKI/client.key" "$PKI/fake.key" || return 1
            mv "$PKI/site.crt" "$PKI/client.crt" && mv "$PKI/site.key" "$PKI/client.key" || return 1  # the site keeps its own
            SERVER_IMPL=openvpn CLIENT_IMPL=wirebridge
            OVPN_SERVER_EXTRA=(--cert "$PKI/fake.crt" --key "$PKI/fake.key")
            setup_underlay && start_server && start_client || return 1
            wait_for 30 "the site to refuse the server's certificate" grep -q "remote-cert-tls server" "$LOGS/wirebridge-client.log" || return 1
            ! have_client_ip || die "the site took a tunnel from a server with a client certificate" || return 1
            log "site refused: $(grep -m1 "remote-cert-tls server" "$LOGS/wirebridge-client.log")"
            stop_pid "$CLIENT_PID"
            wait_for 10 "client TAP gone" sh -c "! ip netns exec $NS_B ip link show $TAP_C"
            WB_CLIENT_TUNNEL="  remote_cert_tls: none"
            start_client || return 1
            wait_tunnel 40 || return 1
            check_ping_and_arp || return 1
            transfer "$NS_B" "$NS_A" $TUN_SERVER_IP 5001 "$WORK/data5m" || return 1 ;;
        pushignored-wbclient)
            OVPN_SERVER_EXTRA=(--push "route 10.99.0.0 255.255.0.0" --push "dhcp-option DNS 10.92.0.1"
                               --push "redirect-gateway def1" --push "route-ipv6 2001:db8:99::/48")
            up_and_transfer wbclient || return 1
            local line
            line=$(grep "pushed options wirebridge does not apply" "$LOGS/wirebridge-client.log")
            [ "$(grep -c "pushed options wirebridge does not apply" "$LOGS/wirebridge-client.log")" = 1 ] || die "not one line: $line" || return 1
            local o
            for o in "route 10.99.0.0 255.255.0.0" "dhcp-option DNS 10.92.0.1" "redirect-gateway def1" "route-ipv6 2001:db8:99::/48"; do
                grep -qF "$o" <<<"$line" || die "the line does not name '$o': $line" || return 1
            done
            ! inb ip route show | grep -q "10.99.0.0\|^default\|0.0.0.0/1" || die "a pushed route was applied: $(inb ip route show)" || return 1
            log "site: $line" ;;
        nocipher-wbserver)
            SERVER_IMPL=wirebridge CLIENT_IMPL=openvpn
            CIPHER=AES-128-GCM OVPN_CLIENT_EXTRA=(--data-ciphers AES-256-GCM)
            setup_underlay && start_server && start_client || return 1
            refused_by_hub "no_common_cipher" "AUTH_FAILED" ;;
        noeku-wbserver)
            PKI=$(pki_variant noeku); make_noeku_client "$PKI" || return 1
            up_and_transfer wbserver ;;
        rctclient-wbserver)
            PKI=$(pki_variant noeku); make_noeku_client "$PKI" || return 1
            SERVER_IMPL=wirebridge CLIENT_IMPL=openvpn WB_SERVER_TUNNEL="  remote_cert_tls: client"
            setup_underlay && start_server && start_client || return 1
            refused_by_hub "remote-cert-tls client" ;;
        x509name-wbclient)
            SERVER_IMPL=openvpn CLIENT_IMPL=wirebridge
            WB_CLIENT_TUNNEL="  verify_x509_name: {name: $PAIR_PREFIX-other}"
            setup_underlay && start_server && start_client || return 1
            wait_for 30 "the client to refuse the server's name" grep -q "verify-x509-name" "$LOGS/wirebridge-client.log" || return 1
            ! have_client_ip || die "the client took a tunnel from a server with another name" || return 1
            stop_pid "$CLIENT_PID"
            wait_for 10 "client TAP gone" sh -c "! ip netns exec $NS_B ip link show $TAP_C"
            WB_CLIENT_TUNNEL="  verify_x509_name: {name: \"CN=$PAIR_PREFIX-server\", type: subject}"
            start_client || return 1
            wait_tunnel 40 || return 1
            stop_pid "$CLIENT_PID"
            wait_for 10 "client TAP gone" sh -c "! ip netns exec $NS_B ip link show $TAP_C"
            WB_CLIENT_TUNNEL="  verify_x509_name: {name: ${PAIR_PREFIX}-ser, type: name-prefix}"
            start_client || return 1
            wait_tunnel 40 || return 1
            check_ping_and_arp || return 1
            transfer "$NS_B" "$NS_A" $TUN_SERVER_IP 5001 "$WORK/data5m" || return 1 ;;
        crl-wbserver)
            PKI=$(pki_variant crl); make_crl "$PKI" || return 1
            WB_SERVER_TUNNEL="  crl: $PKI/crl.pem" KEEPALIVE="2 10"
            up_and_transfer wbserver || return 1
            make_crl "$PKI" revoke || return 1
            kill -HUP "$SERVER_PID"
            wait_for 10 "the hub to reload the CRL" grep -q "reloaded:.*TLS/key file contents" "$LOGS/wirebridge-server.log" || return 1
            stop_pid "$CLIENT_PID"
            wait_for 10 "client TAP gone" sh -c "! ip netns exec $NS_B ip link show $TAP_C"
            start_client || return 1
            refused_by_hub "certificate revoked" ;;
        tlsmin-wbserver)
            SERVER_IMPL=wirebridge CLIENT_IMPL=openvpn WB_SERVER_TUNNEL="  tls_version_min: \"1.3\""
            OVPN_CLIENT_EXTRA=(--tls-version-max 1.2)
            setup_underlay && start_server && start_client || return 1
            wait_for 30 "openvpn to fail the TLS 1.2 handshake" grep -q "TLS handshake failed\|TLS_ERROR\|TLS Error" "$LOGS/openvpn-client.log" || return 1
            ! have_client_ip || die "a TLS 1.2 client got a tunnel from a 1.3-minimum hub" || return 1
            stop_pid "$CLIENT_PID"
            OVPN_CLIENT_EXTRA=()
            start_client || return 1
            wait_tunnel 40 || return 1
            check_ping_and_arp || return 1
            grep -q "TLSv1.3" "$LOGS/openvpn-client.log" || die "openvpn did not log a TLSv1.3 control channel" ;;
        askpass-wbclient)
            PKI=$(pki_variant askpass)
            openssl pkey -in "$PKI/client.key" -aes256 -passout pass:"wb compat secret" -out "$PKI/client.key.enc" || return 1
            mv "$PKI/client.key.enc" "$PKI/client.key"
            grep -q ENCRYPTED "$PKI/client.key" || die "the key is not encrypted" || return 1
            printf 'wb compat secret\n' > "$PKI/askpass"
            WB_CLIENT_TUNNEL="  askpass: $PKI/askpass"
            up_and_transfer wbclient ;;
        mss-wbclient) mss_case wbclient none ;;
        mss-wbserver) mss_case wbserver none ;;
        mss0-wbclient) WB_CLIENT_TUNNEL="  mssfix: 0"; mss_case wbclient some ;;
        frag-wbclient) frag_case wbclient ;;
        frag-wbserver) frag_case wbserver ;;
        tunmtu-wbclient)
            OVPN_SERVER_EXTRA=(--tun-mtu 1400 --push "tun-mtu 1400")
            SERVER_IMPL=openvpn CLIENT_IMPL=wirebridge
            setup_underlay && start_server && start_client || return 1
            wait_tunnel 40 || return 1
            ina ip link set "$TAP_S" mtu 1400
            wait_for 10 "the site's TAP at the pushed MTU 1400" sh -c "[ \$(ip netns exec $NS_B cat /sys/class/net/$TAP_C/mtu) = 1400 ]" || return 1
            grep -q "tun-mtu 1400 (pushed)" "$LOGS/wirebridge-client.log" || die "wirebridge's log does not say tun-mtu 1400 (pushed)" || return 1
            check_ping_and_arp || return 1
            inb ping -c3 -i0.2 -M do -s 1372 -W2 "$TUN_SERVER_IP" >/dev/null || die "1400-byte packets do not cross" || return 1
            ! inb ping -c1 -M do -s 1373 -W2 "$TUN_SERVER_IP" >/dev/null 2>&1 || die "a 1401-byte packet left a 1400-byte TAP" || return 1
            transfer "$NS_B" "$NS_A" $TUN_SERVER_IP 5001 "$WORK/data5m" || return 1
            transfer "$NS_A" "$NS_B" "$CLIENT_TUN_IP" 5002 "$WORK/data5m" ;;
        cbc-wbclient)
            CIPHER=AES-256-CBC OVPN_SERVER_EXTRA=(--auth SHA256) WB_CLIENT_TUNNEL="  auth: SHA256"
            up_and_transfer wbclient && cbc_in_use server AES-256-CBC SHA256 ;;
        cbc-wbserver)
            CIPHER=AES-256-CBC OVPN_CLIENT_EXTRA=(--auth SHA256) WB_SERVER_TUNNEL="  auth: SHA256"
            up_and_transfer wbserver && cbc_in_use client AES-256-CBC SHA256 ;;
        cbc128-wbclient-tcp)
            CIPHER=AES-128-CBC PROTO=tcp OVPN_SERVER_EXTRA=(--auth SHA512) WB_CLIENT_TUNNEL="  auth: SHA512"
            up_and_transfer wbclient && cbc_in_use server AES-128-CBC SHA512 ;;
        *) die "unknown case $1" ;;
    esac
}

make_pki "$PKI" || exit 1
head -c 5000000 "$PKI/data20m" > "$WORK/data5m"
yes "wirebridge compat: a line that compresses well, as text and logs do" | head -c 5000000 > "$WORK/text5m"
wb_run_cases
