// IptablesRules: the agent's own mangle chains (traffic of interest, decisions, GWMARK),
// installed and removed atomically through iptables-restore --noflush.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "nl/flow_tuple.hpp"

namespace wirebridge::nl {

// The connection-mark bits that hold the agent's per-flow decision. Both values live inside
// the mask; 0 in these bits means "not decided".
struct DecisionMarks {
    uint32_t mask = 0x00030000;
    uint32_t tunnel = 0x00010000;
    uint32_t bypass = 0x00020000;
};

// What the agent wants in the kernel. The chains are `chain` (jumped to from PREROUTING) and,
// when there is something to do for local traffic, `chain`-OUT (from OUTPUT).
struct RulesetPlan {
    std::string chain;           // e.g. "WB-branch-a" (see chain_for_site)
    std::string tunnel_device;   // packets coming out of the tunnel are never queued
    bool tunnel_bridged = false; // the tunnel device is a bridge port (matched with physdev)
    uint16_t queue = 0;
    uint16_t queues = 1;         // >1: --queue-balance queue:queue+queues-1 (the kernel spreads flows)
    bool fail_open = true;       // --queue-bypass: pass while no agent listens
    DecisionMarks marks;
    std::vector<TrafficSelector> queue_selectors;   // first packet of NEW flows -> NFQUEUE
    // Never queued; win over queue selectors. Their first packet gets the bypass decision in
    // the kernel (MARK + CONNMARK), so policy routing keeps them off the tunnel too.
    std::vector<TrafficSelector> bypass_selectors;
    // GWMARK selectors (values outside marks.mask); only when the module is loaded.
    std::optional<uint32_t> reply_mark;
    std::optional<uint32_t> orig_mark;
};

// "WB-" plus the site name reduced to what iptables allows in a chain name, short enough for
// the "-OUT" suffix (a long name is cut and given a hash so two sites still differ).
std::string chain_for_site(const std::string& site);

// Checks the plan before anything runs: marks inside/outside the mask, names.
Result<void> validate_plan(const RulesetPlan& plan);

// The iptables-restore input that installs the plan for one family (AF_INET or AF_INET6),
// replacing whatever an earlier run of the same site left (`saved`: iptables-save -t mangle).
std::string install_text(const RulesetPlan& plan, int family, std::string_view saved);
// The input that removes every trace of `chain` (and chain-OUT) that `saved` shows; "" if none.
std::string remove_text(const std::string& chain, std::string_view saved);
// Whether `saved` has `chain` or chain-OUT (left by a run that did not clean up).
bool has_chains(const std::string& chain, std::string_view saved);

// The directories a program named without a '/' is looked up in (never $PATH), in this order.
inline constexpr const char* kToolDirs[] = {"/usr/sbin", "/usr/bin", "/sbin", "/bin"};
// The absolute path run_tool runs for `name`: name itself when it has a '/', else the first
// executable name in kToolDirs; empty when there is none.
std::string resolve_tool(const std::string& name);

// Runs argv (no shell; argv[0] as resolve_tool finds it) with `input` on stdin; returns
// stdout+stderr. Bounded by timeout_ms: a tool that hangs is killed and reported. After the
// privilege drop the tool gets the helper capabilities (app::runtime_capabilities) as ambient,
// raised for its spawn only.
Result<std::string> run_tool(const std::vector<std::string>& argv, std::string_view input,
                             int timeout_ms = 15000);

// The tools of one family; the defaults follow the system's alternatives (legacy or nft).
struct IptablesTools {
    std::string save4 = "iptables-save", restore4 = "iptables-restore";
    std::string save6 = "ip6tables-save", restore6 = "ip6tables-restore";
};

// Owns the installed rules: apply() installs or replaces them in one transaction per family,
// remove() takes exactly them out again. A failure half-way undoes what was done.
class IptablesRules {
public:
    explicit IptablesRules(IptablesTools tools = {}) : tools_(std::move(tools)) {}
    IptablesRules(const IptablesRules&) = delete;
    IptablesRules& operator=(const IptablesRules&) = delete;
    ~IptablesRules();

    Result<void> apply(const RulesetPlan& plan);
    Result<void> remove();
    // Removes `chain` (and chain-OUT, their jumps) that a killed run left, both families; true
    // if there was anything. For `wirebridge cleanup`.
    Result<bool> remove_stale(const std::string& chain);
    bool installed() const { return !chain_.empty(); }
    // Set by apply(): chains of an earlier run were found and replaced.
    bool replaced_stale() const { return replaced_stale_; }

private:
    Result<std::string> save(int family);
    Result<void> restore(int family, const std::string& text);

    IptablesTools tools_;
    std::string chain_;  // installed chain, "" if none
    bool replaced_stale_ = false;
};

}  // namespace wirebridge::nl
