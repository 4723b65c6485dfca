#!/usr/bin/env bash
# Smoke test of bench/run: `bench/run --quick` (AES-256-GCM, UDP, 2 s, 1 rep, all four pairs)
# must print a table and write CSV, JSON and PNG with a nonzero figure for every pair and metric.
# Needs root; WB_WIREBRIDGE = the wirebridge binary (set by tests/bench/CMakeLists.txt).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
: "${WB_WIREBRIDGE:?set WB_WIREBRIDGE to the wirebridge binary}"
OUT=$(mktemp -d /tmp/wb-bench-smoke.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

timeout 360 "$ROOT/bench/run" --quick --wirebridge "$WB_WIREBRIDGE" --out "$OUT" > "$OUT/stdout" 2> "$OUT/stderr"
rc=$?
cat "$OUT/stdout"
[ $rc = 0 ] || { tail -n 30 "$OUT/stderr" >&2; fail "bench/run --quick exited with $rc"; }

pairs=(ovpn wb wbclient wbserver)
for ext in txt csv json png raw.csv; do
    [ -s "$OUT/latest.$ext" ] || fail "no latest.$ext written"
done
[ "$(head -c 4 "$OUT/latest.png" | od -An -c | tr -d ' ')" = "211PNG" ] || fail "latest.png is not a PNG"
grep -q '^== UDP transport, AES-256-GCM' "$OUT/stdout" || fail "no table printed"
grep -q 'openvpn<->openvpn' "$OUT/stdout" || fail "the table has no openvpn<->openvpn column"

# Every pair has every main metric, nonzero, in both the CSV and the JSON.
for metric in tcp1_mbps tcp4_mbps udp64_pps udp1400_pps tcp1_cpu_s_per_gb ping_avg_ms; do
    for p in "${pairs[@]}"; do
        v=$(awk -F, -v p="$p" -v m="$metric" '$2 == "AES-256-GCM" && $3 == p && $4 == m { print $5 }' "$OUT/latest.csv")
        awk -v v="${v:-0}" 'BEGIN { exit !(v > 0) }' || fail "CSV: $p $metric is '${v}'"
        j=$(jq --arg p "$p" --arg m "$metric" \
            '[.results[] | select(.pair == $p and .metric == $m and .transport == "udp")][0].median // 0' "$OUT/latest.json")
        awk -v v="$j" 'BEGIN { exit !(v > 0) }' || fail "JSON: $p $metric is '$j'"
    done
    # A ratio to openvpn<->openvpn is given for every other pair.
    for p in wb wbclient wbserver; do
        r=$(awk -F, -v p="$p" -v m="$metric" '$3 == p && $4 == m { print $7 }' "$OUT/latest.csv")
        awk -v v="${r:-0}" 'BEGIN { exit !(v > 0) }' || fail "CSV: no ratio for $p $metric"
    done
done
jq -e '.openssl_speed | length == 3 and all(.[]; .bytes_per_s > 0)' "$OUT/latest.json" >/dev/null \
    || fail "JSON: openssl speed bound missing"
echo "bench smoke: table, CSV, JSON and PNG written with nonzero figures for ${pairs[*]}"
