// UplinkRoute: how the box's own tunnel reaches its hub with no route in the main table: a
// private table holding only `default via GATEWAY dev BRIDGE onlink`, and one policy rule that
// sends packets carrying the agent's socket mark there (docs/INLINE.md, "The box's own tunnel").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "nl/rtnetlink.hpp"

namespace wirebridge::nl {

//   priority PRIORITY  fwmark MARK/MARK lookup TABLE      TABLE: default via GATEWAY dev DEVICE onlink src SOURCE
// for the gateway's family only (the box has one address).
struct UplinkPlan {
    std::string device;      // the bridge (the box's one address is on it)
    IfAddress gateway;       // the LAN's router address (prefix_len ignored)
    IfAddress source;        // the box's address (family 0: the kernel chooses)
    uint32_t table = 1193;
    uint32_t priority = 1193;
    uint32_t mark = 0x40000; // the agent's tunnel socket carries it (SO_MARK); the rule matches MARK/MARK

    bool operator==(const UplinkPlan&) const = default;
};

PolicyRule uplink_rule(const UplinkPlan& plan);
// A rule a run with this plan's priority and mark would have written (whatever table it named).
bool is_uplink_rule(const UplinkPlan& plan, const PolicyRule& r);
// Deletes every such rule (both families); how many. For `wirebridge cleanup`.
Result<unsigned> remove_uplink_rules(const UplinkPlan& plan);

class UplinkRoute {
public:
    UplinkRoute() = default;
    UplinkRoute(const UplinkRoute&) = delete;
    UplinkRoute& operator=(const UplinkRoute&) = delete;
    ~UplinkRoute();

    // Installs the route, then the rule (a killed run's rule is replaced). A failure half-way
    // undoes this call. The same plan again only puts the route back if it went missing (the
    // bridge went down and up): call it before each connection attempt.
    Result<void> apply(const UplinkPlan& plan);
    Result<void> remove();
    bool installed() const { return installed_.has_value(); }
    bool replaced_stale() const { return replaced_stale_; }

private:
    std::optional<UplinkPlan> installed_;
    bool rule_added_ = false;
    bool route_added_ = false;
    bool replaced_stale_ = false;
};

}  // namespace wirebridge::nl
