// BridgeSetup: create or adopt the bridge, enslave ports, set the one address; undo on exit.
#include "nl/bridge_setup.hpp"

#include <cerrno>

namespace wirebridge::nl {

Result<void> BridgeSetup::apply(const BridgePlan& plan) {
    auto r = apply_steps(plan);
    if (!r) {
        (void)undo();
        return r;
    }
    return {};
}

Result<void> BridgeSetup::bring_up(const LinkInfo& li) {
    if (li.up) return {};
    if (auto r = rtnl_.set_up(li.name, true); !r) return r;
    done_.push_back({Step::SetUp, li.name, {}});
    return {};
}

Result<void> BridgeSetup::apply_steps(const BridgePlan& plan) {
    auto bridge = rtnl_.link(plan.name);
    if (!bridge) {
        if (bridge.error().code != ENODEV) return fail(bridge.error());
        if (auto r = rtnl_.create_bridge(plan.name); !r) return r;
        done_.push_back({Step::CreatedBridge, plan.name, {}});
        bridge = rtnl_.link(plan.name);
        if (!bridge) return fail(bridge.error());
    } else if (bridge->kind != "bridge") {
        return fail("device " + plan.name + " exists and is not a bridge (it is " +
                    (bridge->kind.empty() ? std::string("a plain device") : bridge->kind) + ")");
    }

    for (const std::string& port : plan.ports) {
        auto li = rtnl_.link(port);
        if (!li) return fail("bridge port " + port + ": " + li.error().message, li.error().code);
        if (li->index == bridge->index) return fail("bridge " + plan.name + " cannot be its own port");
        if (li->master != 0 && li->master != bridge->index)
            return fail("device " + port + " is already a port of another bridge or bond");
        if (li->master == 0) {
            if (auto r = rtnl_.set_master(port, plan.name); !r) return r;
            done_.push_back({Step::Enslaved, port, {}});
        }
        if (auto r = bring_up(*li); !r) return r;
    }

    if (auto r = bring_up(*bridge); !r) return r;

    if (plan.address) {
        auto have = rtnl_.addresses(plan.name);
        if (!have) return fail(have.error());
        bool present = false;
        for (const IfAddress& a : *have) present = present || a == *plan.address;
        if (!present) {
            if (auto r = rtnl_.add_address(plan.name, *plan.address); !r) return r;
            done_.push_back({Step::AddedAddress, plan.name, *plan.address});
        }
    }
    return {};
}

Result<void> BridgeSetup::undo() {
    Result<void> first;
    auto keep = [&first](Result<void> r) {
        if (!r && first) first = std::move(r);
    };
    for (auto it = done_.rbegin(); it != done_.rend(); ++it) {
        switch (it->step) {
        case Step::CreatedBridge:
            keep(rtnl_.delete_link(it->device));
            break;
        case Step::SetUp:
            keep(rtnl_.set_up(it->device, false));
            break;
        case Step::Enslaved:
            keep(rtnl_.set_master(it->device, ""));
            break;
        case Step::AddedAddress:
            keep(rtnl_.delete_address(it->device, it->address));
            break;
        }
    }
    done_.clear();
    return first;
}

std::vector<std::string> BridgeSetup::changes() const {
    std::vector<std::string> out;
    for (const Change& c : done_) {
        switch (c.step) {
        case Step::CreatedBridge:
            out.push_back("created bridge " + c.device);
            break;
        case Step::SetUp:
            out.push_back("set " + c.device + " up");
            break;
        case Step::Enslaved:
            out.push_back("added " + c.device + " to the bridge");
            break;
        case Step::AddedAddress:
            out.push_back("added address " + c.address.to_string() + " to " + c.device);
            break;
        }
    }
    return out;
}

}  // namespace wirebridge::nl
