#!/usr/bin/env bash
# wb-udpflood --via packet (bench/packet_path.*, bench/udp4_frame.hpp), the bench's default sender:
# two namespaces and a veth pair, the receiver in one, the sender in the other. The frames must be
# what the kernel's own UDP send makes: every datagram arrives once (a wrong IPv4 or UDP checksum
# is dropped by the receiving stack, counted in its Udp/Ip error counters, which must stay 0), from
# the flows' own source ports, at 64, 65 (odd: the checksum's pad byte) and 1400 bytes; the
# receiver's MAC found by ARP (resolved by the tool itself); and clear refusals for what it cannot
# do (IPv6, a receiver behind a router). Needs root; WB_UDPFLOOD = the load tool.
set -uo pipefail
. "$(dirname "$0")/../lib/base.sh"
: "${WB_UDPFLOOD:?set WB_UDPFLOOD to the wb-udpflood binary}"
WB_TEST=udpflood_packet
T=wfp$(($$ % 100000))
OUT=$(mktemp -d "/tmp/$T.XXXX")
RPID=''
cleanup() {
    [ -n "$RPID" ] && wb_stop_pid "$RPID" 2
    wb_ns_del_all
    rm -rf "$OUT"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

wb_ns_add "$T-s" && wb_ns_add "$T-r" || fail "cannot make namespaces"
ip link add "${T}s" netns "$T-s" type veth peer name "${T}r" netns "$T-r" || fail "veth"
ip -n "$T-s" addr add 10.79.0.1/24 dev "${T}s"
ip -n "$T-r" addr add 10.79.0.2/24 dev "${T}r"
ip -n "$T-s" -6 addr add fd79::1/64 dev "${T}s" nodad
ip -n "$T-s" link set "${T}s" up
ip -n "$T-r" link set "${T}r" up
# A destination behind a router (this namespace has a route, nothing answers there).
ip -n "$T-s" route add 10.80.0.0/24 via 10.79.0.2

PORT=5301
# flood NAME LEN RATE FLOWS: one receiver run against one --via packet sender run.
flood() {
    local name=$1 len=$2 rate=$3 flows=$4 run=$((RANDOM + 1))
    ip netns exec "$T-r" nstat -n
    ip netns exec "$T-r" timeout 20 "$WB_UDPFLOOD" recv --bind 10.79.0.2 --port $PORT --seconds 10 --idle 1 --run $run \
        > "$OUT/$name.recv.json" 2> "$OUT/$name.recv.err" &
    RPID=$!
    wb_wait 5 ip netns exec "$T-r" ss -lunH "sport = :$PORT" || fail "$name: receiver not listening"
    ip netns exec "$T-s" timeout 20 "$WB_UDPFLOOD" send --to 10.79.0.2 --port $PORT --len "$len" --seconds 0.5 \
        --rate "$rate" --run $run --flows "$flows" --via packet > "$OUT/$name.send.json" 2> "$OUT/$name.send.err" \
        || { cat "$OUT/$name.send.err" >&2; fail "$name: send exited with $?"; }
    wait "$RPID" || fail "$name: recv exited with $?"
    RPID=''
    cat "$OUT/$name.send.json" "$OUT/$name.recv.json"
    jq -e -s --argjson len "$len" --argjson flows "$flows" '.[0] as $s | .[1] as $r |
        $s.via == "packet" and $s.flows == $flows and $r.end_marker and $s.offered > 0 and
        $s.offered == $s.sent + $s.errors and $s.errors == 0 and $r.expected == $s.offered and
        $r.unique == $s.offered and $r.lost == 0 and $r.duplicated == 0 and $r.malformed == 0 and
        $r.bytes == $len * $r.unique and $r.sources == $flows' \
        "$OUT/$name.send.json" "$OUT/$name.recv.json" > /dev/null || fail "$name: send and recv disagree (above)"
    local errors
    errors=$(ip netns exec "$T-r" nstat -a | awk '$1 ~ /^(UdpInCsumErrors|UdpInErrors|IpInHdrErrors|IpInAddrErrors)$/ && $2 > 0')
    [ -z "$errors" ] || fail "$name: the receiving stack refused frames: $errors"
}

flood one64 64 20000 1
flood flows8_odd65 65 20000 8
flood one1400 1400 5000 1
flood flows64 64 100000 64
# The IP ids count up and DF is set, as the kernel's own sends; one frame seen by a capture.
ip netns exec "$T-r" timeout 10 tcpdump -c 2 -nn -v -i "${T}r" udp port $PORT > "$OUT/cap.txt" 2>/dev/null &
CPID=$!
sleep 1
ip netns exec "$T-s" timeout 10 "$WB_UDPFLOOD" send --to 10.79.0.2 --port $PORT --len 64 --seconds 0.05 --rate 100 \
    --via packet > /dev/null 2>&1
wb_wait_pid "$CPID" 10
cat "$OUT/cap.txt"
grep -q 'flags \[DF\]' "$OUT/cap.txt" && grep -q 'ttl 64' "$OUT/cap.txt" && grep -q 'proto UDP (17), length 92' "$OUT/cap.txt" \
    || fail "a captured frame is not DF, TTL 64, 92 bytes of IPv4"

# Refusals: exit 1 and say why.
ip netns exec "$T-s" "$WB_UDPFLOOD" send --to fd79::2 --port $PORT --seconds 0.1 --via packet > /dev/null 2> "$OUT/v6.err"
[ $? = 1 ] && grep -q "IPv4 only" "$OUT/v6.err" || fail "IPv6 not refused: $(cat "$OUT/v6.err")"
ip netns exec "$T-s" "$WB_UDPFLOOD" send --to 10.80.0.9 --port $PORT --seconds 0.1 --via packet > /dev/null 2> "$OUT/routed.err"
[ $? = 1 ] && grep -q "on the sender's link" "$OUT/routed.err" || fail "a routed receiver not refused: $(cat "$OUT/routed.err")"
echo "wb-udpflood --via packet: every frame arrived whole, checksums right, flows kept, refusals said"
