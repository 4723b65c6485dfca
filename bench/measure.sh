# shellcheck shell=bash
# Benchmark measurements through an established tunnel (lib.sh's topology): iperf3 TCP and UDP,
# CPU of the two VPN processes, ping under load, and the one-core `openssl speed` bound.
#
# Each measurement appends rows "rep,pair,transport,cipher,metric,value" to $RAW through emit;
# report.py takes the medians. Globals set by the caller: REP PAIR PROTO CIPHER DURATION RAW LOGS
# SERVER_PID CLIENT_PID (empty for the pair "plain", which has no VPN processes) TARGET_IP.

CLK_TCK=$(getconf CLK_TCK)

emit() { printf '%s,%s,%s,%s,%s,%s\n' "$REP" "$PAIR" "$PROTO" "$CIPHER" "$1" "$2" >> "$RAW"; }

# iperf3_client JSON ARGS...: one bounded iperf3 run from the client namespace to the server's TAP.
iperf3_client() {
    local json=$1
    shift
    inb timeout $((DURATION + 25)) iperf3 -c "$TARGET_IP" -p $IPERF_PORT --connect-timeout 5000 \
        -t "$DURATION" -J "$@" > "$json" 2> "$json.err"
    local rc=$?
    [ $rc = 0 ] || log "iperf3 $* failed (rc $rc): $(jq -r '.error // empty' "$json" 2>/dev/null) $(head -c 300 "$json.err")"
    return $rc
}

# measure_tcp STREAMS: throughput received, CPU seconds per GB carried by both VPN processes and
# how many cores they kept busy.
measure_tcp() {
    local n=$1 json="$LOGS/tcp$1.r$REP.json" c0 c1 bytes secs
    c0=$(cpu_ticks "$SERVER_PID" "$CLIENT_PID")
    iperf3_client "$json" -P "$n" || return 1
    c1=$(cpu_ticks "$SERVER_PID" "$CLIENT_PID")
    bytes=$(jq '.end.sum_received.bytes' "$json")
    secs=$(jq '.end.sum_received.seconds' "$json")
    [ "${bytes:-0}" != 0 ] && [ "$bytes" != null ] || { log "tcp$n: no bytes received"; return 1; }
    emit "tcp${n}_mbps" "$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.1f", b * 8 / s / 1e6 }')"
    [ -n "$SERVER_PID" ] || return 0
    emit "tcp${n}_cpu_s_per_gb" "$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" -v b="$bytes" \
        'BEGIN { printf "%.3f", t / hz / (b / 1e9) }')"
    emit "tcp${n}_vpn_cores" "$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" -v s="$secs" \
        'BEGIN { printf "%.2f", t / hz / s }')"
}

# measure_udp LEN: packets per second received at an unlimited send rate, and the loss.
measure_udp() {
    local len=$1 json="$LOGS/udp$1.r$REP.json" pkts lost secs
    iperf3_client "$json" -u -b 0 -l "$len" || return 1
    pkts=$(jq '.end.sum_received.packets' "$json")
    lost=$(jq '.end.sum_received.lost_packets' "$json")
    secs=$(jq '.end.sum_received.seconds' "$json")
    [ "${pkts:-0}" != 0 ] && [ "$pkts" != null ] || { log "udp$len: no packets"; return 1; }
    emit "udp${len}_pps" "$(awk -v p="$pkts" -v l="$lost" -v s="$secs" 'BEGIN { printf "%.0f", (p - l) / s }')"
    emit "udp${len}_loss_pct" "$(awk -v p="$pkts" -v l="$lost" 'BEGIN { printf "%.2f", 100 * l / p }')"
}

# measure_ping_under_load: 100 pings 10 ms apart while one TCP stream fills the tunnel; avg and p99
# (nearest rank) of the round trips; lost pings count as missing samples and are reported.
measure_ping_under_load() {
    local out="$LOGS/ping.r$REP.txt" json="$LOGS/load.r$REP.json" dur
    dur=$((DURATION < 4 ? 4 : DURATION))
    inb timeout $((dur + 25)) iperf3 -c "$TARGET_IP" -p $IPERF_PORT --connect-timeout 5000 -t "$dur" -J \
        > "$json" 2>&1 &
    local load=$!
    # The stream needs a moment to fill the queues; until then the pings would measure an idle link.
    sleep 1
    inb timeout 20 ping -n -c 100 -i 0.01 -W 1 "$TARGET_IP" > "$out" 2>&1
    wait $load
    local stats
    stats=$(sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' "$out" | sort -g | awk '
        { v[NR] = $1; s += $1 }
        END { if (NR == 0) exit 1; r = int(NR * 0.99 + 0.999); printf "%.3f %.3f %d", s / NR, v[r], NR }') \
        || { log "ping under load: no replies"; return 1; }
    read -r avg p99 got <<<"$stats"
    emit ping_avg_ms "$avg"
    emit ping_p99_ms "$p99"
    emit ping_lost "$((100 - got))"
}

# openssl_bound CSV: one-core AEAD throughput (bytes/s) per cipher at 1024, 1400 and 8192 bytes.
openssl_bound() {
    local csv=$1 c name size v
    echo "cipher,bytes,bytes_per_s" > "$csv"
    for c in "${CIPHERS[@]}"; do
        case $c in AES-256-GCM) name=aes-256-gcm ;; AES-128-GCM) name=aes-128-gcm ;; CHACHA20-POLY1305) name=chacha20-poly1305 ;; esac
        for size in 1024 1400 8192; do
            v=$(timeout 30 openssl speed -mr -seconds 1 -bytes $size -evp $name 2>/dev/null | awk -F: '/^\+F:/ { print $4 }')
            echo "$c,$size,${v:-0}" >> "$csv"
        done
    done
}
