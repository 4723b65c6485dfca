// DecisionRoutes: the policy rules and the route that make a connection's decision bits
// choose its path (tunnel flows to the TAP, bypass flows never to it), over rtnetlink.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "nl/iptables_rules.hpp"
#include "nl/rtnetlink.hpp"

namespace wirebridge::nl {

// What the agent puts in the routing policy (docs/ROUTELESS.md, "Steering by the decision"):
//   priority P    fwmark tunnel/mask lookup TABLE          TABLE: default dev DEVICE
//   priority P+1  fwmark bypass/mask lookup main suppress_ifgroup GROUP
//   priority P+2  fwmark bypass/mask unreachable
// with DEVICE put in interface group GROUP, for IPv4 and IPv6.
struct DecisionRoutesPlan {
    std::string device;         // the tunnel's TAP
    // Where table TABLE's default route points; empty: device. With the TAP a bridge port
    // (join_bridge) it is the bridge: a route out of a port never resolves a neighbour (the
    // answers come up on the bridge), while the bridge's own forwarding sends the frames to the TAP.
    std::string route_device;
    uint32_t table = 1194;
    uint32_t priority = 1194;
    uint32_t group = 1194;      // the TAP's interface group while the agent runs
    DecisionMarks marks;

    const std::string& routed_via() const { return route_device.empty() ? device : route_device; }

    bool operator==(const DecisionRoutesPlan& o) const {
        return device == o.device && route_device == o.route_device && table == o.table && priority == o.priority && group == o.group &&
               marks.mask == o.marks.mask && marks.tunnel == o.marks.tunnel && marks.bypass == o.marks.bypass;
    }
};

// The three rules of one family, in priority order.
std::vector<PolicyRule> decision_rules(const DecisionRoutesPlan& plan, int family);
// Whether `r` is one a run with this plan's priorities and marks would have written (also
// when another table or group was in force then): such rules are replaced at start-up.
bool is_decision_rule(const DecisionRoutesPlan& plan, const PolicyRule& r);

// Deletes every policy rule a run with this plan's priorities and marks would have written
// (is_decision_rule), both families; returns how many. For `wirebridge cleanup`.
Result<unsigned> remove_decision_rules(const DecisionRoutesPlan& plan);

// Owns what it installed: apply() installs (replacing what a killed run left), remove() takes
// exactly that out and gives the device its interface group back.
class DecisionRoutes {
public:
    DecisionRoutes() = default;
    DecisionRoutes(const DecisionRoutes&) = delete;
    DecisionRoutes& operator=(const DecisionRoutes&) = delete;
    ~DecisionRoutes();

    // A failure half-way undoes what this call did. A plan equal to the installed one is a
    // no-op; another plan replaces the installed one.
    Result<void> apply(const DecisionRoutesPlan& plan);
    Result<void> remove();
    // A device that goes down loses every route through it, table TABLE's default route too, and
    // nothing puts that back when it comes up again. Re-adds the route of each installed family
    // that is missing while the device is up; returns how many it re-added (0: all there, the
    // device is down or gone, or nothing is installed). Call it when the device changed.
    Result<unsigned> restore_routes();
    bool installed() const { return installed_.has_value(); }
    // Set by apply(): rules of an earlier run (not cleaned up) were found and replaced.
    bool replaced_stale() const { return replaced_stale_; }
    // Families the rules went in for (IPv6 is left out, with a note, on a kernel without it).
    const std::vector<int>& families() const { return families_; }

private:
    Result<void> install(Rtnetlink& rtnl, const DecisionRoutesPlan& plan);
    Result<void> uninstall(Rtnetlink& rtnl);

    std::optional<DecisionRoutesPlan> installed_;
    std::vector<int> families_;
    std::vector<PolicyRule> rules_;  // what this object added
    bool route_added_[2] = {false, false};
    uint32_t old_group_ = 0;
    bool group_set_ = false;
    bool replaced_stale_ = false;
};

}  // namespace wirebridge::nl
