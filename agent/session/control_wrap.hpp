// tls-auth / tls-crypt / no wrapping of control packets, with the wrap's replay-id and window.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/result.hpp"
#include "crypto/tls_auth.hpp"
#include "crypto/tls_crypt.hpp"
#include "proto/bytes.hpp"
#include "proto/replay_window.hpp"
#include "session/config.hpp"

namespace wirebridge::session {

// One per session (openvpn keeps the wrap replay state per tls_session, across key_ids).
class ControlWrap {
public:
    static Result<ControlWrap> create(const WrapConfig& cfg, Role role, int64_t now_sec);

    WrapMode mode() const { return mode_; }
    size_t overhead() const;

    // Wraps a plain control packet (op|sid|body) for sending; returns false on a crypto failure.
    bool wrap(proto::ByteSpan plain, std::vector<uint8_t>& out);
    // Unwraps into `out` (the plain layout). With `check_replay`, refuses replayed replay-ids and
    // records accepted ones; without, only authenticates (stateless first-packet checks).
    proto::Drop unwrap(proto::ByteSpan wire, std::vector<uint8_t>& out, int64_t now_sec, bool check_replay = true);

private:
    ControlWrap() = default;
    WrapMode mode_ = WrapMode::none;
    std::optional<crypto::TlsAuth> auth_;
    std::optional<crypto::TlsCrypt> crypt_;
    uint32_t send_counter_ = 0;
    uint32_t send_time_ = 0;
    proto::ReplayWindow recv_window_;
};

}  // namespace wirebridge::session
