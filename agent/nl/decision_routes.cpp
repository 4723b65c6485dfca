// DecisionRoutes: policy rules, the agent's table and the TAP's group, installed and undone.
#include "nl/decision_routes.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace wirebridge::nl {

namespace {

constexpr uint32_t kMainTable = 254;  // RT_TABLE_MAIN

int slot(int family) { return family == AF_INET ? 0 : 1; }

}  // namespace

std::vector<PolicyRule> decision_rules(const DecisionRoutesPlan& p, int family) {
    PolicyRule tunnel{.family = family, .priority = p.priority, .fwmark = p.marks.tunnel, .fwmask = p.marks.mask,
                      .action = PolicyRule::Action::lookup, .table = p.table};
    PolicyRule bypass{.family = family, .priority = p.priority + 1, .fwmark = p.marks.bypass, .fwmask = p.marks.mask,
                      .action = PolicyRule::Action::lookup, .table = kMainTable,
                      .suppress_ifgroup = static_cast<int64_t>(p.group)};
    PolicyRule refuse{.family = family, .priority = p.priority + 2, .fwmark = p.marks.bypass, .fwmask = p.marks.mask,
                      .action = PolicyRule::Action::unreachable};
    return {tunnel, bypass, refuse};
}

bool is_decision_rule(const DecisionRoutesPlan& p, const PolicyRule& r) {
    if (r.fwmask != p.marks.mask || r.priority < p.priority || r.priority > p.priority + 2) return false;
    return r.fwmark == p.marks.tunnel || r.fwmark == p.marks.bypass;
}

DecisionRoutes::~DecisionRoutes() {
    if (installed()) (void)remove();
}

Result<void> DecisionRoutes::apply(const DecisionRoutesPlan& plan) {
    if (installed_ && *installed_ == plan) return {};
    if (plan.device.empty()) return fail("decision routes: no tunnel device");
    auto rtnl = Rtnetlink::open();
    if (!rtnl) return fail(rtnl.error());
    if (installed_)
        if (auto r = uninstall(*rtnl); !r) return r;
    replaced_stale_ = false;
    // Set first: a failure half-way is undone by uninstall(), which reads it.
    installed_ = plan;
    if (auto r = install(*rtnl, plan); !r) {
        (void)uninstall(*rtnl);
        return r;
    }
    return {};
}

Result<void> DecisionRoutes::install(Rtnetlink& rtnl, const DecisionRoutesPlan& plan) {
    families_.clear();
    rules_.clear();
    auto li = rtnl.link(plan.device);
    if (!li) return fail(li.error());
    // The bypass rule finds the device by its group, so every route through the TAP (its own
    // prefix, pushed or user routes) is passed over for bypass flows, whenever it appears.
    old_group_ = li->group;
    if (li->group != plan.group) {
        if (auto r = rtnl.set_group(plan.device, plan.group); !r) return r;
        group_set_ = true;
    }
    for (int family : {AF_INET, AF_INET6}) {
        if (auto r = rtnl.replace_default_route(family, plan.table, plan.routed_via()); !r) {
            // A kernel without IPv6 (or IPv6 off on the device): steer IPv4 only.
            if (family == AF_INET6 && (r.error().code == EAFNOSUPPORT || r.error().code == EACCES)) continue;
            return r;
        }
        route_added_[slot(family)] = true;
        families_.push_back(family);
    }
    for (int family : families_) {
        auto stale = rtnl.delete_rules(family, [&plan](const PolicyRule& r) { return is_decision_rule(plan, r); });
        if (!stale) return fail(stale.error());
        if (*stale > 0) replaced_stale_ = true;
        for (const PolicyRule& r : decision_rules(plan, family)) {
            if (auto a = rtnl.add_rule(r); !a) return a;
            rules_.push_back(r);
        }
    }
    return {};
}

Result<void> DecisionRoutes::uninstall(Rtnetlink& rtnl) {
    Result<void> result;
    auto keep_first = [&result](Result<void> r) {
        if (!r && !is_gone(r.error()) && result) result = r;
    };
    for (const PolicyRule& r : rules_) keep_first(rtnl.delete_rule(r));
    rules_.clear();
    const std::string device = installed_ ? installed_->device : std::string();
    const std::string via = installed_ ? installed_->routed_via() : std::string();
    const uint32_t table = installed_ ? installed_->table : 0;
    for (int family : {AF_INET, AF_INET6}) {
        if (!route_added_[slot(family)]) continue;
        route_added_[slot(family)] = false;
        if (!via.empty()) keep_first(rtnl.delete_default_route(family, table, via));
    }
    if (group_set_ && !device.empty()) keep_first(rtnl.set_group(device, old_group_));
    group_set_ = false;
    families_.clear();
    installed_.reset();
    return result;
}

Result<unsigned> DecisionRoutes::restore_routes() {
    if (!installed_) return 0u;
    auto rtnl = Rtnetlink::open();
    if (!rtnl) return fail(rtnl.error());
    auto li = rtnl->link(installed_->routed_via());
    if (!li) {
        if (is_gone(li.error())) return 0u;  // the TAP is gone: the agent stops anyway
        return fail(li.error());
    }
    if (!li->up) return 0u;  // a down device takes no routes; its coming up brings us back
    unsigned added = 0;
    for (int family : families_) {
        auto routes = rtnl->routes(family, installed_->table);
        if (!routes) return fail(routes.error());
        const bool there = std::any_of(routes->begin(), routes->end(),
                                       [&](const RouteInfo& r) { return r.dst_len == 0 && r.oif == li->index; });
        if (there) continue;
        if (auto r = rtnl->replace_default_route(family, installed_->table, installed_->routed_via()); !r)
            return fail(r.error());
        route_added_[slot(family)] = true;
        ++added;
    }
    return added;
}

Result<void> DecisionRoutes::remove() {
    if (!installed_ && rules_.empty()) return {};
    auto rtnl = Rtnetlink::open();
    if (!rtnl) return fail(rtnl.error());
    return uninstall(*rtnl);
}

Result<unsigned> remove_decision_rules(const DecisionRoutesPlan& plan) {
    auto rtnl = Rtnetlink::open();
    if (!rtnl) return fail(rtnl.error());
    return rtnl->delete_rules([&plan](const PolicyRule& r) { return is_decision_rule(plan, r); });
}

}  // namespace wirebridge::nl
