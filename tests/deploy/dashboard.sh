#!/usr/bin/env bash
# deploy/grafana/wirebridge.json: valid JSON, a Grafana dashboard whose every query names only
# metrics the agent exports (agent/control/prometheus.cpp) and docs/CONTROL.md documents.
#
#   tests/deploy/dashboard.sh SOURCE_DIR
set -uo pipefail
src=${1:?usage: dashboard.sh SOURCE_DIR}
command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }
dash=$src/deploy/grafana/wirebridge.json
failed=0
ok() { printf 'PASS %s\n' "$*"; }
bad() { printf 'FAIL %s\n' "$*"; failed=$((failed + 1)); }

jq -e '.panels | length > 0' "$dash" >/dev/null && ok "valid JSON with panels" || bad "not JSON with panels"
exprs=$(jq -r '.panels[].targets[].expr' "$dash")
[ -n "$exprs" ] && ok "panels have queries" || bad "no queries"
jq -e '[.panels[].id] | length == (unique | length)' "$dash" >/dev/null && ok "panel ids are unique" || bad "panel ids repeat"
for m in $(grep -oE 'wirebridge_[a-z_]+' <<<"$exprs" | sort -u); do
    if grep -q "\"$m\"" "$src/agent/control/prometheus.cpp"; then ok "$m is exported"; else bad "$m is not exported by the agent"; fi
    base=${m%_total}
    if grep -qE "\`(${m}|${base}[^\`]*)" "$src/docs/CONTROL.md"; then ok "$m is documented"; else bad "$m is not in docs/CONTROL.md"; fi
done
echo "dashboard: $failed failed"
[ "$failed" -eq 0 ]
