#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 71_inline_join.sh - scenario 70 with join_bridge true: the TAP is a port of the box's bridge
# (the remote site's LAN and this one are one segment), tunnel flows are routed to the remote
# host through the bridge, its replies come in on the TAP port and leave through the fast path
# with the host's gateway MAC; the same failover mid-transfer. Agent: agent/app/wirebridge of
# the --build dir. Checks: tests/netns/inline_uplink.sh.
# wb-timeout: 900
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../inline.sh"
inline_netns inline_uplink.sh WB_INLINE_FASTPATH=1 WB_INLINE_JOIN=true
