#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 70_inline_uplink.sh - DESIGN scenario 7 with the real agent (agent/app/wirebridge of the
# --build dir) and xt_GWMARK, join_bridge false: the LAN host (gateway = the routers' shared
# address, untouched) reaches the hub's remote LAN through the box, which has one address and no
# route; the box's own tunnel reaches the hub through bridge.gateway; replies come back through
# the fast path (reply_xmit grows) carrying the host's gateway MAC; the active router dies in the
# middle of a byte-exact transfer and the loss windows of the tunnel flow and of an unselected
# flow are measured. The topology and every check: tests/netns/inline_uplink.sh.
# wb-timeout: 900
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../inline.sh"
inline_netns inline_uplink.sh WB_INLINE_FASTPATH=1 WB_INLINE_JOIN=false
