#!/usr/bin/env bash
# wb-udpflood, the benchmark's small-packet load tool (bench/udpflood.cpp), on loopback: its
# selftest (hand-made datagrams through real sockets: unique, duplicated, reordered, lost, foreign
# and malformed counts exact; paced and unpaced sender/receiver pairs, one flow and several), then
# the two modes as bench/run starts them, as separate processes, with their JSON checked against
# each other (one flow, and --flows 8).
# WB_UDPFLOOD = the tool (set by tests/bench/CMakeLists.txt).
set -uo pipefail
: "${WB_UDPFLOOD:?set WB_UDPFLOOD to the wb-udpflood binary}"
fail() { echo "FAIL: $*" >&2; exit 1; }
OUT=$(mktemp -d /tmp/wb-udpflood-test.XXXXXX)
RPID=''
trap '[ -n "$RPID" ] && kill "$RPID" 2>/dev/null; rm -rf "$OUT"' EXIT

timeout 60 "$WB_UDPFLOOD" selftest 2> "$OUT/selftest.err" || { cat "$OUT/selftest.err" >&2; fail "selftest"; }

# Usage errors exit 2 and say what is wrong.
"$WB_UDPFLOOD" send --to 127.0.0.1 --port 9 --seconds 1 --len 20 2> "$OUT/usage.err"
[ $? = 2 ] && grep -q -- "--len wants" "$OUT/usage.err" || fail "a too short --len is not refused"

# A free port: the kernel picks one for a throwaway socket, then we use it.
PORT=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
timeout 20 "$WB_UDPFLOOD" recv --bind 127.0.0.1 --port "$PORT" --seconds 10 --run 31337 > "$OUT/recv.json" &
RPID=$!
for _ in $(seq 50); do ss -lunH "sport = :$PORT" | grep -q . && break; sleep 0.1; done
timeout 20 "$WB_UDPFLOOD" send --to 127.0.0.1 --port "$PORT" --len 64 --seconds 1 --rate 20000 --run 31337 \
    > "$OUT/send.json" || fail "send exited with $?"
wait $RPID || fail "recv exited with $?"
RPID=''
cat "$OUT/send.json" "$OUT/recv.json"
jq -e -s '.[0] as $s | .[1] as $r |
    $s.mode == "send" and $r.mode == "recv" and $r.end_marker and
    $s.offered == $s.sent + $s.errors and $r.expected == $s.offered and
    $r.unique == $s.offered and $r.lost == 0 and $r.duplicated == 0 and $r.bytes == 64 * $r.unique and
    $s.offered <= 20000 + $s.batch and $s.offered >= 5000 and $s.seconds >= 0.99 and $s.seconds < 1.5' \
    "$OUT/send.json" "$OUT/recv.json" > /dev/null || fail "send and recv disagree (above)"

# --flows 8: eight source ports in turn; the receiver sees eight, and still every datagram once.
timeout 20 "$WB_UDPFLOOD" recv --bind 127.0.0.1 --port "$PORT" --seconds 10 --run 31338 > "$OUT/recv8.json" &
RPID=$!
for _ in $(seq 50); do ss -lunH "sport = :$PORT" | grep -q . && break; sleep 0.1; done
timeout 20 "$WB_UDPFLOOD" send --to 127.0.0.1 --port "$PORT" --len 64 --seconds 0.5 --rate 20000 --run 31338 --flows 8 \
    > "$OUT/send8.json" || fail "send --flows 8 exited with $?"
wait $RPID || fail "recv exited with $?"
RPID=''
cat "$OUT/send8.json" "$OUT/recv8.json"
jq -e -s '.[0] as $s | .[1] as $r | $s.flows == 8 and $r.sources == 8 and $r.end_marker and
    $r.unique == $s.offered and $r.lost == 0 and $r.duplicated == 0' \
    "$OUT/send8.json" "$OUT/recv8.json" > /dev/null || fail "send --flows 8 and recv disagree (above)"
jq -e '.sources == 1' "$OUT/recv.json" > /dev/null || fail "one flow came from $(jq .sources "$OUT/recv.json") ports"

# Nobody listening: the receiver's deadline ends it; the sender counts refusals, not fatal.
timeout 20 "$WB_UDPFLOOD" recv --bind 127.0.0.1 --port "$PORT" --seconds 0.3 --run 1 > "$OUT/empty.json" \
    || fail "an idle recv failed"
jq -e '.received == 0 and .end_marker == false and .seconds >= 0.29 and .seconds < 2' "$OUT/empty.json" > /dev/null \
    || fail "an idle recv did not end at its deadline: $(cat "$OUT/empty.json")"
timeout 20 "$WB_UDPFLOOD" send --to 127.0.0.1 --port "$PORT" --len 64 --seconds 0.2 --rate 1000 > "$OUT/refused.json" \
    || fail "send to a closed port failed"
jq -e '.refused > 0 and .offered == .sent + .errors' "$OUT/refused.json" > /dev/null \
    || fail "refusals not counted: $(cat "$OUT/refused.json")"
echo "wb-udpflood: selftest and loopback send/recv agree"
