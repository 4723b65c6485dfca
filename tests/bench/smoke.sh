#!/usr/bin/env bash
# Smoke test of bench/run: `bench/run --quick` (AES-256-GCM, UDP, 1500-byte underlay, 2 s, 1 rep, all four pairs and wbbefore,
# iperf3 and the wb-udpflood rate search) must print a table and write CSV, JSON and PNG with a
# nonzero figure for every pair and metric. Needs root; WB_WIREBRIDGE = the wirebridge binary,
# WB_UDPFLOOD = the load tool (both set by tests/bench/CMakeLists.txt).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
: "${WB_WIREBRIDGE:?set WB_WIREBRIDGE to the wirebridge binary}"
: "${WB_UDPFLOOD:?set WB_UDPFLOOD to the wb-udpflood binary}"
OUT=$(mktemp -d /tmp/wb-bench-smoke.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# --before with the same binary: the pair wbbefore runs it at both ends and the table gets its
# wb/before column (a before/after comparison in one run).
timeout 420 "$ROOT/bench/run" --quick --wirebridge "$WB_WIREBRIDGE" --before "$WB_WIREBRIDGE" --flood "$WB_UDPFLOOD" --out "$OUT" > "$OUT/stdout" 2> "$OUT/stderr"
rc=$?
cat "$OUT/stdout"
[ $rc = 0 ] || { tail -n 30 "$OUT/stderr" >&2; fail "bench/run --quick exited with $rc"; }

pairs=(ovpn wbbefore wb wbclient wbserver)
for ext in txt csv json png raw.csv; do
    [ -s "$OUT/latest.$ext" ] || fail "no latest.$ext written"
done
[ "$(head -c 4 "$OUT/latest.png" | od -An -c | tr -d ' ')" = "211PNG" ] || fail "latest.png is not a PNG"
grep -q '^== UDP transport, 1500-byte underlay, AES-256-GCM' "$OUT/stdout" || fail "no table printed (1500-byte underlay by default)"
grep -q 'openvpn<->openvpn' "$OUT/stdout" || fail "the table has no openvpn<->openvpn column"
grep -q '^flood 64 B, <=1% loss' "$OUT/stdout" || fail "the table has no flood 64 B row"
grep -q '^flood 64 B x 64 flows, <=1% loss' "$OUT/stdout" || fail "the table has no flood 64 B x 64 flows row"
grep -q 'wb before .*wb/before' "$OUT/stdout" || fail "the table has no wb before column or wb/before ratio"

# Every pair has every main metric, nonzero, in both the CSV and the JSON.
for metric in tcp1_mbps tcp4_mbps udp64_pps udp1400_pps tcp1_cpu_s_per_gb ping_avg_ms \
              rate64_pps rate64_cpu_us rate64_unpaced_pps rate64_sender_pps rate1400_pps rate1400_unpaced_pps \
              rate64flows_pps rate64flows_cpu_us rate64flows_unpaced_pps rate64flows_sender_pps; do
    for p in "${pairs[@]}"; do
        v=$(awk -F, -v p="$p" -v m="$metric" '$2 == "AES-256-GCM" && $3 == p && $4 == m { print $5 }' "$OUT/latest.csv")
        awk -v v="${v:-0}" 'BEGIN { exit !(v > 0) }' || fail "CSV: $p $metric is '${v}'"
        j=$(jq --arg p "$p" --arg m "$metric" \
            '[.results[] | select(.pair == $p and .metric == $m and .transport == "udp")][0].median // 0' "$OUT/latest.json")
        awk -v v="$j" 'BEGIN { exit !(v > 0) }' || fail "JSON: $p $metric is '$j'"
    done
    # A ratio to openvpn<->openvpn is given for every other pair (not for the sender's own rate).
    [[ $metric = *_sender_pps ]] && continue
    for p in wbbefore wb wbclient wbserver; do
        r=$(awk -F, -v p="$p" -v m="$metric" '$3 == p && $4 == m { print $7 }' "$OUT/latest.csv")
        awk -v v="${r:-0}" 'BEGIN { exit !(v > 0) }' || fail "CSV: no ratio for $p $metric"
    done
done
# Every rate the search reports passed its loss bound (1 %), for all five pairs, both sizes and 64 flows.
jq -e '[.results[] | select(.metric == "rate64_loss_pct" or .metric == "rate1400_loss_pct" or .metric == "rate64flows_loss_pct") | .median]
    | length == 15 and all(.[]; . <= 1)' "$OUT/latest.json" >/dev/null || fail "JSON: a rate's loss is above 1 %"
jq -e '.meta.underlay_mtus == "1500"' "$OUT/latest.json" >/dev/null || fail "JSON: the underlay MTU is not 1500 in meta"
jq -e '.meta.rate_steps == 2 and .meta.rate_step_s == 0.5' "$OUT/latest.json" >/dev/null || fail "JSON: rate search not in meta"
jq -e '.openssl_speed | length == 3 and all(.[]; .bytes_per_s > 0)' "$OUT/latest.json" >/dev/null \
    || fail "JSON: openssl speed bound missing"
echo "bench smoke: table, CSV, JSON and PNG written with nonzero figures for ${pairs[*]}"
