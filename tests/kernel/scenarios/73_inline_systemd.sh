#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 73_inline_systemd.sh - DESIGN scenario 7's fail-open under the real service manager: systemd as
# PID 1 of a PID namespace runs the packaged deploy/systemd/wirebridge@.service (xt_GWMARK loaded,
# the fast path on); a 50 ms ping across the wire survives systemctl start, a SIGKILL (ExecStopPost
# cleans up, Restart= brings it back), restart, a package upgrade (postinst's try-restart), stop
# and a failed start that recovers. The checks: tests/kernel/inline_systemd.sh.
# wb-timeout: 900
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../inline.sh"
inline_netns ../kernel/inline_systemd.sh WB_INLINE_FASTPATH=1
