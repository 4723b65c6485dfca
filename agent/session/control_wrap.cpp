// Control packet wrapping: delegates the cryptography to crypto/, keeps the replay-id state.
#include "session/control_wrap.hpp"

namespace wirebridge::session {

Result<ControlWrap> ControlWrap::create(const WrapConfig& cfg, Role role, int64_t now_sec) {
    ControlWrap w;
    w.mode_ = cfg.mode;
    w.send_time_ = static_cast<uint32_t>(now_sec);
    const crypto::Role crole = role == Role::client ? crypto::Role::Client : crypto::Role::Server;
    if (cfg.mode == WrapMode::tls_auth) {
        auto a = crypto::TlsAuth::from_static_key(cfg.key, cfg.direction, cfg.digest);
        if (!a) return fail(a.error());
        w.auth_.emplace(std::move(*a));
    } else if (cfg.mode == WrapMode::tls_crypt) {
        auto c = crypto::TlsCrypt::from_static_key(cfg.key, crole);
        if (!c) return fail(c.error());
        w.crypt_.emplace(std::move(*c));
    }
    return w;
}

size_t ControlWrap::overhead() const {
    if (auth_) return auth_->overhead();
    if (crypt_) return crypto::TlsCrypt::overhead();
    return 0;
}

bool ControlWrap::wrap(proto::ByteSpan plain, std::vector<uint8_t>& out) {
    if (mode_ == WrapMode::none) {
        out.assign(plain.begin(), plain.end());
        return true;
    }
    if (++send_counter_ == 0) {  // wrap: new time epoch, as openvpn's long-form packet-id
        send_counter_ = 1;
        ++send_time_;
    }
    const crypto::ReplayId id{send_counter_, send_time_};
    out.resize(plain.size() + overhead());
    Result<size_t> n = auth_ ? auth_->wrap(plain, out, id) : crypt_->wrap(plain, out, id);
    if (!n) return false;
    out.resize(*n);
    return true;
}

proto::Drop ControlWrap::unwrap(proto::ByteSpan wire, std::vector<uint8_t>& out, int64_t now_sec, bool check_replay) {
    if (mode_ == WrapMode::none) {
        out.assign(wire.begin(), wire.end());
        return proto::Drop::none;
    }
    if (wire.size() < proto::kWrapPrefixLen + overhead()) return proto::Drop::truncated;
    out.resize(wire.size());
    Result<crypto::Unwrapped> u = auth_ ? auth_->unwrap(wire, out) : crypt_->unwrap(wire, out);
    if (!u) return proto::Drop::auth_failed;
    out.resize(u->length);
    if (check_replay) {
        const proto::Drop d = recv_window_.check_long(u->replay_id.counter, u->replay_id.timestamp, now_sec);
        if (d != proto::Drop::none) return d;
        recv_window_.commit_long(u->replay_id.counter, u->replay_id.timestamp, now_sec);
    }
    return proto::Drop::none;
}

}  // namespace wirebridge::session
