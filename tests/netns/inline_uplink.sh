#!/usr/bin/env bash
# Inline, the box's own tunnel (DESIGN scenario 7, issue 14 items 3 and 4): the box has one
# address and no route but the connected ones; its tunnel to the hub leaves through the LAN's
# router anyway (bridge.gateway: a private table chosen by the tunnel socket's mark), and follows
# a router failover (the gateway address moved to another router's MAC, announced by gratuitous
# ARP): a tunnel flow (a byte-exact TCP transfer and a ping, LAN host <-> the hub's remote LAN)
# and an unselected flow (ping to the "Internet" host) go on, IPv4 and IPv6 (shared $GW6, moved
# with unsolicited neighbour advertisements); the loss windows are printed.
#
#   ns h                ns box (no routes)                  ns sw (switch)    ns r1 / ns r2 (routers)        ns up (switch)
#   ${T}e 192.0.2.10 ── ${T}l ┐ bridge ${T}b 192.0.2.2/24 ┌ ${T}w ── ${T}s ──┬─ r1: 192.0.2.1 (active)  ──┬─ ${T}u: "Internet" 203.0.113.20
#   gw 192.0.2.1              └ (agent)  TAP ${T}t        ┘                  └─ r2: standby               │   and ns hub 203.0.113.1:
#                                        10.20.0.2/16                             both: 203.0.113.254    └─ wirebridge server, bridge
#                                                                                 (moves with .1)           [${T}hl]── ns rem 10.20.0.5/16
#
# The routers share 192.0.2.1 on the LAN side and 203.0.113.254 upstream (a VRRP pair, moved by
# hand: r1's links go down, r2 takes both addresses and announces them). Interest: dst
# 10.20.0.0/16 is queued and tunnelled. Needs root. Env: WB_WIREBRIDGE; WB_INLINE_FASTPATH=1
# (the VM scenario, xt_GWMARK loaded) also enables the fast path and checks that replies from the
# remote LAN come back through it (reply_xmit grows) carrying the host's gateway MAC.
TEST=inline_uplink$([ "${WB_INLINE_JOIN:-false}" = true ] && echo _join)$([ "${WB_INLINE_PROTO:-udp}" = tcp ] && echo _tcp)
. "$(dirname "$0")/lib.sh"

REM=10.20.0.5 NET=203.0.113.20 GW=192.0.2.1 UPGW=203.0.113.254
REM6=2001:db8:20::5 NET6=2001:db8:3::20 GW6=2001:db8:1::1 UPGW6=2001:db8:3::254
FASTPATH=${WB_INLINE_FASTPATH:-0}
# false: the TAP has 10.20.0.2/16 and the remote LAN routes back to it; true: the TAP is a port of
# the box's bridge (one segment with the remote LAN, which routes back through 192.0.2.2 on-link).
JOIN=${WB_INLINE_JOIN:-false}
# udp, or tcp: the box's tunnel is a TCP connection to the hub (the marked socket connects).
PROTO=${WB_INLINE_PROTO:-udp}
log "join_bridge: $JOIN, fast path: $FASTPATH, tunnel over $PROTO"

echo "== namespaces"
log "tag $T, scratch $WORK, $("$WB" --version)"
for n in h box sw r1 r2 up hub rem; do wbn_ns "$n"; done
for n in h box sw r1 r2 up hub rem; do
    on "$n" sysctl -q -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
        net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 >/dev/null
done
ip link add "${T}e" netns "$T-h" type veth peer name "${T}l" netns "$T-box"
ip link add "${T}w" netns "$T-box" type veth peer name "${T}s0" netns "$T-sw"
ip link add "${T}s1" netns "$T-sw" type veth peer name "${T}a0" netns "$T-r1"
ip link add "${T}s2" netns "$T-sw" type veth peer name "${T}a0" netns "$T-r2"
ip link add "${T}a1" netns "$T-r1" type veth peer name "${T}u1" netns "$T-up"
ip link add "${T}a1" netns "$T-r2" type veth peer name "${T}u2" netns "$T-up"
ip link add "${T}u3" netns "$T-up" type veth peer name "${T}hw" netns "$T-hub"
ip link add "${T}hl" netns "$T-hub" type veth peer name "${T}e" netns "$T-rem"
for sw in "sw ${T}s" "up ${T}u"; do
    set -- $sw
    ip -n "$T-$1" link add "$2" type bridge
    ip -n "$T-$1" link set "$2" up
done
for p in s0 s1 s2; do ip -n "$T-sw" link set "${T}$p" master "${T}s" up; done
for p in u1 u2 u3; do ip -n "$T-up" link set "${T}$p" master "${T}u" up; done
ip -n "$T-h" addr add 192.0.2.10/24 dev "${T}e"
ip -n "$T-r1" addr add 192.0.2.251/24 dev "${T}a0"
ip -n "$T-r1" addr add "$GW/24" dev "${T}a0"
ip -n "$T-r2" addr add 192.0.2.252/24 dev "${T}a0"
ip -n "$T-r1" addr add 203.0.113.2/24 dev "${T}a1"
ip -n "$T-r1" addr add "$UPGW/24" dev "${T}a1"
ip -n "$T-r2" addr add 203.0.113.3/24 dev "${T}a1"
ip -n "$T-up" addr add "$NET/24" dev "${T}u"
ip -n "$T-hub" addr add 203.0.113.1/24 dev "${T}hw"
ip -n "$T-rem" addr add "$REM/16" dev "${T}e"
# IPv6: the same shape (the routers share $GW6 and $UPGW6).
ip -n "$T-h" addr add 2001:db8:1::10/64 dev "${T}e" nodad
ip -n "$T-r1" addr add "$GW6/64" dev "${T}a0" nodad
ip -n "$T-r1" addr add 2001:db8:3::2/64 dev "${T}a1" nodad
ip -n "$T-r1" addr add "$UPGW6/64" dev "${T}a1" nodad
ip -n "$T-r2" addr add 2001:db8:3::3/64 dev "${T}a1" nodad
ip -n "$T-up" addr add "$NET6/64" dev "${T}u" nodad
ip -n "$T-rem" addr add "$REM6/64" dev "${T}e" nodad
for pair in "h ${T}e" "r1 ${T}a0" "r1 ${T}a1" "r2 ${T}a0" "r2 ${T}a1" "hub ${T}hw" "rem ${T}e"; do
    set -- $pair
    ip -n "$T-$1" link set "$2" up
done
ip -n "$T-h" route add default via "$GW"
ip -n "$T-h" -6 route add default via "$GW6"
ip -n "$T-up" -6 route add 2001:db8:1::/64 via "$UPGW6"
ip -n "$T-up" route add 192.0.2.0/24 via "$UPGW"
ip -n "$T-hub" route add 192.0.2.0/24 via "$UPGW"
if [ "$JOIN" = true ]; then
    # One segment with the box's bridge: the remote LAN reaches the LAN through the box's one
    # address (its replies then take the box's fast path, with the host's gateway MAC).
    ip -n "$T-rem" route add 192.0.2.0/24 via 192.0.2.2 dev "${T}e" onlink
else
    ip -n "$T-rem" route add 192.0.2.0/24 via 10.20.0.2
fi
for r in r1 r2; do on "$r" sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null; done
R1MAC=$(mac_of r1 "${T}a0") R2MAC=$(mac_of r2 "${T}a0")
host_routes() { ip -n "$T-h" route show | sed 's/ linkdown//'; ip -n "$T-h" -6 route show | grep -v '^fe80\|^multicast' | sed 's/ linkdown//'; }
# announcer NS FIFO DEV ADDRESS...: started before a takeover, waits until FIFO is written, then
# announces each ADDRESS on its DEV twice at once (and writes the time it did to FIFO.sent), as a VRRP router taking over does: IPv4 by
# gratuitous ARP (sender and target ADDRESS, DEV's MAC, to broadcast), IPv6 by unsolicited
# neighbour advertisements (router and override flags) to all nodes.
announcer() {
    local ns=$1
    shift
    on "$ns" python3 - "$@" <<'PY' &
import socket, struct, sys, time
fifo, pairs = sys.argv[1], list(zip(sys.argv[2::2], sys.argv[3::2]))
def mac(dev):
    return bytes.fromhex(open("/sys/class/net/%s/address" % dev).read().strip().replace(":", ""))
frames = []
for dev, addr in pairs:
    if ":" in addr:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
        na = struct.pack("!BBHI", 136, 0, 0, 0xA0000000) + socket.inet_pton(socket.AF_INET6, addr) + bytes([2, 1]) + mac(dev)
        frames.append(lambda s=s, na=na, dev=dev: s.sendto(na, ("ff02::1", 0, 0, socket.if_nametoindex(dev))))
    else:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((dev, 0))
        ip, m = socket.inet_aton(addr), mac(dev)
        arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + m + ip + b"\0" * 6 + ip
        frames.append(lambda s=s, f=b"\xff" * 6 + m + b"\x08\x06" + arp: s.send(f))
open(fifo).read()
for _ in range(2):
    for send in frames:
        send()
open(fifo + ".sent", "w").write("%d\n" % time.time_ns())  # when the announcements left
PY
}
host_routes_before=$(host_routes)

wbn_pki box
cat >"$WORK/hub.yaml" <<EOF
site: hub
bridge: {name: ${T}hb, ports: [${T}hl], address: 10.20.0.1/16, remove_on_stop: true}
tunnel:
  role: server
  proto: $PROTO
  local: 203.0.113.1:$PORT
  device: ${T}ht
  pool: 10.200.77.0/24
  join_bridge: true
$(wbn_tunnel_creds hub)
control: {socket: $WORK/hub.sock}
log: {level: info}
EOF
fastpath=
[ "$FASTPATH" = 1 ] && fastpath="fastpath: {enabled: true, reply_mark: 0x32, orig_mark: 0x33}"
cat >"$WORK/box.yaml" <<EOF
$(wbn_inline_bridge box)
tunnel:
  role: client
  proto: $PROTO
  remote: [203.0.113.1:$PORT]
  device: ${T}t
$([ "$JOIN" = true ] || echo "  address: 10.20.0.2/16")
  join_bridge: $JOIN
$(wbn_tunnel_creds box)
$fastpath
interest:
  queue: 4
  rules:
    - {dst: 10.20.0.0/16}
    - {dst: '2001:db8:20::/64'}
control: {socket: $WORK/box.sock}
log: {level: debug}
EOF

echo "== the box's own tunnel without a route"
require "wirebridge check accepts the box's config" "$WB" check -c "$WORK/box.yaml"
wbn_start hub
wbn_start box
require "the box's tunnel is up within 30 s (no route in main)" wait_for 30 site_up box
main_routes=$(ip -n "$T-box" -4 route show table main)
log "the box's main table: $(tr '\n' ';' <<<"$main_routes")"
check "the box's main table holds only connected routes" \
    bash -c "[ -n \"\$1\" ] && ! grep -v 'proto kernel scope link' <<<\"\$1\"" _ "$main_routes"
check "no default route in main" bash -c "! ip -n $T-box route show default | grep -q ."
check "the uplink rule: fwmark 0x40000/0x40000 lookup 1193" \
    matches "$(ip -n "$T-box" rule show)" "^1193:.*fwmark 0x40000/0x40000 lookup 1193"
check "table 1193: default via $GW dev ${T}b onlink" \
    matches "$(ip -n "$T-box" route show table 1193)" "^default via $GW dev ${T}b .*onlink"
check "unmarked, the hub is unreachable from the box (no route)" \
    bash -c "! ip -n $T-box route get 203.0.113.1 >/dev/null 2>&1"
check "marked 0x40000, the hub is reached via $GW" \
    matches "$(ip -n "$T-box" route get 203.0.113.1 mark 0x40000)" "via $GW dev ${T}b"
ssopt=-uanpe
[ "$PROTO" = tcp ] && ssopt=-tanpe
check "the agent's $PROTO socket carries the mark (ss)" \
    matches "$(on box ss "$ssopt" 2>/dev/null | grep -i wirebridge || on box ss "${ssopt%p*}e")" "fwmark:0x40000"
[ "$PROTO" = tcp ] && check "the tunnel is a TCP connection to the hub, established from the box's address" \
    matches "$(on box ss -Htn state established dst 203.0.113.1:$PORT)" "192\.0\.2\.2:[0-9]+ +203\.0\.113\.1:$PORT"
check "the box resolved the gateway to r1's MAC" \
    matches "$(ip -n "$T-box" neigh show "$GW")" "lladdr $R1MAC"
check "the box's log says how the uplink goes" grep -q "uplink: the tunnel's socket carries mark 0x40000" "$WORK/box.log"
# The remote LAN routes the LAN's IPv6 prefix back to the box (the link-local address of its TAP,
# or of its bridge when the TAP is a port of it).
tapll=$(ip -n "$T-box" -6 -o addr show dev "${T}$([ "$JOIN" = true ] && echo b || echo t)" scope link |
    awk '{sub(/\/.*/, "", $4); print $4}')
ip -n "$T-rem" -6 route add 2001:db8:1::/64 via "$tapll" dev "${T}e"
require "tunnel flow: the LAN host reaches $REM behind the hub" reach h "$REM" 20
require "unselected flow: the LAN host reaches $NET through its router" reach h "$NET" 20
# The box has an IPv4 address on the LAN (its connected route carries IPv4 replies without the
# module) but nothing of IPv6: the remote LAN's IPv6 replies reach the host only by the fast path.
V6TUN=$FASTPATH
[ "$V6TUN" = 1 ] && require "IPv6 tunnel flow: the LAN host reaches $REM6 behind the hub" reach h "$REM6" 20
require "IPv6 unselected flow: the LAN host reaches $NET6 through its router" reach h "$NET6" 20
check "the tunnel flow was decided by the agent" test "$(status box --json | jq -r .flows.decided_tunnel)" -ge 1
check "the LAN host was not reconfigured (routes: $(host_routes | tr '\n' ';'))" test "$(host_routes)" = "$host_routes_before"
if [ "$FASTPATH" = 1 ]; then
    xmit0=$(on box awk '$1 == "reply_xmit" {print $2}' /proc/net/gwmark/stats)
    cap_start rep h "${T}e" "icmp and src host $REM"
    on h ping -c 5 -i 0.2 -W 1 "$REM" >/dev/null
    cap_stop rep
    xmit1=$(on box awk '$1 == "reply_xmit" {print $2}' /proc/net/gwmark/stats)
    check "fast path: reply_xmit grew by 5 or more ($xmit0 -> $xmit1)" test "$((xmit1 - xmit0))" -ge 5
    check "fast path: the replies carry the host's gateway MAC ($R1MAC) as source: $(cap_count rep " $R1MAC > ") of $(cap_count rep .)" \
        test "$(cap_count rep " $R1MAC > ")" -ge 5 -a "$(cap_count rep " $R1MAC > ")" = "$(cap_count rep .)"
    xmit0=$xmit1
    cap_start rep6 h "${T}e" "icmp6 and src host $REM6"
    on h ping -c 5 -i 0.2 -W 1 "$REM6" >/dev/null
    cap_stop rep6
    xmit1=$(on box awk '$1 == "reply_xmit" {print $2}' /proc/net/gwmark/stats)
    check "fast path, IPv6: reply_xmit grew by 5 or more ($xmit0 -> $xmit1)" test "$((xmit1 - xmit0))" -ge 5
    check "fast path, IPv6: the replies carry the host's gateway MAC ($R1MAC): $(cap_count rep6 " $R1MAC > ") of $(cap_count rep6 .)" \
        test "$(cap_count rep6 " $R1MAC > ")" -ge 5 -a "$(cap_count rep6 " $R1MAC > ")" = "$(cap_count rep6 .)"
fi

echo "== router failover mid-transfer"
SIZE=$((3 * 1024 * 1024))
# rem sends SIZE bytes (a fixed pattern), paced over ~8 s, to whoever connects.
on rem python3 - "$SIZE" >"$WORK/srv.out" 2>&1 <<'EOF' &
import socket, sys, time
size = int(sys.argv[1])
data = (bytes(range(251)) * (size // 251 + 1))[:size]  # at once: a slow VM must not wait for it
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5001)); s.listen(1); s.settimeout(120)
c, _ = s.accept()
for off in range(0, size, 32768):
    c.sendall(data[off:off + 32768]); time.sleep(0.08)
c.close()
EOF
srv=$!
sleep 0.5
on h python3 - "$REM" "$WORK/got" >"$WORK/cli.out" 2>&1 <<'EOF' &
import socket, sys, time
end = time.time() + 90  # the server may still be starting (a slow VM)
while True:
    try:
        s = socket.create_connection((sys.argv[1], 5001), timeout=30)
        break
    except OSError as e:
        if time.time() > end:
            raise
        print("connect: %s; again" % e, flush=True)
        time.sleep(0.2)
with open(sys.argv[2], "wb") as f:
    while True:
        b = s.recv(65536)
        if not b: break
        f.write(b)
EOF
cli=$!
ip netns exec "$T-h" ping -i 0.05 -w 300 "$REM" >"$WORK/ping.tun" 2>&1 &
ptun=$!
ip netns exec "$T-h" ping -i 0.05 -w 300 "$NET" >"$WORK/ping.net" 2>&1 &
pnet=$!
ptun6=
if [ "$V6TUN" = 1 ]; then
    ip netns exec "$T-h" ping -i 0.05 -w 300 "$REM6" >"$WORK/ping.tun6" 2>&1 &
    ptun6=$!
fi
ip netns exec "$T-h" ping -i 0.05 -w 300 "$NET6" >"$WORK/ping.net6" 2>&1 &
pnet6=$!
connects0=$(grep -c "connecting to" "$WORK/box.log")
got_some() { [ "$(stat -c %s "$WORK/got" 2>/dev/null || echo 0)" -gt 100000 ]; }
check "the transfer is under way before the failover" wait_for 60 got_some
mkfifo "$WORK/go"
announcer r2 "$WORK/go" "${T}a0" "$GW" "${T}a1" "$UPGW" "${T}a0" "$GW6" "${T}a1" "$UPGW6"
ann=$!
sleep 1  # the announcer is ready (its sockets open) before the takeover starts
log "failover: r2 holds $GW, $UPGW, $GW6 and $UPGW6 (unannounced), r1 dies, r2 announces them"
# As a VRRP backup becoming master: the addresses are there before the announcement, which
# follows the master's death at once. r2 answers for them from now on, but nobody asks yet.
ip -n "$T-r2" -batch - <<EOF
addr add $GW/24 dev ${T}a0
addr add $UPGW/24 dev ${T}a1
addr add $GW6/64 dev ${T}a0 nodad
addr add $UPGW6/64 dev ${T}a1 nodad
EOF
t0=$(date +%s%N)
ip -n "$T-r1" -batch - <<EOF
link set ${T}a0 down
link set ${T}a1 down
EOF
echo go >"$WORK/go"
wait_pid "$ann" 30 || true
takeover=$((($(cat "$WORK/go.sent") - t0) / 1000000))
log "the takeover (r1 down to r2's announcements sent) took ${takeover} ms here"
wait_pid "$cli" 60 || true
wait_pid "$srv" 10 || true
sleep 1
kill -INT $ptun $pnet $ptun6 $pnet6 2>/dev/null || true  # (-w ends them anyway)
for p in $ptun $pnet $ptun6 $pnet6; do wait_pid "$p" 5 || true; done
python3 - "$SIZE" "$WORK/want" <<'EOF'
import sys
size = int(sys.argv[1])
open(sys.argv[2], "wb").write((bytes(range(251)) * (size // 251 + 1))[:size])
EOF
cmp -s "$WORK/want" "$WORK/got" || log "the receiver said: $(tail -n 3 "$WORK/cli.out" | tr '\n' ' ')"
check "the transfer through the tunnel completed byte-exact across the failover ($(stat -c %s "$WORK/got" 2>/dev/null) bytes)" \
    cmp -s "$WORK/want" "$WORK/got"
# lost LOGFILE: pings sent and lost; the window is lost x 50 ms.
window() {
    local tx rx
    tx=$(awk '/packets transmitted/ {print $1}' "$1") rx=$(awk '/packets transmitted/ {print $4}' "$1")
    echo "$tx $((tx - rx)) $(((tx - rx) * 50))"
}
read -r ttx tlost tms <<<"$(window "$WORK/ping.tun")"
read -r ntx nlost nms <<<"$(window "$WORK/ping.net")"
log "loss window, tunnel flow (LAN host -> $REM through the box's tunnel): $tlost of $ttx pings at 50 ms = ${tms} ms"
log "loss window, unselected flow (LAN host -> $NET, bridged): $nlost of $ntx pings at 50 ms = ${nms} ms"
read -r n6tx n6lost n6ms <<<"$(window "$WORK/ping.net6")"
log "loss window, IPv6 unselected flow (-> $NET6): $n6lost of $n6tx pings = ${n6ms} ms"
# Followed within a second of the announcements (DESIGN scenario 7), plus ping's own 50 ms steps
# and what the takeover itself took on this machine.
bound=$((takeover + 1200))
check "the tunnel flow went on after the failover (lost ${tms} ms; r1 down to announced: ${takeover} ms; bound ${bound})" test "$ttx" -ge 40 -a "$tms" -le "$bound"
check "the unselected flow went on after the failover (lost ${nms} ms; r1 down to announced: ${takeover} ms; bound ${bound})" test "$ntx" -ge 40 -a "$nms" -le "$bound"
check "IPv6: the unselected flow went on after the failover (lost ${n6ms} ms; r1 down to announced: ${takeover} ms; bound ${bound})" test "$n6tx" -ge 40 -a "$n6ms" -le "$bound"
if [ "$V6TUN" = 1 ]; then
    read -r t6tx t6lost t6ms <<<"$(window "$WORK/ping.tun6")"
    log "loss window, IPv6 tunnel flow (-> $REM6): $t6lost of $t6tx pings = ${t6ms} ms"
    check "IPv6: the tunnel flow went on after the failover (lost ${t6ms} ms; r1 down to announced: ${takeover} ms; bound ${bound})" test "$t6tx" -ge 40 -a "$t6ms" -le "$bound"
fi
check "the box follows the gateway to r2's MAC" matches "$(ip -n "$T-box" neigh show "$GW")" "lladdr $R2MAC"
check "the box's tunnel did not reconnect (same session)" test "$(grep -c "connecting to" "$WORK/box.log")" = "$connects0"
check "the tunnel is still up" site_up box
check "after the failover: a new tunnel flow reaches $REM" reach h "$REM" 10
[ "$V6TUN" = 1 ] && check "after the failover: a new IPv6 tunnel flow reaches $REM6" reach h "$REM6" 10
check "after the failover: the IPv6 Internet host is reached" reach h "$NET6" 10
if [ "$FASTPATH" = 1 ]; then
    cap_start rep2 h "${T}e" "icmp and src host $REM"
    on h ping -c 5 -i 0.2 -W 1 "$REM" >/dev/null
    cap_stop rep2
    check "fast path after the failover: replies carry the new gateway MAC ($R2MAC): $(cap_count rep2 " $R2MAC > ") of $(cap_count rep2 .)" \
        test "$(cap_count rep2 " $R2MAC > ")" -ge 5 -a "$(cap_count rep2 " $R2MAC > ")" = "$(cap_count rep2 .)"
fi

echo "== stop, kill, restart, cleanup"
wbn_stop box KILL || true
check "SIGKILL: the uplink rule stays (a killed run)" matches "$(ip -n "$T-box" rule show)" "fwmark 0x40000/0x40000"
wbn_start box
require "restart: the tunnel is up again within 30 s" wait_for 30 site_up box
check "restart: the stale uplink rule was replaced (logged)" grep -q "uplink: the rule at priority 1193 of an earlier run was replaced" "$WORK/box.log"
check "restart: exactly one uplink rule" test "$(ip -n "$T-box" rule show | grep -c "fwmark 0x40000/0x40000")" = 1
check "SIGTERM: the agent exits 0" wbn_stop box
check "SIGTERM: the uplink rule is gone" bash -c "! ip -n $T-box rule show | grep -q 'fwmark 0x40000'"
check "SIGTERM: table 1193 is empty" test -z "$(ip -n "$T-box" route show table 1193 2>/dev/null)"
wbn_start box
require "again: the tunnel is up within 30 s" wait_for 30 site_up box
wbn_stop box KILL || true
cleaned=$(on box "$WB" cleanup -c "$WORK/box.yaml" 2>&1) || true
log "wirebridge cleanup: $(tr '\n' ';' <<<"$cleaned")"
check "cleanup removes a killed run's uplink rule" \
    bash -c "grep -q 'removed the uplink rule at priority 1193' <<<\"\$1\" && ! ip -n $T-box rule show | grep -q 'fwmark 0x40000'" _ "$cleaned"
wbn_stop hub || true
wbn_finish
