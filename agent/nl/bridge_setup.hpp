// BridgeSetup: puts the appliance's bridge in place and later undoes exactly what it changed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "nl/rtnetlink.hpp"

namespace wirebridge::nl {

// What the appliance wants: a bridge, its ports (the LAN and WAN ports, and the tunnel's TAP
// when it joins the bridge) and at most one address on the bridge.
struct BridgePlan {
    std::string name;
    std::vector<std::string> ports;
    std::optional<IfAddress> address;
};

// apply() makes the system match the plan, adopting what already matches (an existing bridge,
// a port already enslaved to it, an address already present) and recording every change it
// makes; undo() reverts those changes in reverse order and nothing else, so what existed
// before is left as it was. The destructor does not undo: stopping is an explicit decision.
class BridgeSetup {
public:
    explicit BridgeSetup(Rtnetlink& rtnl) : rtnl_(rtnl) {}

    // On failure, the changes made so far are undone before the error is returned.
    Result<void> apply(const BridgePlan& plan);
    // Best effort: every step is tried; the first error (if any) is returned.
    Result<void> undo();

    // What apply() changed, for logs and status: e.g. "created bridge br0".
    std::vector<std::string> changes() const;

private:
    enum class Step { CreatedBridge, SetUp, Enslaved, AddedAddress };
    struct Change {
        Step step;
        std::string device;
        IfAddress address;
    };
    Result<void> apply_steps(const BridgePlan& plan);
    Result<void> bring_up(const LinkInfo& li);

    Rtnetlink& rtnl_;
    std::vector<Change> done_;
};

}  // namespace wirebridge::nl
