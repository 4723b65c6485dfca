// The box's own tunnel without a route (bridge.gateway): the uplink plan from the config and the
// mark the tunnel socket carries (docs/INLINE.md, "The box's own tunnel").
#pragma once

#include <cstdint>

#include "common/result.hpp"
#include "config/config.hpp"
#include "nl/uplink_route.hpp"

namespace wirebridge::app {

// The SO_MARK of the client's tunnel socket: bridge.uplink_mark with a bridge.gateway, else 0.
std::uint32_t uplink_mark(const config::Config& cfg);
// The uplink plan; only for a config with bridge.gateway.
Result<nl::UplinkPlan> uplink_plan(const config::Config& cfg);

}  // namespace wirebridge::app
