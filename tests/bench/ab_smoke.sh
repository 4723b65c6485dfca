#!/usr/bin/env bash
# Smoke test of bench/ab: one round, one 1 s trial per build, UDP, AES-256-GCM, the test build as
# both A and B, at a rate an ASan build carries (not a performance threshold). bench/ab must exit 0,
# print its table and write the trials CSV with A measured first and B second in round 1, each with
# a nonzero CPU per packet and received rate, and the summary CSV with B/A. Needs root;
# WB_WIREBRIDGE = the wirebridge binary, WB_UDPFLOOD = the load tool (tests/bench/CMakeLists.txt).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
: "${WB_WIREBRIDGE:?set WB_WIREBRIDGE to the wirebridge binary}"
: "${WB_UDPFLOOD:?set WB_UDPFLOOD to the wb-udpflood binary}"
OUT=$(mktemp -d /tmp/wb-ab-smoke.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

timeout 120 "$ROOT/bench/ab" --rounds 1 --trials 1 --trial-seconds 1 --transport udp --cipher aes256 --rate 20000 \
    --flood "$WB_UDPFLOOD" --out "$OUT" "$WB_WIREBRIDGE" "$WB_WIREBRIDGE" > "$OUT/stdout" 2> "$OUT/stderr"
rc=$?
cat "$OUT/stdout"
[ $rc = 0 ] || { tail -n 30 "$OUT/stderr" >&2; fail "bench/ab exited with $rc"; }
for ext in txt csv trials.csv; do
    [ -s "$OUT/latest-ab.$ext" ] || fail "no latest-ab.$ext written"
done
grep -q '^bench/ab: 64-byte datagrams at 20,000 pps offered, 1 flow; 1 round(s) x 1 trial(s) of 1 s' "$OUT/stdout" \
    || fail "no table header"
grep -Eq '^udp +AES-256-GCM +[0-9.]+ +[0-9.]+ +[0-9.]+x .* 1/1( !)?$' "$OUT/stdout" || fail "no udp AES-256-GCM row"
# Every trial: round 1, A first then B, a received rate and CPU per packet above 0.
[ "$(tail -n +2 "$OUT/latest-ab.trials.csv" | cut -d, -f1-6 | tr '\n' ' ')" = "1,1,udp,AES-256-GCM,A,1 1,2,udp,AES-256-GCM,B,1 " ] \
    || fail "trials are not A then B in round 1: $(cat "$OUT/latest-ab.trials.csv")"
awk -F, 'NR > 1 && !($8 > 0 && $10 > 0) { bad = 1 } END { exit bad }' "$OUT/latest-ab.trials.csv" \
    || fail "a trial without received packets or CPU: $(cat "$OUT/latest-ab.trials.csv")"
awk -F, 'NR == 2 { exit !($1 == "udp" && $3 > 0 && $4 > 0 && $5 > 0 && $12 == 1 && $13 == 1) }' "$OUT/latest-ab.csv" \
    || fail "summary CSV: $(cat "$OUT/latest-ab.csv")"
echo "bench/ab smoke: A then B measured at a fixed rate, table, summary and trials CSV written"
