#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 10_routeless_ipv4.sh - routeless reply and LAN-host MAC change over IPv4,
# rules through iptables-nft (Debian's default). Topology: appliance.sh.
. "$(dirname "$0")/../lib.sh"
FAM=4 IPT=iptables-nft
. "$(dirname "$0")/../routeless.sh"
