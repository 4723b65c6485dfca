#!/usr/bin/env bash
# inline_uplink with the tunnel over TCP (proto tcp): the box's marked socket connects to the hub
# through the LAN's router with no route in main, and the connection survives the failover.
WB_INLINE_PROTO=tcp exec "$(dirname "$0")/inline_uplink.sh"
