#!/usr/bin/env bash
# Inline hub (issue 14): the server role placed in the wire like a site's box, one address and no
# route but the connected ones. Its answers to a site out on the Internet leave through the LAN's
# router anyway: bridge.gateway gives the listening socket(s) the uplink mark (a TCP listener's
# accepted connections and SYN-ACKs inherit it), and the mark selects table 1193. Without it, the
# hub could not answer at all (checked: unmarked, the site is unroutable from the box).
#
#   ns h                 ns box: the hub, inline (no routes)               ns r (router)               ns site
#   ${T}e 192.0.2.10 ── ${T}l ┐ bridge ${T}b 192.0.2.2/24 ┌ ${T}w ──── ${T}r0 192.0.2.1/24             wirebridge client
#   gw 192.0.2.1              └ wirebridge server, :1194  ┘             ${T}r1 198.51.100.1/24 ──── ${T}s 198.51.100.20/24
#                               TAP ${T}t 10.200.77.1/24                                            default via .1, TAP (pool)
#
# A ping from the site's TAP to the hub's crosses the tunnel both ways; the LAN host still reaches
# the site through its router, bridged (the hub takes nothing off the wire: no interest rules).
# Env: WB_WIREBRIDGE; WB_INLINE_PROTO=tcp (inline_hub_tcp.sh) runs the tunnel over TCP.
PROTO=${WB_INLINE_PROTO:-udp}
TEST=inline_hub$([ "$PROTO" = tcp ] && echo _tcp)
. "$(dirname "$0")/lib.sh"

SITE=198.51.100.20 GW=192.0.2.1 HUBTAP=10.200.77.1

echo "== namespaces"
log "tag $T, scratch $WORK, $("$WB" --version), tunnel over $PROTO"
for n in h box r site; do
    wbn_ns "$n"
    # The effective rp_filter is the larger of conf.all and the device's (the agent sets the bridge's).
    on "$n" sysctl -q -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 >/dev/null
done
ip link add "${T}e" netns "$T-h" type veth peer name "${T}l" netns "$T-box"
ip link add "${T}w" netns "$T-box" type veth peer name "${T}r0" netns "$T-r"
ip link add "${T}r1" netns "$T-r" type veth peer name "${T}s" netns "$T-site"
ip -n "$T-h" addr add 192.0.2.10/24 dev "${T}e"
ip -n "$T-r" addr add "$GW/24" dev "${T}r0"
ip -n "$T-r" addr add 198.51.100.1/24 dev "${T}r1"
ip -n "$T-site" addr add "$SITE/24" dev "${T}s"
for pair in "h ${T}e" "r ${T}r0" "r ${T}r1" "site ${T}s"; do set -- $pair; ip -n "$T-$1" link set "$2" up; done
ip -n "$T-h" route add default via "$GW"
ip -n "$T-site" route add default via 198.51.100.1
on r sysctl -q -w net.ipv4.ip_forward=1

wbn_pki site
cat >"$WORK/box.yaml" <<EOF
$(wbn_inline_bridge hub)
tunnel:
  role: server
  proto: $PROTO
  local: 192.0.2.2:$PORT
  device: ${T}t
  address: $HUBTAP/24
  pool: 10.200.77.0/24
  join_bridge: false
$(wbn_tunnel_creds hub)
control: {socket: $WORK/box.sock}
log: {level: debug}
EOF
cat >"$WORK/site.yaml" <<EOF
site: site
tunnel:
  role: client
  proto: $PROTO
  remote: [192.0.2.2:$PORT]
  device: ${T}t
$(wbn_tunnel_creds site)
control: {socket: $WORK/site.sock}
log: {level: info}
EOF

echo "== the hub inline, no route"
require "wirebridge check accepts a server with bridge.gateway" "$WB" check -c "$WORK/box.yaml"
wbn_start box
require "the hub's uplink rule is in place within 20 s" \
    wait_for 20 bash -c "ip -n $T-box rule show | grep -q '^1193:.*fwmark 0x40000/0x40000 lookup 1193'"
main_routes=$(ip -n "$T-box" -4 route show table main)
log "the hub's main table: $(tr '\n' ';' <<<"$main_routes")"
check "the hub's main table holds only connected routes" \
    bash -c "[ -n \"\$1\" ] && ! grep -v 'proto kernel scope link' <<<\"\$1\"" _ "$main_routes"
check "table 1193: default via $GW dev ${T}b onlink" \
    matches "$(ip -n "$T-box" route show table 1193)" "^default via $GW dev ${T}b .*onlink"
check "unmarked, the site is unroutable from the hub (what a hub without bridge.gateway faces)" \
    bash -c "! ip -n $T-box route get $SITE >/dev/null 2>&1"
if [ "$PROTO" = udp ]; then
    check "the hub's UDP socket carries the mark (ss)" matches "$(on box ss -uane)" "192\.0\.2\.2:$PORT .*fwmark:0x40000"
else
    check "the hub's TCP listener carries the mark (ss)" matches "$(on box ss -tlne)" "192\.0\.2\.2:$PORT .*fwmark:0x40000"
fi
check "the hub's log says how its answers go" grep -q "uplink: the tunnel's socket carries mark 0x40000" "$WORK/box.log"
wbn_start site
site_connected() { [ "$(status box --json | jq '[.peers[] | select(.cipher != "")] | length')" = 1 ]; }
require "the site's tunnel to the inline hub is up within 30 s (the hub's answers reached it)" wait_for 30 site_connected
check "the site lists its hub with a cipher" site_up site
if [ "$PROTO" = tcp ]; then
    check "the accepted connection carries the listener's mark (ss)" \
        matches "$(on box ss -Htne state established)" "192\.0\.2\.2:$PORT +$SITE:[0-9]+ .*fwmark:0x40000"
fi
require "data both ways: the site pings the hub's TAP ($HUBTAP) through the tunnel" reach site "$HUBTAP" 20
check "the LAN host still reaches the site through its router (bridged)" reach h "$SITE" 10

echo "== stop"
check "SIGTERM: the site's agent exits 0" wbn_stop site
check "SIGTERM: the hub exits 0" wbn_stop box
check "SIGTERM: the hub's uplink rule is gone" bash -c "! ip -n $T-box rule show | grep -q 'fwmark 0x40000'"
check "SIGTERM: table 1193 is empty" test -z "$(ip -n "$T-box" route show table 1193 2>/dev/null)"
check "the bridge and its ports stay" test "$(ip -n "$T-box" -o link show master "${T}b" | wc -l)" = 2
wbn_finish
