#!/usr/bin/env bash
# hub_vlan.sh with the hub's data path on workers (tunnel.workers: 2, issue #7): the same VLAN
# membership, isolation, drop counters and SIGHUP move, now decided by two worker threads, each
# with its own TAP queue and socket, and one switch.
HUB_WORKERS=2 TEST=hub_vlan_workers exec "$(dirname "$0")/hub_vlan.sh" "$@"
