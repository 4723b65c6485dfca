#!/usr/bin/env bash
# Per-CN MAC allowlists (tunnel.clients macs, issue 16): two real sites, each allowed only its
# LAN host's MAC and its own bridge's (read once they run, then given to the hub by SIGHUP; a
# site's TAP, a bridge port only, says nothing of its own). s1
# keeps working; from behind s2, h2 sends from 50 made-up MACs and then takes h1's MAC: every such
# frame is dropped by the hub and counted mac_not_allowed on s2 (status, /metrics text), none on
# s1; h1's MAC stays on s1, h1 keeps reaching hH, and h2 is back once it has its own MAC again.
#
#   hH ── hub (client_to_client) ══ s1 ── h1   (s1 allowed: h1, s1's bridge)
#                                ══ s2 ── h2   (s2 allowed: h2, s2's bridge; h2 spoofs)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

wbn_hub_and_sites 2 true
wbn_start_hub_and_sites
require "h1 reaches hH" reach h1 "${ip_of[hH]}" 20
require "h2 reaches hH" reach h2 "${ip_of[hH]}" 20
mac_h1=$(mac_of h1 "${T}e") mac_h2=$(mac_of h2 "${T}e")
mac_b1=$(mac_of s1 "${T}b") mac_b2=$(mac_of s2 "${T}b")
# A TAP that is only a bridge port has no IPv6 link-local address, so the site box sends nothing
# of its own from the TAP's MAC (router solicitations, MLD), which the lists below would refuse.
for s in s1 s2; do
	check "$s: its TAP has no IPv6 address" test -z "$(ip -n "$T-$s" -6 -o addr show dev "${T}t")"
done
sed -i "s/^  client_to_client: true$/  client_to_client: true\n  clients:\n    - {name: s1, macs: ['$mac_h1', '$mac_b1']}\n    - {name: s2, macs: ['$mac_h2', '$mac_b2']}/" "$WORK/hub.yaml"
check "wirebridge check accepts the allowlists" "$WB" check -c "$WORK/hub.yaml"
kill -HUP "${PID[hub]}"
wait_for 5 grep -q "reloaded: tunnel.clients" "$WORK/hub.log" || true
check "reload logged with the lists" grep -q "reloaded: tunnel.clients \[\] -> \[s1 macs $mac_h1,$mac_b1; s2 macs $mac_h2,$mac_b2\]" "$WORK/hub.log"
# allowlisted SITE: mac_not_allowed on SITE's line of the hub's status.
allowlisted() { status hub --json | jq --arg n "$1" '[.peers[] | select(.name == $n) | .drops.mac_not_allowed // 0] | add // 0'; }
at_least() { [ "$(allowlisted "$1")" -ge "$2" ]; }
learned_on() { hub_macs_of "$1" | grep -qx "$2"; }
learned_made_up() { hub_macs_of "$1" | grep -q '^02:77:aa'; }

check "h1 reaches hH with its allowed MAC" reach h1 "${ip_of[hH]}" 10
check "h2 reaches hH with its allowed MAC" reach h2 "${ip_of[hH]}" 10
check "h1 reaches h2 (client_to_client)" reach h1 "${ip_of[h2]}" 10

log "h2 sends 50 frames from made-up MACs"
eth_send h2 1 50 >/dev/null
wait_for 5 at_least s2 50 || true
n2=$(allowlisted s2)
check "s2: the 50 made-up MACs counted mac_not_allowed ($n2)" test "$n2" -ge 50
check "the hub learned none of them" eval '! learned_made_up "$WAN.12"'

log "h2 takes h1's MAC ($mac_h1) and pings hH"
on h2 ip link set "${T}e" address "$mac_h1"
check "h2 with h1's MAC does not reach hH" unreachable h2 "${ip_of[hH]}"
n2b=$(allowlisted s2)
check "s2: the spoofed frames counted too ($n2 -> $n2b)" test "$n2b" -gt "$n2"
check "h1's MAC is still learned on s1" learned_on "$WAN.11" "$mac_h1"
check "h1 still reaches hH" reach h1 "${ip_of[hH]}" 10
check "s1: nothing refused ($(allowlisted s1))" test "$(allowlisted s1)" = 0
check "the total is in status" test "$(status hub --json | jq '.drops.mac_not_allowed // 0')" -ge "$n2b"
check "and in the Prometheus text" matches "$(status hub --prometheus)" 'mac_not_allowed'

on h2 ip link set "${T}e" address "$mac_h2"
check "h2 with its own MAC reaches hH again" reach h2 "${ip_of[hH]}" 10
status hub
wbn_stop_all
wbn_finish
