#!/usr/bin/env bash
# bench/report.py --ab, bench/ab's summary, on hand-written trials (no tunnel, no root): medians of
# A's and B's CPU per packet, B/A, loss and received pps, trials counted per build, and the trials
# above 1 % loss flagged in the table but kept in its medians.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(mktemp -d /tmp/wb-ab-report.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# udp/AES: A 3 trials (cpu 4, 3, 8: median 4, not the mean), B 2 (cpu 2 with 5 % loss, 3): B/A = 2.5 / 4, B flagged.
# tcp/ChaCha: A and B 1 trial each, no loss: nothing flagged, B/A = 3.3 / 3.0.
cat > "$OUT/trials.csv" <<CSV
round,order,transport,cipher,build,trial,offered_pps,rx_pps,loss_pct,cpu_us,rx_drops
1,1,udp,AES-256-GCM,A,1,200000,199990,0.00,4.000,0
1,1,udp,AES-256-GCM,A,2,200000,199980,0.01,3.000,0
1,2,udp,AES-256-GCM,B,1,200000,190000,5.00,2.000,0
1,1,tcp,CHACHA20-POLY1305,A,1,200000,200000,0.00,3.000,0
1,2,tcp,CHACHA20-POLY1305,B,1,200000,200000,0.00,3.300,0
2,1,udp,AES-256-GCM,B,1,200000,199990,0.00,3.000,0
2,2,udp,AES-256-GCM,A,1,200000,199990,0.00,8.000,0
CSV
python3 "$ROOT/bench/report.py" --ab "$OUT/trials.csv" --out "$OUT/ab" > "$OUT/stdout" || fail "report.py --ab failed"
cat "$OUT/stdout"
row() { awk -F, -v t="$1" -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == t && $2 == c { print $col["a_cpu_us"], $col["b_cpu_us"], $col["b_over_a"], $col["a_trials"], $col["b_trials"],
        $col["a_lossy"], $col["b_lossy"], $col["b_loss_pct"], $col["b_rx_pps"] }' "$OUT/ab.csv"; }
[ "$(row udp AES-256-GCM)" = "4.0 2.5 0.625 3 2 0 1 2.5 194995.0" ] || fail "udp AES-256-GCM summary is '$(row udp AES-256-GCM)'"
[ "$(row tcp CHACHA20-POLY1305)" = "3.0 3.3 1.1 1 1 0 0 0.0 200000.0" ] || fail "tcp ChaCha summary is '$(row tcp CHACHA20-POLY1305)'"
[ "$(sed -n 2p "$OUT/ab.csv" | cut -d, -f1)" = udp ] || fail "groups are not in the order first measured"
grep -Eq '^udp +AES-256-GCM +4\.00 +2\.50 +0\.62x .* 3/2 !$' "$OUT/stdout" || fail "the udp row is not flagged with '!'"
grep -Eq '^tcp +CHACHA20-POLY1305 .* 1\.10x .* 1/1$' "$OUT/stdout" || fail "the tcp row is flagged or wrong"
grep -q '^! udp AES-256-GCM: 1 of 2 B trials lost more than 1 %' "$OUT/stdout" || fail "no note on B's lossy trial"
[ "$(grep -c '^!' "$OUT/stdout")" = 1 ] || fail "a note too many"
cmp -s "$OUT/stdout" "$OUT/ab.txt" || fail "ab.txt differs from what was printed"
# With bench/ab's meta: the header names the run and both builds, the clock tick's resolution, and a
# sender that fell short of the rate asked (200,000 here against 250,000) is said.
cat > "$OUT/meta.json" <<JSON
{"cores": 2, "a": "/a/wirebridge", "b": "/b/wirebridge", "a_built": "x", "b_built": "y", "clk_tck": 100,
 "rate_pps": 250000, "len": 64, "flows": 64, "rounds": 2, "trials": 3, "trial_s": 2, "loss_bound_pct": 1,
 "loadavg_start": "0.5 0.4 0.3", "loadavg_end": "1.0 0.5 0.3"}
JSON
python3 "$ROOT/bench/report.py" --ab "$OUT/trials.csv" --meta "$OUT/meta.json" --out "$OUT/abm" > "$OUT/stdout" \
    || fail "report.py --ab --meta failed"
cat "$OUT/stdout"
grep -q '^bench/ab: 64-byte datagrams at 250,000 pps offered, 64 flows; 2 round(s) x 3 trial(s) of 2 s' "$OUT/stdout" \
    || fail "no run header from the meta"
grep -q '^A: /a/wirebridge (built x)$' "$OUT/stdout" || fail "build A not named"
grep -q '^B: /b/wirebridge (built y)$' "$OUT/stdout" || fail "build B not named"
grep -q 'one clock tick (1/100 s) is 0.020 us per packet' "$OUT/stdout" || fail "no resolution line"
[ "$(grep -c "sender offered 200,000 pps, short of 250,000" "$OUT/stdout")" = 4 ] || fail "short senders not said"
echo "bench/report.py --ab: medians, B/A, trial counts and the lossy flag right on hand-written trials"
