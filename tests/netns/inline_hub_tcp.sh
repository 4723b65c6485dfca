#!/usr/bin/env bash
# inline_hub with the tunnel over TCP: the inline hub's marked listener accepts the site's
# connection and its SYN-ACK and replies leave through the LAN's router (no route in main).
WB_INLINE_PROTO=tcp exec "$(dirname "$0")/inline_hub.sh"
