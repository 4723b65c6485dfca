#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 11_routeless_ipv6.sh - routeless reply and LAN-host MAC change over IPv6,
# rules through ip6tables-legacy. Topology: appliance.sh.
. "$(dirname "$0")/../lib.sh"
FAM=6 IPT=ip6tables-legacy
. "$(dirname "$0")/../routeless.sh"
