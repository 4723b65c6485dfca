#!/usr/bin/env bash
# inline_uplink with join_bridge true: the TAP is a port of the box's bridge, tunnel flows are
# routed to the remote LAN through the bridge, the remote LAN reaches the LAN host on-link.
WB_INLINE_JOIN=true exec "$(dirname "$0")/inline_uplink.sh"
