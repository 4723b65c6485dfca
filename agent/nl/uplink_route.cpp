// UplinkRoute: the agent's private uplink table and its mark rule, installed and undone.
#include "nl/uplink_route.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace wirebridge::nl {

PolicyRule uplink_rule(const UplinkPlan& p) {
    return PolicyRule{.family = p.gateway.family, .priority = p.priority, .fwmark = p.mark, .fwmask = p.mark,
                      .action = PolicyRule::Action::lookup, .table = p.table};
}

bool is_uplink_rule(const UplinkPlan& p, const PolicyRule& r) {
    return r.priority == p.priority && r.fwmark == p.mark && r.fwmask == p.mark && r.action == PolicyRule::Action::lookup;
}

Result<unsigned> remove_uplink_rules(const UplinkPlan& plan) {
    auto rtnl = Rtnetlink::open();
    if (!rtnl) return fail(rtnl.error());
    return rtnl->delete_rules([&plan](const PolicyRule& r) { return is_uplink_rule(plan, r); });
}

UplinkRoute::~UplinkRoute() {
    if (installed()) (void)remove();
}

Result<void> UplinkRoute::apply(const UplinkPlan& plan) {
    if (plan.device.empty() || (plan.gateway.family != AF_INET && plan.gateway.family != AF_INET6))
        return fail("uplink: no bridge or no gateway");
    auto rtnl = Rtnetlink::open();
    if (!rtnl) return fail(rtnl.error());
    if (installed_ && *installed_ == plan) {
        // The route goes with the bridge going down; the rule stays. Replace is idempotent.
        return rtnl->replace_gateway_route(plan.table, plan.device, plan.gateway, plan.source);
    }
    if (installed_)
        if (auto r = remove(); !r) return r;
    replaced_stale_ = false;
    installed_ = plan;
    auto undo = [this] { (void)remove(); };
    if (auto r = rtnl->replace_gateway_route(plan.table, plan.device, plan.gateway, plan.source); !r) {
        undo();
        return r;
    }
    route_added_ = true;
    auto stale = rtnl->delete_rules(plan.gateway.family, [&plan](const PolicyRule& r) { return is_uplink_rule(plan, r); });
    if (!stale) {
        undo();
        return fail(stale.error());
    }
    replaced_stale_ = *stale > 0;
    if (auto r = rtnl->add_rule(uplink_rule(plan)); !r) {
        undo();
        return r;
    }
    rule_added_ = true;
    return {};
}

Result<void> UplinkRoute::remove() {
    if (!installed_) return {};
    const UplinkPlan plan = *installed_;
    installed_.reset();
    auto rtnl = Rtnetlink::open();
    if (!rtnl) return fail(rtnl.error());
    Result<void> result;
    if (rule_added_) {
        rule_added_ = false;
        if (auto r = rtnl->delete_rule(uplink_rule(plan)); !r && !is_gone(r.error())) result = r;
    }
    if (route_added_) {
        route_added_ = false;
        if (auto r = rtnl->delete_gateway_route(plan.gateway.family, plan.table, plan.device); !r && !is_gone(r.error()) && result)
            result = r;
    }
    return result;
}

}  // namespace wirebridge::nl
