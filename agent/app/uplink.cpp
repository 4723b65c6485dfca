// The uplink plan and the tunnel socket's mark from the config (bridge.gateway).
#include "app/uplink.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace wirebridge::app {

std::uint32_t uplink_mark(const config::Config& cfg) {
    if (!cfg.bridge || !cfg.bridge->gateway) return 0;
    return cfg.bridge->uplink_mark;
}

Result<void> mark_uplink_socket(int fd, const config::Config& cfg) {
    const std::uint32_t mark = uplink_mark(cfg);
    if (mark == 0) return {};
    if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0)
        return fail(std::string("SO_MARK on the tunnel socket (bridge.gateway): ") + std::strerror(errno));
    return {};
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
