// ServerDispatcher: stateless cookie handshake, per-client sessions, admission (peer-id, pool, limits).
#include "session/server_dispatcher.hpp"

#include <netinet/in.h>

#include <algorithm>

#include "proto/data_packet.hpp"

namespace wirebridge::session {

using proto::Drop;
using proto::Opcode;

namespace {
constexpr int64_t sec(TimeMs t) { return t / 1000; }
}  // namespace

PeerAddress PeerAddress::from(const sockaddr* sa, socklen_t len) {
    PeerAddress a;
    a.len = std::min<socklen_t>(len, sizeof a.storage);
    std::memcpy(&a.storage, sa, a.len);
    return a;
}

Result<std::unique_ptr<ServerDispatcher>> ServerDispatcher::create(ServerConfig cfg, TimeMs now) {
    if (cfg.session.role != Role::server) return fail("server dispatcher: the session template must be role server");
    auto wrap = ControlWrap::create(cfg.session.wrap, Role::server, sec(now));
    if (!wrap) return fail(wrap.error());
    return std::unique_ptr<ServerDispatcher>(new ServerDispatcher(std::move(cfg), std::move(*wrap)));
}

Session* ServerDispatcher::find(uint32_t peer_id) const {
    auto it = by_peer_id_.find(peer_id);
    return it == by_peer_id_.end() ? nullptr : it->second->session.get();
}

Session* ServerDispatcher::find(const PeerAddress& from) const {
    auto it = by_addr_.find(from);
    return it == by_addr_.end() ? nullptr : it->second->session.get();
}

uint32_t ServerDispatcher::peer_id_of(const PeerAddress& from) const {
    auto it = by_addr_.find(from);
    return it == by_addr_.end() ? proto::kUndefinedPeerId : it->second->peer_id;
}

ServerDispatcher::Input ServerDispatcher::on_datagram(const PeerAddress& from, std::span<uint8_t> packet, TimeMs now) {
    Input in;
    auto it = by_addr_.find(from);
    if (it != by_addr_.end() && !it->second->session->gone()) {
        Client& c = *it->second;
        // A control packet of another session id from a known address: the client restarted (or
        // someone forges its address). The new session is negotiated beside the old one, which
        // carries the data until the new one has authenticated (ServerDispatcher::admit).
        if (!packet.empty() && !proto::is_data_packet(packet) && packet.size() > proto::kSessionIdLen &&
            std::memcmp(packet.data() + 1, c.session->peer_session_id().bytes.data(), proto::kSessionIdLen) != 0)
            return on_new_session(from, packet, now);
        const Session::Input si = c.session->on_packet(packet, now);
        in.drop = si.drop;
        in.session = c.session.get();
        in.peer_id = c.peer_id;
        drain(c);
        return in;
    }
    if (it != by_addr_.end() && it->second->session->gone()) {
        in.drop = Drop::state;  // removed at the next on_timer()
        counters_.drop(in.drop);
        return in;
    }
    // Unknown address: only a client reset, or the packet that completes a cookie handshake.
    if (packet.empty() || proto::is_data_packet(packet)) {
        in.drop = packet.empty() ? Drop::truncated : Drop::no_keys;
        counters_.drop(in.drop);
        return in;
    }
    std::vector<uint8_t> plain;
    proto::ControlPacket p;
    Drop d = open_first_control(packet, now, plain, p);
    if (d == Drop::none) {
        if (p.opcode == Opcode::control_hard_reset_client_v2) {
            if (cfg_.session.transport == Transport::tcp) {
                // TCP: the connection proved the address; the session starts at once (half-open).
                if (!room_for_half_open(from)) {
                    d = Drop::state;
                } else if (auto s = Session::create(session_config_for(from), now); s) {
                    Client* c = add_client(from, std::move(*s));
                    const Session::Input si = c->session->on_packet(packet, now);
                    drain(*c);
                    in.drop = si.drop;
                    in.session = c->session.get();
                    in.peer_id = c->peer_id;
                    return in;
                } else {
                    d = Drop::state;
                }
            } else {
                Refusal why{};
                if (!reset_limiter_.allow(from.sa(), from.len, now, why)) {
                    refuse(why);
                    d = Drop::state;
                } else {
                    d = answer_reset(from, p, now);
                }
            }
        } else if (p.opcode == Opcode::control_v1 || p.opcode == Opcode::ack_v1) {
            return accept_cookie(from, packet, p, now);
        } else {
            d = Drop::state;
        }
    }
    in.drop = d;
    if (d != Drop::none) counters_.drop(d);
    return in;
}

// A control packet that may open a session (a reset, a cookie echo): unwrapped with the shared
// key, parsed, and of key id 0; or why not.
Drop ServerDispatcher::open_first_control(std::span<const uint8_t> packet, TimeMs now, std::vector<uint8_t>& plain,
                                          proto::ControlPacket& p) {
    Drop d = wrap_.unwrap(packet, plain, sec(now), false);
    if (d == Drop::none) d = proto::parse_control_packet(plain, p);
    if (d == Drop::none && p.key_id != 0) d = Drop::bad_key_id;
    return d;
}

Drop ServerDispatcher::answer_reset(const PeerAddress& from, const proto::ControlPacket& p, TimeMs now) {
    if (p.message_id != 0 || p.acks.count != 0) return Drop::bad_message;
    const auto sid = cookie_.compute(p.own_sid.bytes, from.sa(), sec(now), static_cast<int>(cfg_.session.hand_window_s));
    proto::ControlPacket r;
    r.opcode = Opcode::control_hard_reset_server_v2;
    r.key_id = 0;
    r.own_sid.bytes = sid;
    r.acks.push(0);
    r.peer_sid = p.own_sid;
    r.message_id = 0;
    scratch_.resize(proto::control_overhead(1, true));
    const size_t n = proto::encode_control_packet(r, scratch_);
    Output o;
    o.to = from;
    if (n == 0 || !wrap_.wrap(proto::ByteSpan(scratch_.data(), n), o.bytes)) return Drop::state;
    out_.push_back(std::move(o));
    return Drop::none;
}

ServerDispatcher::Input ServerDispatcher::on_new_session(const PeerAddress& from, std::span<uint8_t> packet, TimeMs now) {
    Input in;
    auto pit = pending_.find(from);
    Client* pending = pit == pending_.end() ? nullptr : pit->second.get();
    if (pending && !pending->session->gone() &&
        std::memcmp(packet.data() + 1, pending->session->peer_session_id().bytes.data(), proto::kSessionIdLen) == 0) {
        const Session::Input si = pending->session->on_packet(packet, now);
        in.drop = si.drop;
        in.session = pending->session.get();
        drain(*pending);
        settle(from);
        return in;
    }
    std::vector<uint8_t> plain;
    proto::ControlPacket p;
    Drop d = open_first_control(packet, now, plain, p);
    if (d == Drop::none && p.opcode == Opcode::control_hard_reset_client_v2 && cfg_.session.transport == Transport::udp) {
        // As from an unknown address: a stateless, rate-limited reply; nothing is kept yet.
        Refusal why{};
        if (!reset_limiter_.allow(from.sa(), from.len, now, why)) {
            refuse(why);
            d = Drop::state;
        } else {
            d = answer_reset(from, p, now);
        }
    } else if (d == Drop::none && (p.opcode == Opcode::control_hard_reset_client_v2 ||
                                   ((p.opcode == Opcode::control_v1 || p.opcode == Opcode::ack_v1) &&
                                    cfg_.session.transport == Transport::udp))) {
        // TCP: the reset itself starts the session; UDP: the echo of our cookie does. One pending
        // session per address: a newer one replaces it.
        std::unique_ptr<Session> s;
        if (p.opcode == Opcode::control_hard_reset_client_v2) {
            if (auto r = Session::create(session_config_for(from), now); r) s = std::move(*r);
        } else if (verify_cookie(from, p, now)) {
            if (auto r = Session::create_from_cookie(session_config_for(from), p.own_sid, p.peer_sid, now); r) s = std::move(*r);
        } else {
            d = Drop::bad_session_id;
        }
        if (d == Drop::none && pending) {
            release(*pending);
            pending_.erase(from);
            pending = nullptr;
        }
        if (d == Drop::none && s && room_for_half_open(from)) {
            Client* c = add_client(from, std::move(s), true);
            ++replacements_started_;
            const Session::Input si = c->session->on_packet(packet, now);
            drain(*c);
            in.drop = si.drop;
            in.session = c->session.get();
            settle(from);
            return in;
        }
        if (d == Drop::none) d = Drop::state;
    } else if (d == Drop::none) {
        d = Drop::bad_session_id;
    }
    in.drop = d;
    counters_.drop(d);
    return in;
}

void ServerDispatcher::settle(const PeerAddress& from) {
    auto pit = pending_.find(from);
    if (pit == pending_.end()) return;
    Client& p = *pit->second;
    if (p.session->gone()) {
        drain(p, false);
        release(p);
        pending_.erase(pit);
        return;
    }
    if (p.peer_id == proto::kUndefinedPeerId) return;  // not admitted yet
    // Admitted: admit() already retired the old session; the new one takes its place.
    p.pending = false;
    by_addr_[from] = std::move(pit->second);
    pending_.erase(pit);
}

bool ServerDispatcher::verify_cookie(const PeerAddress& from, const proto::ControlPacket& p, TimeMs now) {
    // As openvpn's check_session_hmac_and_pkt_id: our cookie echoed, only early ids acked/sent.
    bool ok = p.acks.count > 0 && p.message_id <= 1 &&
              cookie_.verify(p.peer_sid.bytes, p.own_sid.bytes, from.sa(), sec(now),
                             static_cast<int>(cfg_.session.hand_window_s));
    for (uint8_t i = 0; ok && i < p.acks.count; ++i) ok = p.acks.ids[i] <= 1;
    return ok;
}

ServerDispatcher::Input ServerDispatcher::accept_cookie(const PeerAddress& from, std::span<uint8_t> packet,
                                                        const proto::ControlPacket& p, TimeMs now) {
    Input in;
    if (!verify_cookie(from, p, now)) {
        in.drop = Drop::bad_session_id;
        counters_.drop(in.drop);
        return in;
    }
    if (!room_for_half_open(from)) {
        in.drop = Drop::state;
        counters_.drop(in.drop);
        return in;
    }
    auto s = Session::create_from_cookie(session_config_for(from), p.own_sid, p.peer_sid, now);
    if (!s) {
        in.drop = Drop::state;
        counters_.drop(in.drop);
        return in;
    }
    Client* c = add_client(from, std::move(*s));
    const Session::Input si = c->session->on_packet(packet, now);
    drain(*c);
    in.drop = si.drop;
    in.session = c->session.get();
    in.peer_id = c->peer_id;
    return in;
}

bool ServerDispatcher::room_for_half_open(const PeerAddress& from) {
    const size_t open = half_open();
    if (open >= cfg_.limits.max_half_open) {
        refuse(Refusal::half_open_global);
        return false;
    }
    // Bounded by max_half_open: a scan is cheap, and a new session is rare (it costs a cookie echo).
    const SourcePrefix mine = SourcePrefix::host(from.sa(), from.len);
    size_t same = 0;
    for (const auto* m : {&by_addr_, &pending_})
        for (const auto& [a, c] : *m)
            if (c->peer_id == proto::kUndefinedPeerId && !c->session->gone() && SourcePrefix::host(a.sa(), a.len) == mine) ++same;
    if (same >= cfg_.limits.max_half_open_per_source) {
        refuse(Refusal::half_open_source);
        return false;
    }
    return true;
}

std::optional<UserPassVerdict> ServerDispatcher::user_pass_verdict(Client& c, Session::AdmitRequest& req) {
    if (c.verdict) {
        std::optional<UserPassVerdict> v = std::move(c.verdict);
        c.verdict.reset();
        return v;
    }
    if (!c.check) {
        const uint64_t ticket = ++next_ticket_;
        auto v = cfg_.start_user_pass_check(ticket, UserPassCheck{req.username, req.password, c.session->peer_common_name(), c.from, req.peer_info});
        if (v) return v;
        c.check = ticket;
        checks_[ticket] = &c;
    }
    req.pending = true;
    return std::nullopt;
}

void ServerDispatcher::cancel_check(Client& c) {
    if (!c.check) return;
    checks_.erase(c.check);
    if (cfg_.cancel_user_pass_check) cfg_.cancel_user_pass_check(c.check);
    c.check = 0;
}

void ServerDispatcher::on_user_pass_verdict(uint64_t ticket, UserPassVerdict verdict, TimeMs now) {
    auto it = checks_.find(ticket);
    if (it == checks_.end()) return;  // its client is gone
    Client& c = *it->second;
    checks_.erase(it);
    c.check = 0;
    if (c.session->gone()) return;
    c.verdict = std::move(verdict);
    c.session->resume_admission(now);
    c.verdict.reset();
    drain(c);
    if (c.pending) settle(c.from);
}

bool ServerDispatcher::reverify(Client& c, Session::AdmitRequest& req) {
    const auto v = user_pass_verdict(c, req);
    if (!v) return false;  // pending
    if (v->ok) return true;
    refuse(Refusal::auth_failed);
    req.auth_failed = true;
    req.client_reason = v->client_reason;
    req.why = "username '" + req.username + "' refused by auth_user_pass_verify at a renegotiation: " + v->why;
    return false;
}

bool ServerDispatcher::admit(Client& c, Session::AdmitRequest& req) {
    const std::string& cn = c.session->peer_common_name();
    if (cfg_.start_user_pass_check) {
        const auto v = user_pass_verdict(c, req);
        if (!v) return false;  // pending
        if (!v->ok) {
            refuse(Refusal::auth_failed);
            req.auth_failed = true;
            req.client_reason = v->client_reason;
            req.why = "username '" + req.username + "' refused by auth_user_pass_verify: " + v->why;
            return false;
        }
    }
    if (c.pending) retire_replaced(c);
    if (by_peer_id_.size() >= cfg_.limits.max_clients) {
        refuse(Refusal::max_clients);
        req.why = "max_clients (" + std::to_string(cfg_.limits.max_clients) + ") clients are connected";
        return false;
    }
    uint32_t id = 0;
    while (by_peer_id_.count(id)) ++id;
    if (id > proto::kMaxPeerId - 1) {
        refuse(Refusal::max_clients);
        req.why = "no DATA_V2 peer-id left";
        return false;
    }
    if (cfg_.pool) {
        // The CN's older session (a site that reconnected from another port) gives its address
        // back first, so the CN gets the same one again (OpenVPN's pool remembers CNs).
        c.peer_id = id;  // named in the old session's peer_gone
        if (!cfg_.duplicate_cn) drop_duplicates(c);
        c.peer_id = proto::kUndefinedPeerId;
        const auto a = cfg_.pool->acquire(cn, !cfg_.duplicate_cn);
        if (!a) {  // pool exhausted: refuse rather than push a duplicate
            refuse(Refusal::pool_exhausted);
            req.why = "no address left in the pool";
            return false;
        }
        c.address = a;
        req.push.ifconfig_local = Ipv4Pool::to_string(*a);
        req.push.ifconfig_netmask = Ipv4Pool::to_string(cfg_.pool->netmask());
        if (!cfg_.pool_persist.empty()) {
            auto r = cfg_.pool->save(cfg_.pool_persist);
            persist_error_ = r ? std::string() : r.error().message;
        }
    }
    req.peer_id = id;
    c.peer_id = id;
    by_peer_id_[id] = &c;
    return true;
}

ServerDispatcher::Client* ServerDispatcher::add_client(const PeerAddress& from, std::unique_ptr<Session> s, bool pending) {
    auto c = std::make_unique<Client>();
    c->session = std::move(s);
    c->from = from;
    c->pending = pending;
    Client* raw = c.get();
    raw->session->set_admit([this, raw](Session::AdmitRequest& req) { return admit(*raw, req); });
    if (cfg_.start_user_pass_check) raw->session->set_reverify([this, raw](Session::AdmitRequest& req) { return reverify(*raw, req); });
    (pending ? pending_ : by_addr_)[from] = std::move(c);
    return raw;
}

void ServerDispatcher::retire_replaced(const Client& fresh) {
    auto it = by_addr_.find(fresh.from);
    if (it == by_addr_.end()) return;
    // Called from inside the fresh session (its admission): nothing up the stack holds the old one.
    Client& old = *it->second;
    release(old);
    if (!old.session->gone())
        report_gone(old, SessionError::peer_exit, "replaced by a new session from the same address (the client restarted)");
    ++replacements_done_;
    keep_counts(old);
    by_addr_.erase(it);
}

void ServerDispatcher::keep_counts(const Client& c) {
    const SessionCounters& k = c.session->counters();
    gone_limits_.push_requests += k.push_requests_limited;
    gone_limits_.soft_resets += k.soft_resets_limited;
    gone_limits_.cert_changes += k.cert_changes_refused;
}

ServerDispatcher::PeerLimitCounts ServerDispatcher::peer_limits_hit() const {
    PeerLimitCounts n = gone_limits_;
    for (const auto* m : {&by_addr_, &pending_})
        for (const auto& [a, c] : *m) {
            const SessionCounters& k = c->session->counters();
            n.push_requests += k.push_requests_limited;
            n.soft_resets += k.soft_resets_limited;
            n.cert_changes += k.cert_changes_refused;
        }
    n.replacements_started = replacements_started_;
    n.replacements_done = replacements_done_;
    return n;
}

void ServerDispatcher::release(Client& c) {
    drain(c, false);
    cancel_check(c);
    if (c.peer_id != proto::kUndefinedPeerId) {
        auto it = by_peer_id_.find(c.peer_id);
        if (it != by_peer_id_.end() && it->second == &c) by_peer_id_.erase(it);
    }
    if (c.address && cfg_.pool) cfg_.pool->release(*c.address);
    c.address.reset();
}

void ServerDispatcher::drain(Client& c, bool check_duplicates) {
    Output o;
    while (c.session->pop_output(o.bytes)) {
        o.to = c.from;
        out_.push_back(std::move(o));
    }
    PeerEvent e;
    while (c.session->pop_event(e.event)) {
        // Its auth-pending window ended before the check's verdict (Session refused it).
        if (e.event.type == EventType::peer_gone && c.check && e.event.error == SessionError::auth_failed) {
            refuse(Refusal::auth_failed);
            cancel_check(c);
        }
        if (check_duplicates && e.event.type == EventType::tunnel_up && !cfg_.duplicate_cn) drop_duplicates(c);
        e.peer_id = c.peer_id;
        e.from = c.from;
        events_.push_back(std::move(e));
    }
}

void ServerDispatcher::report_gone(const Client& c, SessionError why, std::string message) {
    PeerEvent gone;
    gone.peer_id = c.peer_id;
    gone.from = c.from;
    gone.event.type = EventType::peer_gone;
    gone.event.error = why;
    gone.event.message = std::move(message);
    events_.push_back(std::move(gone));
}

void ServerDispatcher::drop_duplicates(const Client& fresh) {
    const std::string& cn = fresh.session->peer_common_name();
    if (cn.empty()) return;
    // Erasing other entries keeps every iterator valid but theirs: callers iterating by_addr_
    // (on_timer) hold only the fresh client's.
    for (auto it = by_addr_.begin(); it != by_addr_.end();) {
        Client& old = *it->second;
        if (&old == &fresh || old.session->gone() || old.session->peer_common_name() != cn) {
            ++it;
            continue;
        }
        // No exit notification: the old peer is most likely the dead process of the same site,
        // and if it is alive it would only come back and take the CN again.
        release(old);
        report_gone(old, SessionError::local_exit,
                    "replaced by a new connection with the same certificate CN '" + cn + "' (peer-id " +
                        std::to_string(fresh.peer_id) + ")");
        keep_counts(old);
        it = by_addr_.erase(it);
    }
}

void ServerDispatcher::on_timer(TimeMs now) {
    // Pending sessions first: one admitted now retires its old session from by_addr_.
    std::vector<PeerAddress> due;
    for (auto& [a, c] : pending_) {
        if (c->session->next_deadline() <= now) c->session->on_timer(now);
        drain(*c);
        due.push_back(a);
    }
    for (const PeerAddress& a : due) settle(a);
    for (auto it = by_addr_.begin(); it != by_addr_.end();) {
        Client& c = *it->second;
        if (c.session->next_deadline() <= now) c.session->on_timer(now);
        drain(c);
        if (c.session->gone()) {
            release(c);
            keep_counts(c);
            it = by_addr_.erase(it);
        } else {
            ++it;
        }
    }
}

TimeMs ServerDispatcher::next_deadline() const {
    TimeMs d = proto::kNever;
    for (const auto* m : {&by_addr_, &pending_})
        for (const auto& [addr, c] : *m) d = std::min(d, c->session->gone() ? 0 : c->session->next_deadline());
    return d;
}

bool ServerDispatcher::pop_output(Output& out) {
    if (out_.empty()) return false;
    out = std::move(out_.front());
    out_.pop_front();
    return true;
}

bool ServerDispatcher::pop_event(PeerEvent& out) {
    if (events_.empty()) return false;
    out = std::move(events_.front());
    events_.pop_front();
    return true;
}

SessionConfig ServerDispatcher::session_config_for(const PeerAddress& from) const {
    SessionConfig c = cfg_.session;
    const auto* a6 = reinterpret_cast<const sockaddr_in6*>(&from.storage);
    c.link_ipv6 = from.storage.ss_family == AF_INET6 && !IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr);
    return c;
}

Result<void> ServerDispatcher::set_session_template(SessionConfig session, TimeMs now) {
    if (session.role != Role::server) return fail("server dispatcher: the session template must be role server");
    if (session.transport != cfg_.session.transport) return fail("server dispatcher: the transport cannot change");
    // First packets of new clients are checked with the new wrap key; known clients' packets go
    // to their sessions, which keep the wrap they started with.
    auto wrap = ControlWrap::create(session.wrap, Role::server, sec(now));
    if (!wrap) return fail(wrap.error());
    wrap_ = std::move(*wrap);
    cfg_.session = std::move(session);
    return {};
}

void ServerDispatcher::close_all(TimeMs now) {
    for (auto& [addr, c] : pending_) {
        release(*c);
        c->session.reset();
    }
    pending_.clear();
    for (auto& [addr, c] : by_addr_) {
        c->session->close(now);
        drain(*c);
    }
}

}  // namespace wirebridge::session
