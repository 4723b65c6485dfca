#!/usr/bin/env bash
# control.metrics: the hub serves GET /metrics on the address its config names (in its namespace),
# with the same metrics as `wirebridge status --prometheus`, accepted by `promtool check metrics`
# and scraped by a Prometheus server run in the namespace; HEAD, other paths, other methods and malformed or
# oversized heads get their status codes; a client that connects and says nothing, or sends a
# head without end, holds neither the endpoint nor the control socket; without control.metrics
# nothing listens. A config whose control.metrics is not ADDRESS:PORT is refused by check.
#
#   LAN host $T-hH ── [$T-hub: wirebridge, metrics on $HUB_WAN:9433] ── $T-wan ── [$T-s1: no metrics]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

wbn_hub_and_sites 1 true
MPORT=9433
sed -i "s|^control: {socket: \\(.*\\)}\$|control: {socket: \\1, metrics: \"$HUB_WAN:$MPORT\"}|" "$WORK/hub.yaml"
require "the hub's config has control.metrics" grep -q "metrics: \"$HUB_WAN:$MPORT\"" "$WORK/hub.yaml"
require "wirebridge check accepts it" "$WB" check -c "$WORK/hub.yaml"

# check refuses what is not ADDRESS:PORT, with file:line:column.
for bad in '"localhost:9433"' '"127.0.0.1"' '"127.0.0.1:0"' '"127.0.0.1:70000"' '[1, 2]'; do
    sed "s|metrics: \"$HUB_WAN:$MPORT\"|metrics: $bad|" "$WORK/hub.yaml" >"$WORK/bad.yaml"
    out=$("$WB" check -c "$WORK/bad.yaml" 2>&1) && rc=0 || rc=$?
    check "check refuses control.metrics: $bad (rc $rc): $(head -n 1 <<<"$out")" \
        bash -c "[ $rc = 1 ] && grep -qE '^$WORK/bad.yaml:[0-9]+:[0-9]+: control.metrics' <<<'$out'"
done

wbn_start_hub_and_sites
url=http://$HUB_WAN:$MPORT
# http REQUEST: the raw answer of the hub's endpoint to REQUEST (printf format), 5 s at most.
http() { on hub timeout 5 bash -c "exec 3<>/dev/tcp/$HUB_WAN/$MPORT; printf '$1' >&3; cat <&3" 2>/dev/null; }
scrape() { http 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'; }
code() { head -n 1 <<<"$1" | cut -d' ' -f2; }

out=$(scrape)
check "GET /metrics: 200 with the exposition format's type" \
    bash -c "grep -q '^HTTP/1.1 200 OK' <<<'$(head -n 1 <<<"$out")' && grep -qi '^Content-Type: text/plain; version=0.0.4' <<<\"\$0\"" "$out"
body=$(sed '1,/^\r$/d' <<<"$out")
printf '%s\n' "$body" >"$WORK/http.prom"
len=$(grep -i '^Content-Length:' <<<"$out" | tr -dc 0-9)
check "Content-Length ($len) is the body's length" test "$len" = "$(printf '%s\n' "$body" | wc -c)"
check "the body has the site's peer up" grep -qE '^wirebridge_peer_up\{site="hub",peer="s1",peer_id="[0-9]+"\} 1$' "$WORK/http.prom"
status hub --prometheus >"$WORK/ctl.prom"
names() { grep -E '^# (HELP|TYPE) ' "$1"; }
check "the same metric families as status --prometheus" diff <(names "$WORK/ctl.prom") <(names "$WORK/http.prom")
if command -v promtool >/dev/null; then
    out=$(promtool check metrics <"$WORK/http.prom" 2>&1) && rc=0 || rc=$?
    check "promtool check metrics accepts /metrics (rc $rc)${out:+: $out}" test "$rc" = 0 -a -z "$out"
    # And Prometheus itself (Debian's prometheus package) scraping the endpoint, when it is there:
    # its scrape client, its parser, its target health.
    if command -v prometheus >/dev/null; then
        cat >"$WORK/prometheus.yml" <<PROM
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: wirebridge
    static_configs: [{targets: ["$HUB_WAN:$MPORT"]}]
PROM
        on hub prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
            --web.listen-address=127.0.0.1:19090 >"$WORK/prometheus.log" 2>&1 &
        CAP[prometheus]=$!
        scraped() {
            on hub timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/19090; printf 'GET /api/v1/query?query=wirebridge_peer_up HTTP/1.0\r\n\r\n' >&3; cat <&3" 2>/dev/null |
                grep -q '"peer":"s1"'
        }
        check "Prometheus itself scrapes /metrics (up, wirebridge_peer_up{peer=\"s1\"})" wait_for 30 scraped
        on_target_up() {
            on hub timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/19090; printf 'GET /api/v1/targets HTTP/1.0\r\n\r\n' >&3; cat <&3" 2>/dev/null |
                grep -q '"health":"up"'
        }
        check "Prometheus reports the target healthy" wait_for 10 on_target_up
        kill "${CAP[prometheus]}" 2>/dev/null; wait "${CAP[prometheus]}" 2>/dev/null || true
        unset 'CAP[prometheus]'
    fi
else
    log "note: promtool is not installed (deploy/setup installs prometheus): metrics not linted"
fi

out=$(http 'HEAD /metrics HTTP/1.1\r\n\r\n')
check "HEAD /metrics: 200, a length, no body" \
    bash -c "[ '$(code "$out")' = 200 ] && [ -z \"\$(sed '1,/^\r\$/d' <<<\"\$0\")\" ]" "$out"
check "GET /: 200" test "$(code "$(http 'GET / HTTP/1.0\r\n\r\n')")" = 200
check "GET /nothing: 404" test "$(code "$(http 'GET /nothing HTTP/1.1\r\n\r\n')")" = 404
check "POST /metrics: 405" test "$(code "$(http 'POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n')")" = 405
check "a malformed request line: 400" test "$(code "$(http 'GET metrics\r\n\r\n')")" = 400
check "HTTP/2.0: 505" test "$(code "$(http 'GET /metrics HTTP/2.0\r\n\r\n')")" = 505
long=$(head -c 3000 /dev/zero | tr '\0' a)
check "a 3000-byte target: 414" test "$(code "$(http "GET /$long HTTP/1.1\r\n\r\n")")" = 414
big=$(head -c 9000 /dev/zero | tr '\0' v)
check "a head over 8 KiB that never ends: 431, then closed" test "$(code "$(http "GET /metrics HTTP/1.1\r\nX: $big")")" = 431

# Slow and silent clients: 20 connections that say nothing and one that sends a head byte by byte
# without end. The control socket and a new scrape are still answered at once; the silent ones
# are closed after 5 s.
on hub bash -c "for i in \$(seq 20); do exec {fd}<>/dev/tcp/$HUB_WAN/$MPORT || true; done; sleep 8" &
CAP[silent]=$!
sleep 1
start=$(date +%s%N)
check "the control socket answers while 20 clients hold connections" status hub --json >/dev/null
scrape_ok() { [ "$(code "$(scrape)")" = 200 ]; }
check "a scrape is answered within 10 s (the silent ones are closed at accept or after 5 s)" wait_for 10 scrape_ok
log "scrape under 20 silent clients answered after $((($(date +%s%N) - start) / 1000000)) ms"
wait "${CAP[silent]}" 2>/dev/null || true
unset 'CAP[silent]'
check "the agent still runs" alive hub

check "the site (no control.metrics) listens on no TCP port" \
    bash -c "! ip netns exec $T-s1 ss -Hltn | grep -q ."
check "the hub listens on $HUB_WAN:$MPORT only for metrics" \
    bash -c "ip netns exec $T-hub ss -Hltn | grep -q '$HUB_WAN:$MPORT'"

wbn_stop_all
check "the endpoint is closed when the hub stops" bash -c "! ip netns exec $T-hub ss -Hltn 2>/dev/null | grep -q ':$MPORT'"
wbn_finish
