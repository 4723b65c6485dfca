// Session, keys and data: cipher negotiation, EKM/PRF derivation, key rotation, data packets, timers.
#include <strings.h>

#include <algorithm>

#include "crypto/prf.hpp"
#include "proto/compression.hpp"
#include "proto/fragment.hpp"
#include "proto/data_packet.hpp"
#include "proto/keepalive.hpp"
#include "proto/mss_clamp.hpp"
#include "proto/peer_info.hpp"
#include "session/session.hpp"

namespace wirebridge::session {

using proto::Drop;
using proto::Opcode;

namespace {
constexpr TimeMs ms(uint64_t s) { return static_cast<TimeMs>(s) * 1000; }
}  // namespace

bool Session::set_cipher(std::string_view name) {
    cipher_.reset();
    cbc_.reset();
    if (auto a = crypto::parse_aead_cipher(name)) {
        cipher_ = a;
        cipher_name_ = std::string(crypto::aead_cipher_name(*a));
        return true;
    }
    if (auto c = crypto::parse_cbc_cipher(name)) {
        cbc_ = crypto::CbcSuite{*c, cfg_.auth};
        cipher_name_ = std::string(crypto::cbc_cipher_name(*c)) + " with " + std::string(crypto::digest_name(cfg_.auth));
        return true;
    }
    return false;
}

bool Session::server_negotiate(KeyState& ks) {
    const proto::PeerInfo pi = proto::PeerInfo::parse(ks.peer_km.peer_info);
    peer_iv_proto_ = pi.iv_proto();
    std::vector<std::string> ours;
    for (const auto& c : cfg_.data_ciphers)
        if (crypto::parse_aead_cipher(c) || crypto::parse_cbc_cipher(c)) ours.push_back(c);
    // As OpenVPN 2.6: IV_CIPHERS; for a 2.4-era client IV_NCP and its options' cipher; fallback.
    const std::string remote = proto::options_string_cipher(ks.peer_km.options);
    const std::string chosen = proto::choose_server_cipher(ours, pi, remote, cfg_.data_ciphers_fallback);
    if (chosen.empty() || !set_cipher(chosen)) {
        fail_session(SessionError::no_common_cipher,
                     "the client offers none of our data ciphers (IV_CIPHERS=" + std::string(pi.get("IV_CIPHERS").value_or("")) +
                         (pi.get("IV_CIPHERS") ? "" : ", IV_NCP=" + std::string(pi.get("IV_NCP").value_or("")) + ", cipher " +
                                                          (remote.empty() ? std::string("none") : remote)) +
                         ")");
        return false;
    }
    ekm_ = (peer_iv_proto_ & proto::iv_proto_tls_key_export) != 0;
    cc_exit_ = (peer_iv_proto_ & proto::iv_proto_cc_exit_notify) != 0;
    data_v2_ = (peer_iv_proto_ & proto::iv_proto_data_v2) != 0;
    if (!data_v2_) peer_id_ = proto::kUndefinedPeerId;
    return true;
}

void Session::send_push_reply(KeyState& ks, TimeMs now) {
    if (!cipher_ && !cbc_) return;
    proto::PushOptions o = cfg_.push;
    o.cipher = cbc_ ? std::string(crypto::cbc_cipher_name(cbc_->cipher)) : cipher_name_;
    if (data_v2_) o.peer_id = peer_id_;
    o.tls_ekm = ekm_;
    o.cc_exit = cc_exit_;  // with bit 7 the flags go as protocol-flags, else key-derivation
    o.dyn_tls_crypt = false;
    o.compression = cfg_.compression;
    if (cfg_.ping_s) o.ping = cfg_.ping_s;
    if (cfg_.ping_restart_s) o.ping_restart = cfg_.ping_restart_s;
    send_text(ks, proto::build_push_reply(o), now);
    push_reply_sent_ = true;
}

void Session::apply_push_reply(KeyState& ks, TimeMs now) {
    pushed_ = push_assembler_.options();
    push_reply_done_ = true;
    next_push_request_ = proto::kNever;
    // A server that pushes no cipher (before 2.4, or without NCP) uses its --cipher: ours is then
    // data-ciphers-fallback, as OpenVPN 2.6's client.
    if (!pushed_.cipher && cfg_.data_ciphers_fallback.empty()) {
        fail_session(SessionError::bad_push_reply, "PUSH_REPLY without a cipher (an old server? set data_ciphers_fallback "
                                                   "to its cipher)");
        return;
    }
    const std::string want = pushed_.cipher.value_or(cfg_.data_ciphers_fallback);
    const bool offered = !pushed_.cipher || std::any_of(cfg_.data_ciphers.begin(), cfg_.data_ciphers.end(),
                                                        [&](const std::string& s) { return strcasecmp(s.c_str(), want.c_str()) == 0; });
    if (!offered || !set_cipher(want)) {
        fail_session(SessionError::bad_push_reply, "the server pushed cipher " + want + ", which we did not offer");
        return;
    }
    if (pushed_.compression == proto::CompressionFraming::unsupported) {
        fail_session(SessionError::bad_push_reply, "the server pushed a compression algorithm wirebridge cannot decompress "
                                                   "(it knows comp-lzo, compress stub/lz4/lzo, stub-v2/lz4-v2)");
        return;
    }
    // A push overrides the configured framing (as openvpn's pushed comp-lzo/compress do).
    if (pushed_.compression != proto::CompressionFraming::none) compression_ = pushed_.compression;
    ekm_ = pushed_.tls_ekm;
    cc_exit_ = pushed_.cc_exit;
    data_v2_ = pushed_.peer_id.has_value();
    peer_id_ = pushed_.peer_id.value_or(proto::kUndefinedPeerId);
    if (pushed_.ping) ping_s_ = *pushed_.ping;
    if (pushed_.ping_restart) ping_restart_s_ = *pushed_.ping_restart;
    if (!derive_keys(ks)) return;
    promote(ks, now);
    tunnel_up_ = true;
    last_received_ = now;
    event(EventType::tunnel_up, ks.key_id);
}

bool Session::derive_keys(KeyState& ks) {
    if (!cipher_ && !cbc_) {
        fail_session(SessionError::key_derivation, "no data cipher negotiated");
        return false;
    }
    crypto::SecureArray<crypto::kKeyBlockSize> block;
    if (ekm_) {
        auto ekm = ks.tls->export_keying_material(crypto::kEkmDataKeysLabel, crypto::kKeyBlockSize);
        if (!ekm || ekm->size() != crypto::kKeyBlockSize) {
            fail_session(SessionError::key_derivation, ekm ? "short EKM" : ekm.error().message);
            return false;
        }
        std::copy(ekm->data(), ekm->data() + crypto::kKeyBlockSize, block.data());
    } else {
        const bool client = cfg_.role == Role::client;
        const proto::KeyMethod2& c = client ? ks.local_km : ks.peer_km;
        const proto::KeyMethod2& s = client ? ks.peer_km : ks.local_km;
        const proto::SessionId& csid = client ? own_sid_ : peer_sid_;
        const proto::SessionId& ssid = client ? peer_sid_ : own_sid_;
        crypto::PrfInputs in{c.pre_master, c.random1, s.random1, c.random2, s.random2, csid.bytes, ssid.bytes};
        auto b = crypto::openvpn_prf_key_block(in);
        if (!b) {
            fail_session(SessionError::key_derivation, b.error().message);
            return false;
        }
        block = *b;
    }
    const crypto::Role role = cfg_.role == Role::client ? crypto::Role::Client : crypto::Role::Server;
    DataKeys k;
    k.key_id = ks.key_id;
    if (cbc_) {
        crypto::CbcChannelKeys ck = crypto::split_cbc_key_block(block.span(), role, *cbc_);
        k.cbc = cbc_;
        k.send.key = std::move(ck.send.cipher_key);
        k.recv.key = std::move(ck.recv.cipher_key);
        k.send_hmac = std::move(ck.send.hmac_key);
        k.recv_hmac = std::move(ck.recv.hmac_key);
    } else {
        crypto::DataChannelKeys dk = crypto::split_key_block(block.span(), role, *cipher_);
        k.cipher = *cipher_;
        k.send = std::move(dk.send);
        k.recv = std::move(dk.recv);
    }
    k.peer_id = peer_id_;
    k.data_v2 = data_v2_;
    k.compression = compression_;
    proto::TunnelOverhead over;
    over.tcp = cfg_.transport == Transport::tcp;
    over.ipv6 = cfg_.link_ipv6;
    over.data_v2 = data_v2_;
    over.framing = proto::framing_overhead(compression_);
    if (cbc_) {
        over.hmac_size = crypto::digest_size(cbc_->digest);
        over.cbc_block = crypto::kCbcBlockSize;
    }
    if (cfg_.fragment) {
        k.fragment = std::max<uint16_t>(proto::max_fragment_size(cfg_.fragment, cfg_.fragment_mtu, over), 1);
        over.framing += proto::kFragmentHeader;  // every packet carries it (mssfix counts it, as 2.6)
    }
    k.mss_limit = proto::mss_limit(cfg_.mssfix, over);
    k.send_packet_id = std::make_shared<std::atomic<uint32_t>>(0);
    if (cbc_) {
        // The session seals its own pings and OCC messages; opening is the data path's.
        auto enc = crypto::CbcEncryptor::create(*cbc_, crypto::CbcKeys{k.send.key.clone(), k.send_hmac.clone()});
        if (!enc) {
            fail_session(SessionError::key_derivation, enc.error().message);
            return false;
        }
        ks.cbc_enc.emplace(std::move(*enc));
    } else {
        auto enc = crypto::AeadEncryptor::create(k.cipher, k.send);
        if (!enc) {
            fail_session(SessionError::key_derivation, enc.error().message);
            return false;
        }
        ks.enc.emplace(std::move(*enc));
    }
    ks.keys.emplace(std::move(k));
    event(EventType::keys_ready, ks.key_id);
    return true;
}

void Session::promote(KeyState& ks, TimeMs now) {
    ks.established = now;
    ++counters_.handshakes;
    if (&ks == next_.get()) {
        if (lame_) event(EventType::keys_retired, lame_->key_id);
        lame_ = std::move(current_);
        lame_->expires = now + ms(cfg_.tran_window_s);
        current_ = std::move(next_);
    }
    event(EventType::keys_primary, ks.key_id);
}

std::optional<DataKeys> Session::export_keys(uint8_t key_id) const {
    const KeyState* ks = find_key(key_id);
    if (!ks || !ks->keys) return std::nullopt;
    return ks->keys->clone();
}

std::optional<uint8_t> Session::primary_key_id() const {
    if (current_ && current_->keys) return current_->key_id;
    return std::nullopt;
}

void Session::set_keepalive(uint32_t ping_s, uint32_t ping_restart_s) {
    cfg_.ping_s = ping_s;
    cfg_.ping_restart_s = ping_restart_s;
    if (cfg_.role == Role::server) {
        ping_s_ = ping_s;
        ping_restart_s_ = ping_restart_s * 2;  // as create() does
        return;
    }
    ping_s_ = pushed_.ping.value_or(ping_s);
    ping_restart_s_ = pushed_.ping_restart.value_or(ping_restart_s);
}

TimeMs Session::key_established() const {
    return current_ && current_->keys ? current_->established : proto::kNever;
}

void Session::on_data_payload(proto::ByteSpan payload, TimeMs now) {
    last_received_ = now;
    const auto occ = proto::occ_opcode(payload);
    if (occ && *occ == proto::OccOp::exit) fail_session(SessionError::peer_exit, "the peer sent OCC_EXIT");
}

bool Session::encrypt_frame(proto::ByteSpan payload, std::vector<uint8_t>& out, TimeMs now) {
    if (!current_ || !current_->can_send() || gone_) return false;
    KeyState& ks = *current_;
    const DataKeys& k = *ks.keys;
    proto::DataHeader h{k.data_v2 ? Opcode::data_v2 : Opcode::data_v1, ks.key_id, k.peer_id};
    const size_t at = h.length() + crypto::kAeadOverhead;
    out.resize(at + payload.size() + proto::kFramingRoom + proto::kFragmentHeader);
    proto::encode_data_header(h, out);
    std::copy(payload.begin(), payload.end(), out.begin() + static_cast<long>(at));
    if (!proto::is_ping(payload) && !proto::is_occ(payload))
        proto::clamp_mss(std::span<uint8_t>(out).subspan(at, payload.size()), k.mss_limit);
    // Pings and OCC messages carry the compression framing too (OpenVPN frames every payload).
    size_t len = proto::frame_uncompressed(k.compression, out, at, payload.size());
    // --fragment: a ping or OCC message is never cut, but carries the header like every payload.
    if (len != 0 && k.fragment) len = proto::add_whole_fragment_header(out, at, len);
    if (len == 0) return false;
    out.resize(at + len);
    const uint32_t id = k.send_packet_id->fetch_add(1) + 1;
    if (ks.cbc_enc) {
        // CBC: HMAC, IV and padding make the packet longer than the AEAD layout laid out above.
        const size_t framed = len;
        out.resize(h.length() + crypto::cbc_overhead_before(ks.cbc_enc->suite()) + framed + crypto::kCbcMaxPadding);
        const size_t n = ks.cbc_enc->seal(out, h.length(), at, framed, id);
        if (n == 0) return false;
        out.resize(n);
    } else if (ks.enc->seal(out, h.length(), id) != crypto::AeadStatus::Ok) {
        return false;
    }
    note_data_sent(payload.size(), now);
    return true;
}

bool Session::send_data_payload(proto::ByteSpan payload, TimeMs now) {
    std::vector<uint8_t> pkt;
    if (!encrypt_frame(payload, pkt, now)) return false;
    out_.push_back(std::move(pkt));
    return true;
}

void Session::note_data_sent(size_t bytes, TimeMs now) {
    ++counters_.data_out;
    counters_.data_bytes_out += bytes;
    if (current_) current_->bytes += bytes;
    last_data_sent_ = std::max(last_data_sent_, now);  // the data path reports late: older than our ping, nothing
    check_reneg_bytes(now);
}

void Session::note_data_received(size_t bytes, TimeMs now) {
    ++counters_.data_in;
    counters_.data_bytes_in += bytes;
    if (current_) current_->bytes += bytes;
    last_received_ = now;
    check_reneg_bytes(now);
}

void Session::note_refusals(uint64_t total) {
    if (refusals_total_ == kRefusalsUnknown) refusals_total_ = refusals_seen_ = total;  // earlier sessions' run
    // Refusals count from the last authentic packet on: one from the peer ends the run.
    if (last_received_ != refusal_mark_) {
        refusals_seen_ = refusals_total_;
        refusal_mark_ = last_received_;
    }
    if (total <= refusals_total_) return;
    counters_.refusals += total - refusals_total_;
    refusals_total_ = total;
}

TimeMs Session::refused_grace_ms() const {
    if (cfg_.role != Role::client || cfg_.transport != Transport::udp || cfg_.refused_restart_after == 0) return 0;
    // Twice the ping interval: a live server sends at least every ping seconds, so a forged ICMP
    // error (anyone on the path can send one) alone never ends a session whose server answers.
    const TimeMs g = std::max<TimeMs>(cfg_.refused_grace_min_ms, 2 * ms(ping_s_) + 1000);
    return ping_restart_s_ && g >= ms(ping_restart_s_) ? 0 : g;
}

bool Session::refusal_run() const {
    return refused_grace_ms() != 0 && refusals_total_ != kRefusalsUnknown && last_received_ == refusal_mark_ &&
           refusals_total_ - refusals_seen_ >= cfg_.refused_restart_after;
}

bool Session::refusal_run_over(TimeMs now) const { return refusal_run() && now - last_received_ >= refused_grace_ms(); }

void Session::check_reneg_bytes(TimeMs now) {
    if (cfg_.reneg_bytes && current_ && current_->keys && !next_ && current_->bytes >= cfg_.reneg_bytes)
        renegotiate(now);
}

void Session::renegotiate(TimeMs now) {
    if (gone_ || closing_ || next_ || !current_ || current_->phase != KeyState::Phase::active || !current_->keys) return;
    next_ = new_key_state(static_cast<uint8_t>(proto::next_key_id(current_->key_id)), now);
    next_->send.queue(Opcode::control_soft_reset_v1, {}, now);
    next_->our_reset_queued = true;
    ++counters_.renegotiations;
    flush(now);
}

void Session::close(TimeMs now) {
    if (gone_ || closing_) return;
    closing_ = true;
    // openvpn: a server tells its clients RESTART (they reconnect); a client with cc-exit agreed
    // says EXIT; otherwise OCC_EXIT goes in the data channel, exit_notify_count times a second.
    const bool control_exit = current_ && current_->phase == KeyState::Phase::active && current_->tls &&
                              (cfg_.role == Role::server || cc_exit_);
    if (control_exit) {
        send_text(*current_, cfg_.role == Role::server ? "RESTART" : "EXIT", now);
        flush(now);
        exit_on_ack_ = true;
        next_exit_notify_ = now + 2000;  // give up waiting for the ack after this
    } else if (current_ && current_->can_send()) {
        exit_notifications_left_ = std::max<uint32_t>(1, cfg_.exit_notify_count);
        next_exit_notify_ = now;
        check_timers(now);
    } else {
        fail_session(SessionError::local_exit, "closed");
    }
}

void Session::on_timer(TimeMs now) {
    if (gone_) return;
    check_timers(now);
    if (!gone_) flush(now);
}

void Session::check_timers(TimeMs now) {
    if (closing_) {
        if (exit_on_ack_) {
            if (now >= next_exit_notify_ || !current_ || current_->send.empty())
                fail_session(close_error_, close_message_);
            return;
        }
        if (now < next_exit_notify_) return;
        if (exit_notifications_left_ > 0) {
            std::vector<uint8_t> occ(proto::kOccMagic.begin(), proto::kOccMagic.end());
            occ.push_back(static_cast<uint8_t>(proto::OccOp::exit));
            send_data_payload(occ, now);
            --exit_notifications_left_;
            next_exit_notify_ = now + 1000;
            if (exit_notifications_left_ > 0) return;
        }
        fail_session(SessionError::local_exit, "closed");
        return;
    }
    // A verdict on the client's credentials not known in time: refused, as OpenVPN refuses a
    // deferred authentication past auth_deferred_expire (AUTH_FAILED).
    for (KeyState* ks : {current_.get(), next_.get()}) {
        if (!ks || !ks->auth_pending || now < auth_expire(*ks)) continue;
        ks->auth_pending = false;
        uint32_t id = cfg_.peer_id;
        AdmitRequest req{ks->peer_km.username, ks->peer_km.password, ks->peer_km.peer_info, id, cfg_.push, {}, true, {}, false};
        req.why = "username '" + ks->peer_km.username + "': no verdict on the credentials within " +
                  std::to_string((auth_expire(*ks) - ks->started) / 1000) + " s (hand-window)";
        refuse_auth(*ks, req, now);
        return;
    }
    // Handshake deadlines.
    if (current_ && !current_->keys && now >= current_->must_negotiate) {
        fail_session(SessionError::handshake_timeout, "no key exchange within hand-window");
        return;
    }
    if (next_ && !next_->keys && now >= next_->must_negotiate) {
        ++counters_.errors[static_cast<size_t>(SessionError::handshake_timeout)];
        next_.reset();  // keep the working key; the next trigger tries again
        if (current_) current_->established = now;
    }
    if (lame_ && now >= lame_->expires) {
        event(EventType::keys_retired, lame_->key_id);
        lame_.reset();
    }
    if (cfg_.role == Role::client && current_ && current_->phase == KeyState::Phase::active && !push_reply_done_ &&
        now >= next_push_request_) {
        send_text(*current_, "PUSH_REQUEST", now);
        next_push_request_ = now + ms(cfg_.push_request_interval_s);
    }
    if (!tunnel_up_) return;
    if (ping_restart_s_ && now - last_received_ >= ms(ping_restart_s_)) {
        fail_session(SessionError::ping_timeout, "nothing received for " + std::to_string(ping_restart_s_) + " s");
        return;
    }
    if (refusal_run_over(now)) {
        const uint64_t n = refusals_total_ - refusals_seen_;
        fail_session(SessionError::ping_timeout,
                     std::to_string(n) + (n == 1 ? " datagram" : " datagrams") +
                         " refused (ICMP port unreachable: no server listening) and nothing received for " +
                         std::to_string((now - last_received_) / 1000) + " s");
        return;
    }
    if (ping_s_ && now - last_data_sent_ >= ms(ping_s_)) {
        send_data_payload(proto::kPingMagic, now);
    }
    if (current_ && current_->keys && !next_) {
        const bool by_time = cfg_.reneg_seconds && now - current_->established >= ms(cfg_.reneg_seconds);
        const bool by_bytes = cfg_.reneg_bytes && current_->bytes >= cfg_.reneg_bytes;
        const bool by_id = current_->keys->send_packet_id->load() >= proto::kPacketIdRenegotiate;
        if (by_time || by_bytes || by_id) renegotiate(now);
    }
}

TimeMs Session::next_deadline() const {
    if (gone_) return proto::kNever;
    TimeMs d = proto::kNever;
    for (const KeyState* ks : {current_.get(), next_.get(), lame_.get()}) {
        if (!ks) continue;
        d = std::min(d, ks->send.deadline());
        if (!ks->keys) d = std::min(d, ks->must_negotiate);
        if (ks->auth_pending && !closing_) d = std::min(d, auth_expire(*ks));
        if (ks->expires != proto::kNever) d = std::min(d, ks->expires);
    }
    if (closing_) {
        if (exit_on_ack_ && (!current_ || current_->send.empty())) return 0;  // acked: finish now
        return std::min(d, next_exit_notify_);
    }
    if (cfg_.role == Role::client && !push_reply_done_) d = std::min(d, next_push_request_);
    if (tunnel_up_) {
        if (ping_restart_s_) d = std::min(d, last_received_ + ms(ping_restart_s_));
        if (refusal_run()) d = std::min(d, last_received_ + refused_grace_ms());
        if (ping_s_) d = std::min(d, last_data_sent_ + ms(ping_s_));
        if (current_ && current_->keys && !next_ && cfg_.reneg_seconds)
            d = std::min(d, current_->established + ms(cfg_.reneg_seconds));
    }
    return d;
}

}  // namespace wirebridge::session
