// The uplink plan from the config.
#include "app/uplink.hpp"

namespace wirebridge::app {

std::uint32_t uplink_mark(const config::Config& cfg) {
    if (!cfg.bridge || !cfg.bridge->gateway || cfg.tunnel.role != config::Role::client) return 0;
    return cfg.bridge->uplink_mark;
}

Result<nl::UplinkPlan> uplink_plan(const config::Config& cfg) {
    if (!cfg.bridge || !cfg.bridge->gateway || !cfg.bridge->address) return fail("uplink: no bridge.gateway or address");
    const config::BridgeConfig& b = *cfg.bridge;
    nl::UplinkPlan p;
    p.device = b.name;
    auto gw = nl::IfAddress::parse(b.gateway->to_string() + (b.gateway->family == AF_INET ? "/32" : "/128"));
    if (!gw) return fail("bridge.gateway: " + gw.error().message);
    p.gateway = *gw;
    auto src = nl::IfAddress::parse(b.address->to_string());
    if (!src) return fail("bridge.address: " + src.error().message);
    p.source = *src;
    p.table = b.uplink_table;
    p.priority = b.uplink_table;
    p.mark = b.uplink_mark;
    return p;
}

}  // namespace wirebridge::app
