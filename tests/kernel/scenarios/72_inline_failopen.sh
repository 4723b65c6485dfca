#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 72_inline_failopen.sh - DESIGN scenario 7, the wire never breaks, with xt_GWMARK loaded and the
# fast path on (agent/app/wirebridge of the --build dir): interception of selected traffic off
# the wire, bypass and unselected frames reaching the router untouched (same MACs, same TTL), and
# a ping every 50 ms from the LAN host to the "Internet" side across SIGKILL, restart, SIGTERM
# and a failed start of the agent (its loss is in the check's name); failure closed.
# Checks: tests/netns/inline_intercept.sh.
# wb-timeout: 900
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../inline.sh"
inline_netns inline_intercept.sh WB_INLINE_FASTPATH=1
