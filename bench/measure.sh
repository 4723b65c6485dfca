# shellcheck shell=bash
# Benchmark measurements through an established tunnel (lib.sh's topology): iperf3 TCP and UDP,
# CPU of the two VPN processes, ping under load, and the one-core `openssl speed` bound.
#
# Each measurement appends rows "rep,pair,transport,cipher,metric,value" to $RAW through emit;
# report.py takes the medians. Globals set by the caller: REP PAIR PROTO CIPHER DURATION RAW LOGS
# SERVER_PID CLIENT_PID (empty for the pair "plain", which has no VPN processes) TARGET_IP.

CLK_TCK=$(getconf CLK_TCK)

emit() { printf '%s,%s,%s,%s,%s,%s\n' "$REP" "$PAIR" "${PROTO_LABEL:-$PROTO}" "$CIPHER" "$1" "$2" >> "$RAW"; }

# iperf3_client JSON ARGS...: one bounded iperf3 run from the client namespace to the server's TAP.
iperf3_client() {
    local json=$1
    shift
    inb ${PIN_SEND:+taskset -c "$PIN_SEND"} timeout $((DURATION + 25)) iperf3 -c "$TARGET_IP" -p $IPERF_PORT --connect-timeout 5000 \
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
    inb ${PIN_SEND:+taskset -c "$PIN_SEND"} timeout $((dur + 25)) iperf3 -c "$TARGET_IP" -p $IPERF_PORT --connect-timeout 5000 -t "$dur" -J \
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

# --- small packets with wb-udpflood (bench/udpflood.cpp) -----------------------------------------
# iperf3's unpaced UDP sender takes about a core and its receiver pays a pselect and a read per
# datagram, so on 2 cores `-b 0 -l 64` measures iperf3 as much as the tunnel. wb-udpflood sends
# with sendmmsg, paced (sleeping when ahead), and receives with recvmmsg; measure_rate searches,
# RFC 2544 style, for the highest offered rate the tunnel carries with at most RATE_LOSS % loss.
# Globals: UDPFLOOD (the tool), RATE_STEP (seconds per trial), RATE_STEPS (paced trials after the
# unpaced one), RATE_LOSS (percent), FLOOD_PORT; optional PIN_RECV / PIN_SEND (CPUs for the
# receiver and the sender, --pin).
FLOOD_PORT=5301
FLOOD_VIA=${FLOOD_VIA:-packet}
udp_bound() { ip netns exec "$1" ss -lunH "sport = :$2" | grep -q .; }

# flood_trial LEN RATE NAME [FLOWS]: one sender run (client side) against one receiver run (server
# side), both bounded. RATE 0 = unpaced. FLOWS (default 1): source ports the sender takes in turn
# (wb-udpflood --flows). Sets TR_OFFERED_PPS TR_RX_PPS TR_LOSS (percent of the offered)
# TR_CPU_US (CPU of both VPN processes per datagram received; empty without VPN processes)
# TR_DROPS (datagrams the receiving socket itself dropped: the load tool's fault, not the tunnel's)
# TR_SOURCES (source ports the receiver saw).
flood_trial() {
    local len=$1 rate=$2 out="$LOGS/$3" flows=${4:-1} run c0 c1 rpid rc bound=$((${RATE_STEP%.*} + 10))
    run=$((RANDOM * 32768 + RANDOM + 1))
    ip netns exec "$NS_A" ${PIN_RECV:+taskset -c "$PIN_RECV"} timeout $((bound + 5)) "$UDPFLOOD" recv \
        --bind "$TARGET_IP" --port $FLOOD_PORT --seconds $bound --idle 1 --run $run > "$out.recv.json" 2> "$out.recv.err" &
    rpid=$!
    if ! wait_for 5 "wb-udpflood receiver on $TARGET_IP:$FLOOD_PORT" udp_bound "$NS_A" $FLOOD_PORT; then
        kill "$rpid" 2>/dev/null
        wait "$rpid"
        return 1
    fi
    c0=$(cpu_ticks "$SERVER_PID" "$CLIENT_PID")
    ip netns exec "$NS_B" ${PIN_SEND:+taskset -c "$PIN_SEND"} timeout $((bound + 5)) "$UDPFLOOD" send \
        --to "$TARGET_IP" --port $FLOOD_PORT --len "$len" --seconds "$RATE_STEP" --rate "$rate" --run $run --flows "$flows" \
        --via "$FLOOD_VIA" \
        > "$out.send.json" 2> "$out.send.err"
    rc=$?
    wait "$rpid" || rc=1
    c1=$(cpu_ticks "$SERVER_PID" "$CLIENT_PID")
    [ $rc = 0 ] || { log "wb-udpflood $3 failed: $(head -c 300 "$out.send.err") $(head -c 300 "$out.recv.err")"; return 1; }
    local v
    v=$(jq -r -s --argjson t $((c1 - c0)) --argjson hz "$CLK_TCK" --arg vpn "$SERVER_PID" '.[0] as $s | .[1] as $r |
        [($s.offered / $s.seconds), ($r.unique / $s.seconds),
         (if $s.offered > 0 then 100 * ($s.offered - $r.unique) / $s.offered else 100 end),
         (if $vpn != "" and $r.unique > 0 then 1e6 * $t / $hz / $r.unique else "" end), $r.socket_drops, $r.sources]
        | map(tostring) | join(";")' \
        "$out.send.json" "$out.recv.json") || { log "wb-udpflood $3: unreadable JSON"; return 1; }
    IFS=';' read -r TR_OFFERED_PPS TR_RX_PPS TR_LOSS TR_CPU_US TR_DROPS TR_SOURCES <<<"$v"
    local many=''
    ((flows > 1)) && many=" x $flows flows"
    log "  flood $len B$many, rate ${rate/#0/unpaced}: offered $(printf %.0f "$TR_OFFERED_PPS") pps, received $(printf %.0f "$TR_RX_PPS"), loss $(printf %.2f "$TR_LOSS") %, receiver socket drops $TR_DROPS${many:+, source ports seen $TR_SOURCES}"
}

# measure_rate LEN: first an unpaced trial (what arrives when the sender goes flat out, and the
# sender's own ceiling), then a search over paced trials between the best rate that passed (at
# most RATE_LOSS % lost) and the lowest that failed, starting at the unpaced received rate;
# bounded to RATE_STEPS trials, stopping early once the bracket is within 2 %. The next rate is
# the bracket's middle, except after a failure whose received rate lies inside the bracket: an
# overloaded tunnel that delivered R cannot carry much more than R, so R is tried next (this
# finds openvpn's rate in 2-3 trials instead of 5-6 halvings from the sender's ceiling).
# A search that has not seen one rate pass after RATE_STEPS trials goes on (at most RATE_RESCUE more
# trials, each about halving the rate): the step budget bounds how finely the rate is found, not
# whether one is found. On a shared machine a stall can fail both of a quick run's trials even for
# stock openvpn; a tunnel that passes nothing at 1/64 of what it delivered unpaced is broken.
# Reports the highest offered rate that passed, its loss and CPU per packet, and the unpaced figures.
# FLOWS (default 1) > 1: the sender takes that many source ports in turn, and the metrics are
# named rate<LEN>flows_* instead of rate<LEN>_* (rate64flows: the many-flow counterpart of rate64;
# a receiver that merges runs of one flow's datagrams, as wirebridge's TapWriter does, gets no runs).
RATE_RESCUE=6
measure_rate() {
    local len=$1 flows=${2:-1} ceiling lo=0 hi try i best_loss='' best_cpu='' pass drops name=rate$1
    if ((flows > 1)); then name=rate${len}flows; fi
    flood_trial "$len" 0 "$name.r$REP.unpaced" "$flows" || return 1
    drops=$TR_DROPS
    emit "${name}_unpaced_pps" "$(printf %.0f "$TR_RX_PPS")"
    emit "${name}_unpaced_loss_pct" "$(printf %.2f "$TR_LOSS")"
    emit "${name}_sender_pps" "$(printf %.0f "$TR_OFFERED_PPS")"
    ceiling=$(printf %.0f "$TR_OFFERED_PPS")
    hi=$ceiling
    if awk -v l="$TR_LOSS" -v m="$RATE_LOSS" 'BEGIN { exit !(l <= m) }'; then
        # Even flat out, the sender could not make the tunnel lose: the rate is the sender's.
        lo=$ceiling best_loss=$TR_LOSS best_cpu=$TR_CPU_US
        log "  $name: no loss even unpaced; the figure is the sender's ceiling"
    else
        try=$(printf %.0f "$TR_RX_PPS")
        for ((i = 1; i <= RATE_STEPS + RATE_RESCUE; i++)); do
            ((i <= RATE_STEPS || lo == 0)) || break
            ((try >= 1)) || break
            ((i == RATE_STEPS + 1)) && log "  $name: no rate passed in $RATE_STEPS trials; halving on (at most $RATE_RESCUE more)"
            flood_trial "$len" "$try" "$name.r$REP.s$i" "$flows" || return 1
            drops=$((drops + TR_DROPS))
            pass=$(awk -v l="$TR_LOSS" -v m="$RATE_LOSS" 'BEGIN { print (l <= m) ? 1 : 0 }')
            if [ "$pass" = 1 ]; then
                # The rate actually offered (the pacer may fall short of the target under load).
                lo=$(awk -v a="$TR_OFFERED_PPS" -v t="$try" 'BEGIN { printf "%.0f", (a < t ? a : t) }')
                best_loss=$TR_LOSS best_cpu=$TR_CPU_US
            else
                hi=$try
            fi
            awk -v lo="$lo" -v hi="$hi" 'BEGIN { exit !(hi - lo <= 0.02 * hi) }' && break
            try=$(((lo + hi) / 2))
            if [ "$pass" = 0 ]; then
                try=$(awk -v lo="$lo" -v hi="$hi" -v m="$try" -v r="$TR_RX_PPS" \
                    'BEGIN { printf "%.0f", (r > lo * 1.02 && r < m) ? r : m }')
            fi
        done
    fi
    if [ "$lo" = 0 ]; then
        log "$name: no offered rate passed with <= $RATE_LOSS % loss in $((RATE_STEPS + RATE_RESCUE)) trials"
        return 1
    fi
    emit "${name}_pps" "$lo"
    emit "${name}_loss_pct" "$(printf %.2f "$best_loss")"
    [ -n "$best_cpu" ] && emit "${name}_cpu_us" "$(printf %.2f "$best_cpu")"
    # Datagrams the load receiver's own socket dropped over all trials: should stay 0, or the
    # receiver (not the tunnel) was the limit somewhere.
    emit "${name}_rx_drops" "$drops"
    return 0
}
