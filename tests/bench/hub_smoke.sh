#!/usr/bin/env bash
# Smoke test of bench/hub: a hub with three sites, 2 s, 1 rep, every pair (openvpn hub and sites,
# wirebridge hub with two workers and its sites, wirebridge hub with openvpn sites) must print a
# table and write CSV and JSON with a nonzero figure for every pair, direction and metric, the hub's
# own CPU included (the daemon's pid, not a shell's). Needs root; WB_WIREBRIDGE = the binary.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
: "${WB_WIREBRIDGE:?set WB_WIREBRIDGE to the wirebridge binary}"
OUT=$(mktemp -d /tmp/wb-bench-hub-smoke.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

timeout 300 "$ROOT/bench/hub" --duration 2 --reps 1 --wirebridge "$WB_WIREBRIDGE" --out "$OUT" > "$OUT/stdout" 2> "$OUT/stderr"
rc=$?
cat "$OUT/stdout"
[ $rc = 0 ] || { tail -n 30 "$OUT/stderr" >&2; fail "bench/hub exited with $rc"; }
for ext in txt csv json raw.csv; do
    [ -s "$OUT/latest-hub.$ext" ] || fail "no latest-hub.$ext written"
done
grep -q '^hub up, 3 sites, sum' "$OUT/stdout" || fail "no table printed"
for p in ovpn wb wbhub; do
    for m in hub_up_mbps hub_down_mbps hub_up_min_site_mbps hub_down_min_site_mbps hub_up_hub_cpu_s_per_gb \
             hub_down_hub_cpu_s_per_gb hub_up_all_cpu_s_per_gb hub_down_all_cpu_s_per_gb; do
        v=$(jq --arg p "$p" --arg m "$m" '[.results[] | select(.pair == $p and .metric == $m)][0].median // 0' "$OUT/latest-hub.json")
        awk -v v="$v" 'BEGIN { exit !(v > 0) }' || fail "JSON: $p $m is '$v'"
    done
done
jq -e '.meta.hub_workers == 2 and .meta.sites == 3' "$OUT/latest-hub.json" >/dev/null || fail "JSON: workers/sites not in meta"
echo "bench hub smoke: three sites on each hub, nonzero figures for ovpn, wb and wbhub"
