// The box's own tunnel without a route (bridge.gateway): the uplink plan from the config and the
// mark the tunnel socket carries (docs/INLINE.md, "The box's own tunnel").
#pragma once

#include <cstdint>

#include "common/result.hpp"
#include "config/config.hpp"
#include "nl/uplink_route.hpp"

namespace wirebridge::app {

// The SO_MARK of the tunnel socket(s), a client's or a hub's (its answers to the sites):
// bridge.uplink_mark with a bridge.gateway, else 0.
std::uint32_t uplink_mark(const config::Config& cfg);
// Gives fd the uplink mark when the config has one (a TCP listener passes it on to the
// connections it accepts, and to its SYN-ACKs); nothing otherwise.
Result<void> mark_uplink_socket(int fd, const config::Config& cfg);
// The uplink plan; only for a config with bridge.gateway.
Result<nl::UplinkPlan> uplink_plan(const config::Config& cfg);

}  // namespace wirebridge::app
