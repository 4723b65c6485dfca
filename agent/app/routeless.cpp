// Routeless: plan from config, queue and conntrack on the event loop, decisions, reload, stop.
#include "app/routeless.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include "app/log.hpp"
#include "nl/gwmark_proc.hpp"

namespace wirebridge::app {

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

    // Queue first: with fail-closed rules, packets queued before anyone listens are dropped.
    if (auto r = self->open_queue(*plan); !r) return fail(r.error());
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
    if (auto r = self->rules_.apply(self->plan_); !r) {
        self->stop();
        return fail("routeless rules: " + r.error().message);
    }
    if (self->rules_.replaced_stale())
        log_warn("routeless: chains " + self->plan_.chain + " of an earlier run (not cleaned up) were replaced");
    log_info("routeless: chain " + self->plan_.chain + " installed (IPv4 and IPv6 mangle), NFQUEUE " +
             std::to_string(self->plan_.queue) + ", " + std::to_string(self->plan_.queue_selectors.size()) + " queue and " +
             std::to_string(self->plan_.bypass_selectors.size()) + " bypass selectors, failure " +
             (self->plan_.fail_open ? "open" : "closed"));
    if (!self->fastpath_note_.empty()) log_warn("fastpath: " + self->fastpath_note_);
    return self;
}

Result<nl::RulesetPlan> Routeless::make_plan(const config::Config& cfg) {
    nl::RulesetPlan p;
    p.chain = nl::chain_for_site(cfg.site);
    p.tunnel_device = cfg.tunnel.device;
    p.tunnel_bridged = cfg.tunnel.join_bridge && cfg.bridge.has_value();
    p.queue = cfg.interest->queue;
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

Result<void> Routeless::open_queue(const nl::RulesetPlan& plan) {
    auto q = nl::NfQueue::open({.queue = plan.queue, .fail_open = plan.fail_open});
    if (!q) return fail(q.error());
    if (queue_) {
        loop_.remove_fd(queue_->fd());
        counts_.queue_received_before += queue_->stats().received;
        counts_.queue_overruns_before += queue_->stats().overruns;
    }
    queue_.emplace(std::move(*q));
    return loop_.add_fd(queue_->fd(), EPOLLIN, [this](std::uint32_t) { on_queue(); });
}

Routeless::~Routeless() { stop(); }

void Routeless::on_queue() {
    // Level-triggered: what is left after one batch comes back on the next loop turn.
    auto r = queue_->process(handler_, 256);
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
    const bool new_queue = plan->queue != plan_.queue || plan->fail_open != plan_.fail_open;
    std::optional<nl::NfQueue> old_queue;
    if (new_queue) {
        // Bind the new queue before the rules point at it; the old one is answered and closed
        // after, so nothing waits in it.
        if (plan->queue == plan_.queue) {
            // Same number, new flags: rebinding needs the old binding gone first.
            loop_.remove_fd(queue_->fd());
            (void)queue_->process(handler_, 1024);
            counts_.queue_received_before += queue_->stats().received;
            counts_.queue_overruns_before += queue_->stats().overruns;
            queue_.reset();
        } else {
            old_queue = std::move(queue_);
            loop_.remove_fd(old_queue->fd());
            queue_.reset();
        }
        if (auto r = open_queue(*plan); !r) return r;
    }
    if (auto r = rules_.apply(*plan); !r) return fail("reload: " + r.error().message + " (the previous rules stay)");
    if (old_queue) {
        for (int i = 0; i < kDrainRounds; ++i)
            if (auto n = old_queue->process(handler_, 1024); !n || *n == 0) break;
        counts_.queue_received_before += old_queue->stats().received;
        counts_.queue_overruns_before += old_queue->stats().overruns;
    }
    plan_ = std::move(*plan);
    ++counts_.reloads;
    // Connections decided under the old rules: re-decide those whose decision changed.
    auto table = nl::ConntrackTable::open();
    if (!table) return fail("reload: rules replaced, but " + table.error().message);
    const std::uint32_t mask = plan_.marks.mask;
    auto r = table->remark(mask, [this, mask](const nl::ConntrackEntry& e) -> std::optional<std::uint32_t> {
        if ((e.mark & mask) == 0) return std::nullopt;  // not ours: never decided by us
        return decide_bits(e.orig);
    });
    if (!r) return fail("reload: rules replaced, but re-marking connections failed: " + r.error().message);
    counts_.remarked += r->changed;
    log_info("routeless: reloaded (" + std::to_string(plan_.queue_selectors.size()) + " queue, " +
             std::to_string(plan_.bypass_selectors.size()) + " bypass selectors); " + std::to_string(r->changed) + " of " +
             std::to_string(r->seen) + " connections re-decided");
    return {};
}

void Routeless::stop() {
    if (stopped_) return;
    stopped_ = true;
    if (auto r = rules_.remove(); !r) log_warn("routeless clean-up: " + r.error().message);
    else log_info("routeless: chain " + plan_.chain + " removed");
    if (events_) {
        loop_.remove_fd(events_->fd());
        events_.reset();
    }
    if (queue_) {
        loop_.remove_fd(queue_->fd());
        // No rule queues any more; answer what already waits so no packet is left behind.
        for (int i = 0; i < kDrainRounds; ++i)
            if (auto n = queue_->process(handler_, 1024); !n || *n == 0) break;
    }
}

std::map<std::string, std::uint64_t> Routeless::counters() const {
    std::map<std::string, std::uint64_t> m;
    const nl::NfQueueStats q = queue_ ? queue_->stats() : nl::NfQueueStats{};
    m["queued"] = counts_.queue_received_before + q.received;
    m["queue_overruns"] = counts_.queue_overruns_before + q.overruns;
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
    m["fastpath_rules"] = plan_.reply_mark ? 1 : 0;
    return m;
}

}  // namespace wirebridge::app
