// Routeless: plan from config, queue and conntrack on the event loop, decisions, reload, stop.
#include "routeless/routeless.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>

#include "common/log.hpp"
#include "nl/gwmark_proc.hpp"

namespace wirebridge::routeless {

namespace {

nl::TrafficSelector to_selector(const config::InterestRule& r) {
    nl::TrafficSelector s;
    // The loader has already checked the prefixes; IfAddress re-reads their text.
    if (r.src) s.src = *nl::IfAddress::parse(r.src->to_string());
    if (r.dst) s.dst = *nl::IfAddress::parse(r.dst->to_string());
    if (r.proto) s.proto = nl::l4proto_from_string(*r.proto).value_or(nl::L4Proto::any);
    s.sport = r.sport;
    s.dport = r.dport;
    return s;
}

// Bounded: a stop must not hang on a queue that keeps filling.
constexpr int kDrainRounds = 8;

}  // namespace

Result<std::unique_ptr<Routeless>> Routeless::start(const config::Config& cfg, io::EventLoop& loop) {
    if (!cfg.interest) return fail("routeless mode needs an interest section");
    std::unique_ptr<Routeless> self(new Routeless(loop));
    auto plan = self->make_plan(cfg);
    if (!plan) return fail(plan.error());
    if (auto r = nl::validate_plan(*plan); !r) return fail(r.error());
    self->handler_ = [raw = self.get()](const nl::QueuedPacket& p) { return raw->decide(p); };

    // Queues first: with fail-closed rules, packets queued before anyone listens are dropped.
    auto qs = self->open_queues(*plan);
    if (!qs) return fail(qs.error());
    self->queues_ = std::move(*qs);
    self->watch_queues();
    auto ev = nl::ConntrackEvents::open();
    if (ev) {
        self->events_.emplace(std::move(*ev));
        if (auto r = loop.add_fd(self->events_->fd(), EPOLLIN, [raw = self.get()](std::uint32_t) { raw->on_conntrack(); }); !r)
            return fail(r.error());
    } else {
        log_warn("routeless: " + ev.error().message + "; flow counts are not shown");
    }
    // The plan is in place before the rules: decide() reads it as soon as packets come.
    self->plan_ = std::move(*plan);
    // Routing by the decision before the first decision is made.
    self->route_plan_ = make_route_plan(cfg, self->plan_);
    if (auto r = self->routes_.apply(self->route_plan_); !r) {
        self->stop();
        return fail("routeless policy routing: " + r.error().message);
    }
    if (self->routes_.replaced_stale())
        log_warn("routeless: policy rules at priority " + std::to_string(self->route_plan_.priority) +
                 " of an earlier run (not cleaned up) were replaced");
    // The TAP going down (an admin, a network manager) flushes table T's route with it.
    if (auto links = nl::LinkEvents::open(); links) {
        self->links_.emplace(std::move(*links));
        if (auto r = loop.add_fd(self->links_->fd(), EPOLLIN, [raw = self.get()](std::uint32_t) { raw->on_link(); }); !r) {
            self->stop();
            return fail(r.error());
        }
    } else {
        log_warn("routeless: " + links.error().message + "; if " + self->route_plan_.device +
                 " goes down and up again, table " + std::to_string(self->route_plan_.table) +
                 " stays without its route until a restart");
    }
    if (auto r = self->rules_.apply(self->plan_); !r) {
        self->stop();
        return fail("routeless rules: " + r.error().message);
    }
    if (self->rules_.replaced_stale())
        log_warn("routeless: chains " + self->plan_.chain + " of an earlier run (not cleaned up) were replaced");
    // Last: frames come up the stack only once the chain that queues them is there.
    if (auto r = self->apply_intercept(cfg); !r) {
        self->stop();
        return fail("routeless bridge interception: " + r.error().message);
    }
    const auto& pl = self->plan_;
    const std::string queues = pl.queues > 1 ? "s " + std::to_string(pl.queue) + "-" + std::to_string(pl.queue + pl.queues - 1)
                                             : " " + std::to_string(pl.queue);
    log_info("routeless: chain " + pl.chain + " installed (IPv4 and IPv6 mangle), NFQUEUE" + queues + ", " +
             std::to_string(pl.queue_selectors.size()) + " queue and " + std::to_string(pl.bypass_selectors.size()) +
             " bypass selectors, failure " + (pl.fail_open ? "open" : "closed"));
    log_info("routeless: decided flows routed by policy rules at priority " + std::to_string(self->route_plan_.priority) +
             " (tunnel: table " + std::to_string(self->route_plan_.table) + ", default dev " + self->route_plan_.routed_via() +
             "; bypass: main without " + self->route_plan_.device + ")" +
             (self->routes_.families().size() == 1 ? ", IPv4 only (no IPv6 on " + self->route_plan_.device + ")" : ""));
    if (!self->fastpath_note_.empty()) log_warn("fastpath: " + self->fastpath_note_);
    return self;
}

Result<std::vector<std::string>> Routeless::cleanup(const config::Config& cfg) {
    std::vector<std::string> done;
    if (!cfg.interest) return done;
    nl::RulesetPlan plan;
    plan.chain = nl::chain_for_site(cfg.site);
    nl::IptablesRules rules;
    auto chains = rules.remove_stale(plan.chain);
    if (!chains) return fail("chains " + plan.chain + ": " + chains.error().message);
    if (*chains) done.push_back("removed chains " + plan.chain);
    const nl::DecisionRoutesPlan rp = make_route_plan(cfg, plan);
    auto prules = nl::remove_decision_rules(rp);
    if (!prules) return fail("policy rules: " + prules.error().message);
    if (*prules) done.push_back("removed " + std::to_string(*prules) + " policy rules at priority " + std::to_string(rp.priority));
    if (cfg.bridge) {
        const std::string table = nl::intercept_table_for_site(cfg.site);
        auto bi = nl::BridgeIntercept::open();
        if (!bi) return fail(bi.error());
        if (cfg.interest->failure == config::FailMode::closed) {
            if (bi->exists(table)) done.push_back("kept table bridge " + table + " (failure closed)");
        } else {
            auto gone = bi->remove_stale(table);
            if (!gone) return fail("table bridge " + table + ": " + gone.error().message);
            if (*gone) done.push_back("removed table bridge " + table);
        }
    }
    return done;
}

nl::DecisionRoutesPlan Routeless::make_route_plan(const config::Config& cfg, const nl::RulesetPlan& plan) {
    nl::DecisionRoutesPlan rp;
    rp.device = cfg.tunnel.device;
    // A bridged TAP (join_bridge) is reached through its bridge (nl/decision_routes.hpp).
    if (cfg.tunnel.join_bridge && cfg.bridge) rp.route_device = cfg.bridge->name;
    rp.table = cfg.interest->table;
    rp.priority = cfg.interest->rule_priority;
    // The TAP's interface group is the table's number: one number to look for in `ip rule`,
    // `ip route show table` and `ip link show group`.
    rp.group = cfg.interest->table;
    rp.marks = plan.marks;
    return rp;
}

Result<nl::InterceptPlan> Routeless::make_intercept_plan(const config::Config& cfg, const nl::RulesetPlan& plan) {
    nl::InterceptPlan ip;
    ip.table = nl::intercept_table_for_site(cfg.site);
    auto mac = nl::device_mac(cfg.bridge->name);
    if (!mac) return fail(mac.error());
    ip.bridge_mac = *mac;
    // Frames out of the tunnel are the remote site's; they are bridged to the LAN as they are.
    if (plan.tunnel_bridged) ip.skip_ports.push_back(plan.tunnel_device);
    ip.queue_selectors = plan.queue_selectors;
    ip.bypass_selectors = plan.bypass_selectors;
    ip.owned = plan.fail_open;
    return ip;
}

Result<void> Routeless::apply_intercept(const config::Config& cfg) {
    if (!cfg.bridge) return {};
    auto ip = make_intercept_plan(cfg, plan_);
    if (!ip) return fail(ip.error());
    if (intercept_ && *ip == intercept_plan_) return {};
    if (!intercept_) {
        auto bi = nl::BridgeIntercept::open();
        if (!bi) return fail(bi.error());
        intercept_.emplace(std::move(*bi));
    }
    const bool first = !intercept_->installed();
    if (auto r = intercept_->apply(*ip); !r) return r;
    intercept_plan_ = std::move(*ip);
    if (first && intercept_->replaced_stale())
        log_warn("routeless: nftables table bridge " + intercept_plan_.table + " of an earlier run was replaced");
    log_info("routeless: bridge " + cfg.bridge->name + ": table bridge " + intercept_plan_.table + " takes frames of " +
             std::to_string(intercept_plan_.queue_selectors.size()) + " queue selectors up to the box (destination MAC " +
             intercept_plan_.bridge_mac + "); " +
             (intercept_plan_.owned ? "it goes with the agent (failure open)"
                                    : "it stays while no agent runs (failure closed)"));
    return {};
}

Result<nl::RulesetPlan> Routeless::make_plan(const config::Config& cfg) {
    nl::RulesetPlan p;
    p.chain = nl::chain_for_site(cfg.site);
    p.tunnel_device = cfg.tunnel.device;
    p.tunnel_bridged = cfg.tunnel.join_bridge && cfg.bridge.has_value();
    p.queue = cfg.interest->queue;
    p.queues = cfg.interest->queues;
    p.fail_open = cfg.interest->failure == config::FailMode::open;
    for (const auto& r : cfg.interest->rules)
        (r.action == config::InterestAction::bypass ? p.bypass_selectors : p.queue_selectors).push_back(to_selector(r));
    fastpath_note_.clear();
    if (cfg.fastpath.enabled) {
        auto stats = nl::read_gwmark_stats();
        if (stats) {
            p.reply_mark = cfg.fastpath.reply_mark;
            if (cfg.fastpath.orig_mark != 0) p.orig_mark = cfg.fastpath.orig_mark;
        } else {
            fastpath_note_ = "xt_GWMARK is not loaded (" + stats.error().message +
                             "), so no GWMARK rules were installed. Still working: the tunnel, the bridge, "
                             "queue decisions and connection marks; replies take the routed path";
        }
    }
    return p;
}

Result<std::vector<nl::NfQueue>> Routeless::open_queues(const nl::RulesetPlan& plan) {
    std::vector<nl::NfQueue> qs;
    for (unsigned i = 0; i < plan.queues; ++i) {
        auto q = nl::NfQueue::open({.queue = static_cast<std::uint16_t>(plan.queue + i), .fail_open = plan.fail_open});
        if (!q) return fail(q.error());
        qs.push_back(std::move(*q));
    }
    return qs;
}

void Routeless::watch_queues() {
    for (size_t i = 0; i < queues_.size(); ++i)
        if (auto r = loop_.add_fd(queues_[i].fd(), EPOLLIN, [this, i](std::uint32_t) { on_queue(i); }); !r)
            log_warn("routeless: queue " + std::to_string(plan_.queue + i) + " not watched: " + r.error().message);
}

void Routeless::retire_queues(std::vector<nl::NfQueue>& qs) {
    for (auto& q : qs) {
        loop_.remove_fd(q.fd());
        for (int i = 0; i < kDrainRounds; ++i)
            if (auto n = q.process(handler_, 1024); !n || *n == 0) break;
        counts_.queue_received_before += q.stats().received;
        counts_.queue_overruns_before += q.stats().overruns;
    }
    qs.clear();
}

Routeless::~Routeless() { stop(); }

void Routeless::on_queue(size_t index) {
    // Level-triggered: what is left after one batch comes back on the next loop turn. One
    // thread serves every queue: fanout spreads the kernel's side (each queue its own
    // socket buffer and max_len), and a busy queue does not hold back the others' batches.
    auto r = queues_[index].process(handler_, 256);
    if (!r) log_warn("routeless: " + r.error().message);
}

void Routeless::on_conntrack() {
    auto r = events_->process([this](const nl::ConntrackEntry& e) { count_flow(e); }, 64);
    if (!r) log_warn("routeless: " + r.error().message);
}

std::uint32_t Routeless::decide_bits(const nl::FlowTuple& t) const {
    // Bypass selectors win, as in the kernel chain; a queued flow no queue selector matches
    // any more (rules changed while it waited) is not tunnelled.
    for (const auto& s : plan_.bypass_selectors)
        if (s.matches(t)) return plan_.marks.bypass;
    for (const auto& s : plan_.queue_selectors)
        if (s.matches(t)) return plan_.marks.tunnel;
    return plan_.marks.bypass;
}

std::optional<std::uint32_t> Routeless::select_bits(const nl::FlowTuple& t) const {
    for (const auto& s : plan_.bypass_selectors)
        if (s.matches(t)) return plan_.marks.bypass;
    for (const auto& s : plan_.queue_selectors)
        if (s.matches(t)) return plan_.marks.tunnel;
    return std::nullopt;
}

nl::Decision Routeless::decide(const nl::QueuedPacket& pkt) {
    std::uint32_t bits = plan_.marks.bypass;
    if (auto t = nl::parse_flow_tuple(pkt.payload)) {
        bits = decide_bits(*t);
        log_debug("routeless: " + t->to_string() + " -> " + (bits == plan_.marks.tunnel ? "tunnel" : "bypass"));
    } else {
        ++counts_.unreadable;
    }
    ++(bits == plan_.marks.tunnel ? counts_.decided_tunnel : counts_.decided_bypass);
    // NF_REPEAT: the packet runs the hook again carrying the decision, and the chain's first
    // CONNMARK rule saves it to the connection (see nl/nfqueue.hpp for why not ct glue).
    return {nl::Decision::Verdict::Repeat, (pkt.mark & ~plan_.marks.mask) | bits};
}

void Routeless::count_flow(const nl::ConntrackEntry& e) {
    const std::uint32_t bits = e.mark & plan_.marks.mask;
    const bool tunnel = bits == plan_.marks.tunnel, bypass = bits == plan_.marks.bypass;
    switch (e.kind) {
    case nl::ConntrackEntry::Kind::New:
        ++(tunnel ? counts_.new_tunnel : bypass ? counts_.new_bypass : counts_.new_other);
        break;
    case nl::ConntrackEntry::Kind::Destroy:
        ++(tunnel ? counts_.destroyed_tunnel : bypass ? counts_.destroyed_bypass : counts_.destroyed_other);
        break;
    case nl::ConntrackEntry::Kind::Update: break;
    }
}

Result<void> Routeless::reload(const config::Config& next) {
    if (stopped_) return fail("routeless mode is stopped");
    if (!next.interest) return fail("the new config has no interest section; restart to leave routeless mode");
    auto plan = make_plan(next);
    if (!plan) return fail(plan.error());
    if (auto r = nl::validate_plan(*plan); !r) return r;
    const bool new_queues = plan->queue != plan_.queue || plan->queues != plan_.queues || plan->fail_open != plan_.fail_open;
    std::vector<nl::NfQueue> old_queues;
    if (new_queues) {
        // Bind the new queues before the rules point at them; the old ones are answered and
        // closed after, so nothing waits in them. A number in both sets must be unbound first
        // (a queue has one listener): then the old set goes before the new one is bound.
        const bool overlap = plan->queue < plan_.queue + plan_.queues && plan_.queue < plan->queue + plan->queues;
        if (overlap) retire_queues(queues_);
        auto qs = open_queues(*plan);
        if (!qs) {
            if (overlap) {
                // Put the old set back so the old rules still have listeners.
                if (auto back = open_queues(plan_)) {
                    queues_ = std::move(*back);
                    watch_queues();
                }
            }
            return fail(qs.error());
        }
        old_queues = std::move(queues_);
        for (auto& q : old_queues) loop_.remove_fd(q.fd());
        queues_ = std::move(*qs);
    }
    if (auto r = rules_.apply(*plan); !r) {
        if (new_queues) {
            // The old rules stay: give their queues back their listeners.
            retire_queues(queues_);
            if (old_queues.empty())  // retired above (overlapping numbers): bind them again
                if (auto back = open_queues(plan_)) old_queues = std::move(*back);
            queues_ = std::move(old_queues);
            watch_queues();
        }
        return fail("reload: " + r.error().message + " (the previous rules stay)");
    }
    if (new_queues) retire_queues(old_queues);
    plan_ = std::move(*plan);
    if (new_queues) watch_queues();
    if (auto r = apply_intercept(next); !r)
        log_warn("routeless reload: " + r.error().message + "; the previous bridge rules stay");
    if (auto rp = make_route_plan(next, plan_); !(rp == route_plan_)) {
        if (auto r = routes_.apply(rp); !r) {
            log_warn("routeless reload: " + r.error().message + "; the previous policy rules are put back");
            if (auto back = routes_.apply(route_plan_); !back) log_warn("routeless reload: " + back.error().message);
        } else {
            route_plan_ = rp;
        }
    }
    ++counts_.reloads;
    // Connections decided under the old rules: re-decide those whose decision changed.
    auto table = nl::ConntrackTable::open();
    if (!table) return fail("reload: rules replaced, but " + table.error().message);
    const std::uint32_t mask = plan_.marks.mask;
    // Connections never decided (they started before a rule selected them, so never queued)
    // that the new selectors take get their decision now: the kernel steers them from their
    // next packet on, as if they had been queued. Their entries are confirmed, so ctnetlink
    // reaches them.
    std::uint64_t late = 0;
    auto r = table->remark(mask, [this, mask, &late](const nl::ConntrackEntry& e) -> std::optional<std::uint32_t> {
        if ((e.mark & mask) == 0) {
            auto bits = select_bits(e.orig);
            if (bits) ++late;
            return bits;
        }
        return decide_bits(e.orig);
    });
    if (!r) return fail("reload: rules replaced, but re-marking connections failed: " + r.error().message);
    counts_.late_selected += late;
    counts_.remarked += r->changed >= late ? r->changed - late : 0;
    const size_t redecided = r->changed - std::min<size_t>(r->changed, late);
    log_info("routeless: reloaded (" + std::to_string(plan_.queue_selectors.size()) + " queue, " +
             std::to_string(plan_.bypass_selectors.size()) + " bypass selectors); " + std::to_string(redecided) + " of " +
             std::to_string(r->seen) + " connections re-decided, " + std::to_string(late) + " undecided ones newly selected");
    return {};
}

void Routeless::stop() {
    if (stopped_) return;
    stopped_ = true;
    // First: no frame is taken off the wire once nothing decides it. With failure closed the
    // table stays, so selected traffic is not passed to the router while no agent runs.
    if (intercept_ && intercept_->installed()) {
        if (intercept_plan_.owned) {
            if (auto r = intercept_->remove(); !r) log_warn("routeless clean-up: " + r.error().message);
            else log_info("routeless: table bridge " + intercept_plan_.table + " removed; the bridge passes all traffic");
        } else {
            log_info("routeless: table bridge " + intercept_plan_.table +
                     " left in place (failure closed: selected traffic is not passed while no agent runs)");
        }
    }
    if (auto r = rules_.remove(); !r) log_warn("routeless clean-up: " + r.error().message);
    else log_info("routeless: chain " + plan_.chain + " removed");
    // After the chains: no packet gets a decision mark any more when the rules go.
    const bool had_routes = routes_.installed();
    if (auto r = routes_.remove(); !r) log_warn("routeless clean-up: " + r.error().message);
    else if (had_routes) log_info("routeless: policy rules at priority " + std::to_string(route_plan_.priority) + " removed");
    if (events_) {
        loop_.remove_fd(events_->fd());
        events_.reset();
    }
    if (links_) {
        loop_.remove_fd(links_->fd());
        links_.reset();
    }
    // No rule queues any more; answer what already waits so no packet is left behind.
    retire_queues(queues_);
}

void Routeless::on_link() {
    auto named = links_->drain(route_plan_.device);
    if (!named) {
        log_warn("routeless: " + named.error().message);
        return;
    }
    if (!*named || stopped_) return;
    auto added = routes_.restore_routes();
    if (!added) {
        log_warn("routeless: " + route_plan_.device + " changed, but table " + std::to_string(route_plan_.table) +
                 "'s route could not be re-added: " + added.error().message);
        return;
    }
    if (*added == 0) return;
    counts_.routes_restored += *added;
    log_info("routeless: " + route_plan_.device + " is up again: table " + std::to_string(route_plan_.table) +
             "'s default route re-added (" + std::to_string(*added) + (*added == 1 ? " family)" : " families)"));
}

std::map<std::string, std::uint64_t> Routeless::counters() const {
    std::map<std::string, std::uint64_t> m;
    std::uint64_t received = counts_.queue_received_before, overruns = counts_.queue_overruns_before;
    for (const auto& q : queues_) {
        received += q.stats().received;
        overruns += q.stats().overruns;
    }
    m["queued"] = received;
    m["queue_overruns"] = overruns;
    m["decided_tunnel"] = counts_.decided_tunnel;
    m["decided_bypass"] = counts_.decided_bypass;
    m["unreadable"] = counts_.unreadable;
    m["new_tunnel"] = counts_.new_tunnel;
    m["new_bypass"] = counts_.new_bypass;
    m["new_other"] = counts_.new_other;
    m["destroyed_tunnel"] = counts_.destroyed_tunnel;
    m["destroyed_bypass"] = counts_.destroyed_bypass;
    m["destroyed_other"] = counts_.destroyed_other;
    // Flows of ours that started and have not ended since the agent started (a lower bound:
    // flows older than the agent are not counted, and a lost event is not either).
    m["active_tunnel"] = counts_.new_tunnel > counts_.destroyed_tunnel ? counts_.new_tunnel - counts_.destroyed_tunnel : 0;
    m["conntrack_overruns"] = events_ ? events_->stats().overruns : 0;
    m["reloads"] = counts_.reloads;
    m["remarked"] = counts_.remarked;
    m["late_selected"] = counts_.late_selected;
    m["routes_restored"] = counts_.routes_restored;
    m["fastpath_rules"] = plan_.reply_mark ? 1 : 0;
    m["intercept_rules"] = intercept_ && intercept_->installed() ? 1 : 0;
    return m;
}

}  // namespace wirebridge::routeless
