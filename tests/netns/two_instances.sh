#!/usr/bin/env bash
# Two agents side by side on one host, each in its own network namespace, with the default
# control socket (no control: section): each gets /run/wirebridge/SITE/control.sock, both start,
# `wirebridge status SITE` asks the one named, a nameless `status` refuses to guess, and stopping
# one leaves the other's folder and socket alone. The site also runs as systemd runs a Type=notify
# service: NOTIFY_SOCKET (a datagram socket this test reads) gets READY=1, STATUS= with the peer,
# RELOADING=1 then READY=1 on SIGHUP, WATCHDOG=1 and STOPPING=1; and with JOURNAL_STREAM naming
# its stderr, its log lines carry <N> priorities and no timestamp of their own.
#
#   LAN host $T-hH                                                     LAN host $T-h1
#    $LAN.1 ── [$T-hub: wirebridge (site $T-hub), bridge] ── $T-wan ── [$T-s1: wirebridge (site $T-s1)] ── $LAN.11
#               /run/wirebridge/$T-hub/control.sock       underlay       /run/wirebridge/$T-s1/control.sock
set -euo pipefail
. "$(dirname "$0")/lib.sh"

wbn_hub_and_sites 1 true
hub_site=$T-hub
s1_site=$T-s1
RUNDIRS=("/run/wirebridge/$hub_site" "/run/wirebridge/$s1_site")
for d in "${RUNDIRS[@]}"; do [ ! -e "$d" ] || die "$d exists before the test (another run with tag $T?)"; done
# Our own leftovers only: the two site folders the agents made (by their exact names).
trap 'cleanup; for d in "${RUNDIRS[@]}"; do rm -f "$d/control.sock"; rmdir "$d" 2>/dev/null; done; true' EXIT

# Default sockets: no control section, sites named after the run's tag (unique on this host).
sed -i -e "s/^site: hub\$/site: $hub_site/" -e '/^control:/d' "$WORK/hub.yaml"
sed -i -e "s/^site: s1\$/site: $s1_site/" -e '/^control:/d' "$WORK/s1.yaml"
hub_sock=/run/wirebridge/$hub_site/control.sock
s1_sock=/run/wirebridge/$s1_site/control.sock

# A stand-in for systemd's notify socket: one line per datagram, newlines shown as '|'.
notify_sock=$WORK/notify.sock
/usr/bin/python3 - "$notify_sock" "$WORK/notify.txt" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", "|") + "\n")
        f.flush()
PY
CAP[notify]=$!
wait_for 5 test -S "$notify_sock" || die "the notify stand-in did not bind"
notified() { grep -qE -- "$1" "$WORK/notify.txt"; }

wbn_start hub
wbn_wait_bridged hub
# The site as systemd would start it: NOTIFY_SOCKET, WATCHDOG_USEC and JOURNAL_STREAM = its stderr.
: >"$WORK/s1.journal"
journal=$(stat -c '%d:%i' "$WORK/s1.journal")
NOTIFY_SOCKET=$notify_sock WATCHDOG_USEC=2000000 JOURNAL_STREAM=$journal \
    ip netns exec "$T-s1" "$WB" run -c "$WORK/s1.yaml" 2>>"$WORK/s1.journal" >>"$WORK/s1.log" &
PID[s1]=$!
wbn_wait_bridged s1

require "the hub made its own folder and socket $hub_sock" wait_for 10 test -S "$hub_sock"
require "the site made its own folder and socket $s1_sock" wait_for 10 test -S "$s1_sock"
require "both agents run side by side" bash -c "kill -0 ${PID[hub]} && kill -0 ${PID[s1]}"
hub_up() { [ "$("$WB" status "$hub_site" --json | jq '[.peers[] | select(.cipher != "")] | length')" = 1 ]; }
require "the site's tunnel is up (wirebridge status $hub_site lists it)" wait_for 30 hub_up
check "wirebridge status $hub_site answers for the hub" \
    test "$("$WB" status "$hub_site" --json | jq -r .site)" = "$hub_site"
check "wirebridge status $s1_site answers for the site" \
    test "$("$WB" status "$s1_site" --json | jq -r .site)" = "$s1_site"
out=$("$WB" status 2>&1) && rc=0 || rc=$?
check "a nameless status with several agents refuses and names both (rc $rc): $out" \
    bash -c "[ $rc -eq 1 ] && grep -qF '$hub_site' <<<'$out' && grep -qF '$s1_site' <<<'$out'"

# Prometheus (node_exporter's textfile collector format), checked by Prometheus' own linter.
"$WB" status "$hub_site" --prometheus >"$WORK/hub.prom"
"$WB" status "$s1_site" --prometheus >"$WORK/s1.prom"
check "hub metrics: the site's peer is up" grep -qE "^wirebridge_peer_up\{site=\"$hub_site\",peer=\"s1\",peer_id=\"[0-9]+\"\} 1\$" "$WORK/hub.prom"
check "site metrics: heard from the hub within the keepalive" \
    bash -c "awk '/^wirebridge_peer_last_heard_seconds\{/ {print \$2}' '$WORK/s1.prom' | grep -qE '^[0-9]\$|^1[0-9]\$'"
check "site metrics: one handshake so far" grep -qE '^wirebridge_peer_handshakes_total\{.*\} 1$' "$WORK/s1.prom"
if command -v promtool >/dev/null; then
    for f in hub s1; do
        out=$(promtool check metrics <"$WORK/$f.prom" 2>&1) && rc=0 || rc=$?
        check "promtool check metrics accepts $f's metrics (rc $rc)${out:+: $out}" test "$rc" = 0 -a -z "$out"
    done
else
    log "note: promtool is not installed (deploy/setup installs prometheus): metrics not linted"
fi

# systemd's side of the site.
check "READY=1 was sent" wait_for 10 notified '^READY=1'
check "STATUS= names the peer that is up" wait_for 10 notified '^STATUS=1 peer up: hub \(AES-256-GCM, key [0-9]+\)'
check "WATCHDOG=1 comes from the loop (at least 3 in the first seconds)" \
    wait_for 10 bash -c "[ \$(grep -c '^WATCHDOG=1\$' '$WORK/notify.txt') -ge 3 ]"
kill -HUP "${PID[s1]}"
check "SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1 again" \
    wait_for 10 bash -c "grep -A50 '^RELOADING=1|MONOTONIC_USEC=[0-9]*\$' '$WORK/notify.txt' | grep -q '^READY=1'"
check "journal lines carry priorities: <6> for info" grep -q '^<6>wirebridge .* starting' "$WORK/s1.journal"
check "journal lines have no timestamp of their own" \
    bash -c "! grep -vE '^<[0-7]>' '$WORK/s1.journal' | grep -q . && ! grep -qE '^<[0-7]>[0-9]{2}:[0-9]{2}:[0-9]{2}' '$WORK/s1.journal'"

# Stopping one leaves the other alone.
rc=0
wbn_stop s1 || rc=$?
check "the site stopped cleanly (status $rc)" test "$rc" = 0
check "STOPPING=1 was sent" notified '^STOPPING=1'
check "the site's socket is gone" test ! -e "$s1_sock"
check "the hub's folder and socket are still there" test -S "$hub_sock"
check "the hub still answers wirebridge status $hub_site" \
    test "$("$WB" status "$hub_site" --json | jq -r .site)" = "$hub_site"
rc=0
wbn_stop hub || rc=$?
check "the hub stopped cleanly (status $rc)" test "$rc" = 0
check "the hub's socket is gone" test ! -e "$hub_sock"
wbn_finish
