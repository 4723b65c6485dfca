// Session, control channel: resets, reliability, TLS over CONTROL_V1, key-method 2, text messages.
#include <algorithm>
#include <cstring>

#include "crypto/random.hpp"
#include "proto/data_packet.hpp"
#include "proto/peer_info.hpp"
#include "session/session.hpp"

namespace wirebridge::session {

using proto::Drop;
using proto::Opcode;

namespace {
constexpr size_t kMaxPlaintextBuffered = 64 * 1024;
// TLS output the peer has not taken yet (not acked, so not cut into messages): a handshake's
// certificates are a few KB; a peer that never acks what it asks for must not grow it without end.
constexpr size_t kMaxTlsOutBuffered = 64 * 1024;
constexpr int64_t sec(TimeMs t) { return t / 1000; }
}  // namespace

Session::Session(SessionConfig cfg, ControlWrap wrap)
    : cfg_(std::move(cfg)), wrap_(std::move(wrap)), compression_(cfg_.compression) {}
Session::~Session() = default;

Result<std::unique_ptr<Session>> Session::create(SessionConfig cfg, TimeMs now) {
    if (!cfg.tls) return fail("session: no TLS context configured");
    if ((cfg.tls->role() == crypto::Role::Client) != (cfg.role == Role::client))
        return fail("session: the TLS context's role does not match the session role");
    if (cfg.tls_mtu < proto::kMinTlsMtu || cfg.tls_mtu > proto::kMaxTlsMtu)
        return fail("session: tls-mtu " + std::to_string(cfg.tls_mtu) + " is outside 154..2048");
    auto wrap = ControlWrap::create(cfg.wrap, cfg.role, sec(now));
    if (!wrap) return fail(wrap.error());
    std::unique_ptr<Session> s(new Session(std::move(cfg), std::move(*wrap)));
    if (auto r = crypto::random_bytes(s->own_sid_.bytes); !r) return fail(r.error());
    s->last_received_ = now;
    s->last_data_sent_ = now;
    s->push_gate_ = PeriodBucket(s->cfg_.limits.push_reply_period_ms, s->cfg_.limits.push_reply_burst);
    s->soft_reset_gate_ = PeriodBucket(s->cfg_.limits.soft_reset_period_ms, s->cfg_.limits.soft_reset_burst);
    if (s->cfg_.role == Role::server) {
        s->ping_s_ = s->cfg_.ping_s;
        // openvpn's server doubles the pushed ping-restart for itself (keepalive 10 60 -> 120).
        s->ping_restart_s_ = s->cfg_.ping_restart_s * 2;
        s->peer_id_ = s->cfg_.peer_id;
    } else {
        s->ping_s_ = s->cfg_.ping_s;
        s->ping_restart_s_ = s->cfg_.ping_restart_s;
    }
    return s;
}

Result<std::unique_ptr<Session>> Session::create_from_cookie(SessionConfig cfg, const proto::SessionId& client_sid,
                                                             const proto::SessionId& cookie_sid, TimeMs now) {
    if (cfg.role != Role::server) return fail("session: a cookie session is a server session");
    auto s = create(std::move(cfg), now);
    if (!s) return s;
    Session& ss = **s;
    ss.own_sid_ = cookie_sid;
    ss.peer_sid_ = client_sid;
    ss.peer_sid_known_ = true;
    ss.current_ = ss.new_key_state(0, now);
    KeyState& ks = *ss.current_;
    if (!ks.tls) return fail("session: TLS session could not be created");
    // The client's reset (message 0) was acked by the stateless reply; our reset is "in flight".
    ks.recv.receive(Opcode::control_hard_reset_client_v2, 0, {});
    proto::ReliableMessage m;
    ks.recv.pop(m);
    ks.peer_reset_seen = true;
    ks.send.queue(Opcode::control_hard_reset_server_v2, {}, now);
    ks.send.sent(0, now);
    ks.our_reset_queued = true;
    ks.phase = KeyState::Phase::start;
    return s;
}

std::unique_ptr<KeyState> Session::new_key_state(uint8_t key_id, TimeMs now) {
    auto ks = std::make_unique<KeyState>(key_id, cfg_.tls_timeout_ms, now + TimeMs{cfg_.hand_window_s} * 1000);
    ks->started = now;
    auto tls = crypto::TlsSession::create(cfg_.tls);
    if (tls) {
        ks->tls = std::move(*tls);
    } else {
        fail_session(SessionError::tls_failed, tls.error().message);
    }
    ks->local_km.tls_client = cfg_.role == Role::client;
    bool ok = static_cast<bool>(crypto::random_bytes(ks->local_km.random1)) &&
              static_cast<bool>(crypto::random_bytes(ks->local_km.random2));
    if (cfg_.role == Role::client) ok = ok && static_cast<bool>(crypto::random_bytes(ks->local_km.pre_master));
    if (!ok) fail_session(SessionError::key_derivation, "no randomness for key-method 2");
    last_key_id_ = key_id;
    return ks;
}

void Session::start(TimeMs now) {
    if (cfg_.role != Role::client || current_) return;
    current_ = new_key_state(0, now);
    current_->send.queue(Opcode::control_hard_reset_client_v2, {}, now);
    current_->our_reset_queued = true;
    flush(now);
}

Session::Input Session::on_packet(std::span<uint8_t> packet, TimeMs now) {
    Input in;
    if (gone_) {
        in.drop = Drop::state;
    } else if (proto::is_data_packet(packet)) {
        in.drop = Drop::no_keys;  // data is the data path's (DataChannel): it had no key for this one
    } else {
        const Drop d = wrap_.unwrap(packet, unwrapped_, sec(now));
        in.drop = d == Drop::none ? on_control(unwrapped_, now) : d;
    }
    if (in.drop != Drop::none) counters_.drop(in.drop);
    flush(now);
    return in;
}

KeyState* Session::find_key(uint8_t key_id) const {
    for (KeyState* ks : {current_.get(), next_.get(), lame_.get()})
        if (ks && ks->key_id == key_id) return ks;
    return nullptr;
}

KeyState* Session::key_for_control(const proto::ControlPacket& p, TimeMs now, Drop& why) {
    if (KeyState* ks = find_key(p.key_id)) return ks;
    why = Drop::bad_key_id;
    switch (p.opcode) {
    case Opcode::control_hard_reset_client_v2:
        if (cfg_.role != Role::server || current_ || p.key_id != 0) return nullptr;
        current_ = new_key_state(0, now);
        return current_.get();
    case Opcode::control_soft_reset_v1:
        // The peer starts a renegotiation with the next key_id.
        if (!current_ || current_->phase != KeyState::Phase::active || !current_->keys || p.key_id == 0) return nullptr;
        // Each one is a new TLS handshake: a storm is refused beyond the budget (the peer's
        // retransmission comes back once a token is there).
        if (!soft_reset_gate_.take(now)) {
            ++counters_.soft_resets_limited;
            why = Drop::state;
            return nullptr;
        }
        next_ = new_key_state(p.key_id, now);
        ++counters_.renegotiations;
        return next_.get();
    default:
        return nullptr;
    }
}

Drop Session::on_control(proto::ByteSpan plain, TimeMs now) {
    proto::ControlPacket p;
    if (const Drop d = proto::parse_control_packet(plain, p); d != Drop::none) return d;
    if (p.opcode == Opcode::control_hard_reset_server_v2 && cfg_.role != Role::client) return Drop::bad_opcode;
    if (p.opcode == Opcode::control_hard_reset_client_v2 && cfg_.role != Role::server) return Drop::bad_opcode;
    if (peer_sid_known_ && !(p.own_sid == peer_sid_)) return Drop::bad_session_id;
    if (p.acks.count > 0 && !(p.peer_sid == own_sid_)) return Drop::bad_session_id;
    // Before the peer's session id is known, only its reset may arrive.
    const bool is_reset = p.opcode == Opcode::control_hard_reset_client_v2 ||
                          p.opcode == Opcode::control_hard_reset_server_v2;
    if (!peer_sid_known_ && !is_reset) return Drop::state;
    Drop why = Drop::none;
    KeyState* ks = key_for_control(p, now, why);
    if (!ks) return why;
    if (!peer_sid_known_) {
        peer_sid_ = p.own_sid;
        peer_sid_known_ = true;
    }
    ++counters_.control_in;
    last_received_ = now;
    for (uint8_t i = 0; i < p.acks.count; ++i) ks->send.ack(p.acks.ids[i]);
    if (p.has_message_id()) {
        using V = proto::ReliableRecv::Verdict;
        const V v = ks->recv.receive(p.opcode, p.message_id, p.payload);
        if (v == V::out_of_window) return Drop::out_of_window;
        ks->acks.add(p.message_id);
        proto::ReliableMessage m;
        while (ks->recv.pop(m)) deliver(*ks, m, now);
    }
    if (!gone_ && find_key(ks->key_id) == ks) advance_tls(*ks, now);
    return Drop::none;
}

void Session::deliver(KeyState& ks, proto::ReliableMessage& m, TimeMs now) {
    switch (m.opcode) {
    case Opcode::control_hard_reset_client_v2:
    case Opcode::control_hard_reset_server_v2:
    case Opcode::control_soft_reset_v1:
        ks.peer_reset_seen = true;
        if (!ks.our_reset_queued) {
            const Opcode reply = m.opcode == Opcode::control_soft_reset_v1 ? Opcode::control_soft_reset_v1
                                                                            : Opcode::control_hard_reset_server_v2;
            ks.send.queue(reply, {}, now);
            ks.our_reset_queued = true;
        }
        if (ks.phase == KeyState::Phase::pre_start) ks.phase = KeyState::Phase::start;
        break;
    case Opcode::control_v1:
        if (ks.phase != KeyState::Phase::start && ks.phase != KeyState::Phase::active) return;
        if (!ks.tls) return;
        if (auto r = ks.tls->feed_ciphertext(m.payload); !r) {
            // Tell the peer why before ending, as OpenSSL under OpenVPN does: the TLS alert
            // (unknown CA, certificate revoked, protocol version, ...) goes out once.
            collect_ciphertext(ks);
            flush_key(ks, now);
            ks.phase = KeyState::Phase::failed;
            if (&ks == current_.get() && !tunnel_up_) fail_session(SessionError::tls_failed, r.error().message);
            else ++counters_.errors[static_cast<size_t>(SessionError::tls_failed)];
        }
        break;
    default:
        break;
    }
}

void Session::advance_tls(KeyState& ks, TimeMs now) {
    if (!ks.tls || ks.phase == KeyState::Phase::pre_start || ks.phase == KeyState::Phase::failed) return;
    if (ks.tls->handshake_done()) {
        if (!ks.cert_checked && !check_peer_certificate(ks)) return;
        if (cfg_.role == Role::client && !ks.km2_sent) send_key_method2(ks);
        auto pt = ks.tls->read_plaintext();
        if (!pt) {
            ks.phase = KeyState::Phase::failed;
            if (&ks == current_.get()) fail_session(SessionError::tls_failed, pt.error().message);
            return;
        }
        if (ks.plain_in.size() + pt->size() > kMaxPlaintextBuffered) {
            fail_session(SessionError::control_overflow, "the peer sent more control text than fits the buffer");
            return;
        }
        ks.plain_in.insert(ks.plain_in.end(), pt->begin(), pt->end());
        handle_plaintext(ks, now);
    }
    collect_ciphertext(ks);
}

bool Session::check_peer_certificate(KeyState& ks) {
    ks.cert_checked = true;
    const auto cert = ks.tls->peer_certificate();
    if (!cert) return true;
    if (!peer_cert_) {
        peer_cert_ = cert->sha256;
        peer_cn_ = cert->common_name;
        return true;
    }
    if (*peer_cert_ == cert->sha256) return true;
    // As OpenVPN (tls_lock_cert_hash_set): the peer stays who it was at the first handshake, or
    // the new key is not made (no key-method 2 goes out). The keys in use go on until they expire.
    ks.phase = KeyState::Phase::failed;
    ++counters_.cert_changes_refused;
    event(EventType::notice, ks.key_id, SessionError::none,
          "renegotiation refused: the peer's certificate changed (CN '" + peer_cn_ + "' -> '" + cert->common_name + "')");
    return false;
}

void Session::collect_ciphertext(KeyState& ks) {
    if (!ks.tls) return;
    std::vector<uint8_t> ct = ks.tls->take_ciphertext();
    if (ct.empty()) return;
    // What was already cut into messages goes, so the buffer holds only what waits.
    ks.tls_out.erase(ks.tls_out.begin(), ks.tls_out.begin() + static_cast<long>(ks.tls_out_pos));
    ks.tls_out_pos = 0;
    if (ks.tls_out.size() + ct.size() > kMaxTlsOutBuffered) {
        fail_session(SessionError::control_overflow,
                     "the peer left more than " + std::to_string(kMaxTlsOutBuffered / 1024) + " KiB of control output unacknowledged");
        return;
    }
    ks.tls_out.insert(ks.tls_out.end(), ct.begin(), ct.end());
}

void Session::send_key_method2(KeyState& ks) {
    ks.local_km.options = proto::options_string(cfg_.role == Role::client, cfg_.transport == Transport::tcp, 1500,
                                                compression_ != proto::CompressionFraming::none);
    if (cfg_.role == Role::client) {
        ks.local_km.username = cfg_.username;
        ks.local_km.password = pushed_.auth_token ? *pushed_.auth_token : cfg_.password;
        proto::PeerInfo pi = proto::PeerInfo::for_pull_client(cfg_.data_ciphers, cfg_.version, cfg_.tls_ekm);
        if (!cfg_.cc_exit) pi.set("IV_PROTO", std::to_string(pi.iv_proto() & ~uint32_t{proto::iv_proto_cc_exit_notify}));
        ks.local_km.peer_info = pi.serialize();
    }
    const std::vector<uint8_t> msg = proto::encode_key_method2(ks.local_km);
    if (auto r = ks.tls->write_plaintext(msg); !r) {
        fail_session(SessionError::tls_failed, r.error().message);
        return;
    }
    ks.km2_sent = true;
}

void Session::handle_plaintext(KeyState& ks, TimeMs now) {
    if (!ks.km2_received) {
        if (ks.plain_in.empty()) return;
        size_t used = 0;
        const Drop d = proto::parse_key_method2(ks.plain_in, cfg_.role == Role::server, ks.peer_km, &used);
        if (d == Drop::truncated) return;  // wait for the rest
        if (d != Drop::none) {
            counters_.drop(d);
            fail_session(SessionError::bad_key_method, "malformed key-method 2 message from the peer");
            return;
        }
        ks.plain_in.erase(ks.plain_in.begin(), ks.plain_in.begin() + static_cast<long>(used));
        ks.km2_received = true;
        if (cfg_.role == Role::server && !ks.km2_sent) {
            if (ks.key_id == 0 && !server_negotiate(ks)) {
                // As an OpenVPN server: the exchange completes so the client reads the control
                // channel, then AUTH_FAILED says why, instead of a silent hand-window timeout.
                send_key_method2(ks);
                send_text(ks, "AUTH_FAILED,Data channel cipher negotiation failed (no shared cipher)", now);
                flush_key(ks, now);
                return;
            }
            send_key_method2(ks);
        }
        key_exchange_done(ks, now);
        if (gone_) return;
    }
    for (;;) {
        auto nul = std::find(ks.plain_in.begin(), ks.plain_in.end(), uint8_t{0});
        if (nul == ks.plain_in.end()) return;
        std::string text(ks.plain_in.begin(), nul);
        ks.plain_in.erase(ks.plain_in.begin(), nul + 1);
        handle_text(ks, text, now);
        if (gone_) return;
    }
}

void Session::handle_text(KeyState& ks, std::string_view text, TimeMs now) {
    using K = proto::ControlMessageKind;
    const proto::ControlMessage m = proto::classify_control_message(text);
    switch (m.kind) {
    case K::push_request:
        if (cfg_.role != Role::server || closing_) break;
        // Not admitted yet (its credentials are being checked): not answered, as OpenVPN's
        // PUSH_MSG_REQUEST_DEFERRED; the client asks again.
        if (!admitted_) break;
        // The first is always answered; repeats (a lost reply, or a storm) within the budget.
        if (push_reply_sent_ && !push_gate_.take(now)) {
            ++counters_.push_requests_limited;
            break;
        }
        send_push_reply(ks, now);
        break;
    case K::push_reply:
        if (cfg_.role != Role::client || push_reply_done_) break;
        switch (push_assembler_.feed(m.args)) {
        case proto::PushReplyAssembler::Status::more: break;
        case proto::PushReplyAssembler::Status::error:
            fail_session(SessionError::bad_push_reply, "malformed PUSH_REPLY: " + std::string(text.substr(0, 200)));
            break;
        case proto::PushReplyAssembler::Status::complete: apply_push_reply(ks, now); break;
        }
        break;
    case K::auth_failed:
        if (cfg_.role == Role::client) fail_session(SessionError::auth_failed, std::string(text));
        break;
    case K::restart:
    case K::halt:
    case K::exit: fail_session(SessionError::peer_exit, std::string(text)); break;
    case K::info:
    case K::info_pre:
    case K::auth_pending: event(EventType::info, ks.key_id, SessionError::none, std::string(text)); break;
    case K::unknown: counters_.drop(Drop::bad_message); break;
    }
}

void Session::key_exchange_done(KeyState& ks, TimeMs now) {
    ks.phase = KeyState::Phase::active;
    if (ks.key_id == 0 && cfg_.role == Role::client) {
        // Keys come with PUSH_REPLY (cipher, peer-id, EKM); ask for it now and every 5 s.
        send_text(ks, "PUSH_REQUEST", now);
        next_push_request_ = now + TimeMs{cfg_.push_request_interval_s} * 1000;
        return;
    }
    if (cfg_.role == Role::server) return authorize_key(ks, now);
    if (!derive_keys(ks)) return;
    promote(ks, now);
}

void Session::authorize_key(KeyState& ks, TimeMs now) {
    if (ks.key_id != 0 && reverify_) {
        uint32_t id = cfg_.peer_id;
        AdmitRequest req{ks.peer_km.username, ks.peer_km.password, ks.peer_km.peer_info, id, cfg_.push, {}, false, {}, false};
        if (!reverify_(req)) {
            if (req.pending) {
                // The keys in use go on meanwhile; the new ones open what the client sends with
                // them already (a wirebridge site switches at once; a 2.6 client keeps its old key
                // for the hand-window), and carry what we send only after the verdict.
                if (!ks.keys && !derive_keys(ks)) return;
                ks.auth_pending = true;
                return;
            }
            if (req.auth_failed) return refuse_auth(ks, req, now);
            return fail_session(SessionError::refused, req.why);
        }
    }
    if (ks.key_id == 0 && !admitted_) {
        // Authenticated: only now does the client take a peer-id and an address.
        if (admit_) {
            uint32_t id = cfg_.peer_id;
            AdmitRequest req{ks.peer_km.username, ks.peer_km.password, ks.peer_km.peer_info, id, cfg_.push, {}, false, {}, false};
            const bool ok = admit_(req);
            if (!ok && req.pending) {
                ks.auth_pending = true;
                return;
            }
            if (!ok && req.auth_failed) return refuse_auth(ks, req, now);
            if (!ok) {
                fail_session(SessionError::refused, req.why);
                return;
            }
            cfg_.peer_id = id;
            if (data_v2_) peer_id_ = id;
            admit_ = nullptr;
        }
        admitted_ = true;
    }
    if (!ks.keys && !derive_keys(ks)) return;
    promote(ks, now);
    if (ks.key_id == 0) {
        if (peer_iv_proto_ & proto::iv_proto_request_push) send_push_reply(ks, now);
        tunnel_up_ = true;
        event(EventType::tunnel_up, ks.key_id);
    }
}

bool Session::auth_pending() const {
    return (current_ && current_->auth_pending) || (next_ && next_->auth_pending);
}

void Session::resume_admission(TimeMs now) {
    for (KeyState* ks : {current_.get(), next_.get()}) {
        if (gone_ || closing_) return;
        if (!ks || !ks->auth_pending) continue;
        ks->auth_pending = false;
        authorize_key(*ks, now);
    }
    if (!gone_) flush(now);
}

TimeMs Session::auth_expire(const KeyState& ks) const {
    // OpenVPN 2.6 (auth_deferred_expire_window): the hand-window, or half the renegotiation
    // period when that is shorter, from the key's start.
    uint32_t s = cfg_.hand_window_s;
    if (cfg_.reneg_seconds && cfg_.reneg_seconds / 2 < s) s = cfg_.reneg_seconds / 2;
    return ks.started + TimeMs{s} * 1000;
}

void Session::refuse_auth(KeyState& ks, const AdmitRequest& req, TimeMs now) {
    // As OpenVPN's send_auth_failed: the client reads why and stops; we end once it acked.
    send_text(ks, req.client_reason.empty() ? "AUTH_FAILED" : "AUTH_FAILED," + req.client_reason, now);
    flush_key(ks, now);
    admit_ = nullptr;
    reverify_ = nullptr;
    closing_ = true;
    exit_on_ack_ = true;
    next_exit_notify_ = now + 2000;
    close_error_ = SessionError::auth_failed;
    close_message_ = req.why;
}

void Session::send_text(KeyState& ks, std::string_view text, TimeMs) {
    if (!ks.tls || !ks.tls->handshake_done()) return;
    const std::vector<uint8_t> b = proto::control_message_bytes(text);
    if (auto r = ks.tls->write_plaintext(b); !r) {
        fail_session(SessionError::tls_failed, r.error().message);
        return;
    }
    collect_ciphertext(ks);
}

void Session::send_control_message(std::string_view text, TimeMs now) {
    if (!current_ || gone_) return;
    send_text(*current_, text, now);
    flush(now);
}

void Session::flush(TimeMs now) {
    for (KeyState* ks : {current_.get(), next_.get(), lame_.get()})
        if (ks) flush_key(*ks, now);
}

void Session::flush_key(KeyState& ks, TimeMs now) {
    const size_t max_payload =
        cfg_.tls_mtu - wrap_.overhead() - proto::control_overhead(proto::kMaxAcksOnControl, true);
    if (ks.phase != KeyState::Phase::pre_start) {
        while (ks.tls_out_pos < ks.tls_out.size() && ks.send.can_queue()) {
            const size_t n = std::min(max_payload, ks.tls_out.size() - ks.tls_out_pos);
            ks.send.queue(Opcode::control_v1, proto::ByteSpan(ks.tls_out.data() + ks.tls_out_pos, n), now);
            ks.tls_out_pos += n;
        }
    }
    while (const proto::ReliableMessage* m = ks.send.due(now)) {
        const uint32_t id = m->id;
        emit_control(ks, m->opcode, id, m->payload);
        ks.send.sent(id, now);
    }
    while (!ks.acks.empty() && peer_sid_known_) emit_control(ks, Opcode::ack_v1, 0, {});
}

void Session::emit_control(KeyState& ks, Opcode op, uint32_t msg_id, proto::ByteSpan payload) {
    proto::ControlPacket p;
    p.opcode = op;
    p.key_id = ks.key_id;
    p.own_sid = own_sid_;
    p.peer_sid = peer_sid_;
    p.message_id = msg_id;
    p.payload = payload;
    ks.acks.take(p.acks, op == Opcode::ack_v1 ? proto::kMaxAcksOnAck : proto::kMaxAcksOnControl);
    scratch_.resize(proto::control_overhead(p.acks.count, true) + payload.size());
    const size_t n = proto::encode_control_packet(p, scratch_);
    if (n == 0) return;
    std::vector<uint8_t> wire;
    if (!wrap_.wrap(proto::ByteSpan(scratch_.data(), n), wire)) {
        ++counters_.errors[static_cast<size_t>(SessionError::key_derivation)];
        return;
    }
    ++counters_.control_out;
    out_.push_back(std::move(wire));
}

bool Session::pop_output(std::vector<uint8_t>& out) {
    if (out_.empty()) return false;
    out = std::move(out_.front());
    out_.pop_front();
    return true;
}

bool Session::pop_event(Event& out) {
    if (events_.empty()) return false;
    out = std::move(events_.front());
    events_.pop_front();
    return true;
}

void Session::event(EventType t, uint8_t key_id, SessionError e, std::string msg) {
    Event ev;
    ev.type = t;
    ev.key_id = key_id;
    ev.error = e;
    ev.message = std::move(msg);
    if (t == EventType::tunnel_up && cfg_.role == Role::client) ev.pushed = pushed_;
    events_.push_back(std::move(ev));
}

void Session::fail_session(SessionError e, std::string message) {
    if (gone_) return;
    gone_ = true;
    ++counters_.errors[static_cast<size_t>(e)];
    event(EventType::peer_gone, current_ ? current_->key_id : 0, e, std::move(message));
}

const char* session_error_name(SessionError e) {
    switch (e) {
    case SessionError::none: return "none";
    case SessionError::handshake_timeout: return "handshake_timeout";
    case SessionError::tls_failed: return "tls_failed";
    case SessionError::bad_key_method: return "bad_key_method";
    case SessionError::no_common_cipher: return "no_common_cipher";
    case SessionError::bad_push_reply: return "bad_push_reply";
    case SessionError::key_derivation: return "key_derivation";
    case SessionError::auth_failed: return "auth_failed";
    case SessionError::ping_timeout: return "ping_timeout";
    case SessionError::peer_exit: return "peer_exit";
    case SessionError::local_exit: return "local_exit";
    case SessionError::control_overflow: return "control_overflow";
    case SessionError::refused: return "refused";
    case SessionError::count_: break;
    }
    return "unknown";
}

}  // namespace wirebridge::session
