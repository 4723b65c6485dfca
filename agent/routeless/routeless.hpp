// Routeless: the traffic-of-interest feature run by the agent: its iptables chains, the
// NFQUEUE decisions per flow, conntrack flow counts, reload and clean removal.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"
#include "io/event_loop.hpp"
#include "nl/bridge_intercept.hpp"
#include "nl/conntrack.hpp"
#include "nl/decision_routes.hpp"
#include "nl/iptables_rules.hpp"
#include "nl/link_events.hpp"
#include "nl/nfqueue.hpp"

namespace wirebridge::routeless {

// How it works (docs/ROUTELESS.md): the rules queue the first packet of each NEW selected
// connection; decide() answers NF_REPEAT with the decision in the packet mark, the rules save
// it to the connection (CONNMARK), and every later packet takes the decision in the kernel.
class Routeless {
public:
    // Builds the plan from cfg.interest (must be set), binds the queue, follows conntrack and
    // installs the rules (replacing a stale run's). Fds go on `loop`, which must outlive this.
    static Result<std::unique_ptr<Routeless>> start(const config::Config& cfg, io::EventLoop& loop);
    // `wirebridge cleanup` (the unit's ExecStopPost): removes what a killed run of this site
    // left: its chains, its policy rules and, with failure open, its bridge table (with failure
    // closed the table stays: selected traffic is not passed while no agent runs). Returns what
    // it removed, one line each. Run it only while no agent of this site runs.
    static Result<std::vector<std::string>> cleanup(const config::Config& cfg);
    Routeless(const Routeless&) = delete;
    Routeless& operator=(const Routeless&) = delete;
    ~Routeless();

    // SIGHUP: the next config's rules replace the current ones atomically, and connections
    // this agent decided whose decision differs under the new rules are re-marked.
    Result<void> reload(const config::Config& next);
    // Takes the rules out, answers what is still queued, closes the queue. Idempotent.
    void stop();

    // For `wirebridge status` (control::Status::flows).
    std::map<std::string, std::uint64_t> counters() const;
    // Empty, or why the fast path is not in use and what still works.
    const std::string& fastpath_note() const { return fastpath_note_; }

    // Exposed for tests: the decision bits for a flow under the current selectors.
    std::uint32_t decide_bits(const nl::FlowTuple& t) const;
    // The bits a selector gives a flow nobody has decided yet (bypass selectors first), or
    // nothing when no selector matches it: such flows stay undecided.
    std::optional<std::uint32_t> select_bits(const nl::FlowTuple& t) const;

private:
    Routeless(io::EventLoop& loop) : loop_(loop) {}
    Result<nl::RulesetPlan> make_plan(const config::Config& cfg);
    static nl::DecisionRoutesPlan make_route_plan(const config::Config& cfg, const nl::RulesetPlan& plan);
    // With a bridge: the nft table that takes selected frames off the wire (docs/INLINE.md).
    static Result<nl::InterceptPlan> make_intercept_plan(const config::Config& cfg, const nl::RulesetPlan& plan);
    Result<void> apply_intercept(const config::Config& cfg);
    // Binds queue .. queue+queues-1 and puts them on the loop (the old ones are the caller's).
    Result<std::vector<nl::NfQueue>> open_queues(const nl::RulesetPlan& plan);
    void watch_queues();
    // Answers what waits in `qs` (bounded), takes them off the loop and keeps their counts.
    void retire_queues(std::vector<nl::NfQueue>& qs);
    void on_queue(size_t index);
    void on_conntrack();
    // A link notification: the TAP back up gets table T's default route again.
    void on_link();
    nl::Decision decide(const nl::QueuedPacket& pkt);
    void count_flow(const nl::ConntrackEntry& e);

    io::EventLoop& loop_;
    nl::RulesetPlan plan_;
    nl::IptablesRules rules_;
    nl::DecisionRoutesPlan route_plan_;
    nl::DecisionRoutes routes_;
    std::optional<nl::BridgeIntercept> intercept_;  // only with a bridge section
    nl::InterceptPlan intercept_plan_;
    std::vector<nl::NfQueue> queues_;  // plan_.queue .. plan_.queue + plan_.queues - 1
    std::optional<nl::ConntrackEvents> events_;
    std::optional<nl::LinkEvents> links_;
    nl::NfQueue::Handler handler_;
    std::string fastpath_note_;
    bool stopped_ = false;

    struct Counts {
        std::uint64_t decided_tunnel = 0, decided_bypass = 0, unreadable = 0;
        std::uint64_t new_tunnel = 0, new_bypass = 0, new_other = 0;
        std::uint64_t destroyed_tunnel = 0, destroyed_bypass = 0, destroyed_other = 0;
        std::uint64_t reloads = 0, remarked = 0, late_selected = 0;
        std::uint64_t routes_restored = 0;  // table T's route re-added after the TAP came back up
        std::uint64_t queue_received_before = 0, queue_overruns_before = 0;  // of replaced queues
    } counts_;
};

}  // namespace wirebridge::routeless
