// TlsAuth: OpenVPN `--tls-auth` control packet authentication (HMAC, default SHA1).
//
//   plain:    | op|kid | own sid (8) | rest (acks, message-id, payload) ... |
//   wrapped:  | op|kid | own sid (8) | HMAC (digest size) | replay-id (8) | rest ... |
//   HMAC = HMAC-<auth>(key, replay-id || op|kid || own sid || rest)     (ssl_pkt.c swap_hmac)
//
// The HMAC key is the first digest-size bytes of the `hmac` half of the key this side sends (or
// receives) with, selected by the key direction (see static_key.hpp).
//
// Usage:
//   auto ta = crypto::TlsAuth::from_static_key(key, crypto::KeyDirection::Inverse, crypto::Digest::Sha1);
//   // send: out has room for plain.size() + ta->overhead(); out may be the same buffer as plain
//   auto n = ta->wrap(plain, out, crypto::ReplayId{1, now});          // Result<size_t>
//   // receive: out has room for packet.size() - overhead(); may alias packet
//   auto u = ta->unwrap(packet, out);   // Result<Unwrapped>: u->replay_id, plain packet out[0..u->length)
//
// The HMAC is compared in constant time. unwrap() writes nothing when it fails, so a server can
// check a first packet without copying it. Not thread-safe (one per session/thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.hpp"
#include "crypto/hmac.hpp"
#include "crypto/replay_id.hpp"
#include "crypto/static_key.hpp"

namespace wirebridge::crypto {

class TlsAuth {
public:
    // Keys longer than the digest are truncated to it (OpenVPN uses the first digest-size bytes).
    static Result<TlsAuth> create(Digest d, std::span<const uint8_t> send_key, std::span<const uint8_t> recv_key);
    static Result<TlsAuth> from_static_key(const StaticKey& k, KeyDirection dir, Digest d = Digest::Sha1);

    std::size_t overhead() const { return send_.size() + kReplayIdSize; }
    Digest digest() const { return send_.digest(); }

    Result<std::size_t> wrap(std::span<const uint8_t> plain, std::span<uint8_t> out, ReplayId id);
    Result<Unwrapped> unwrap(std::span<const uint8_t> packet, std::span<uint8_t> out);

private:
    TlsAuth(Hmac send, Hmac recv) : send_(std::move(send)), recv_(std::move(recv)) {}
    Hmac send_;
    Hmac recv_;
};

}  // namespace wirebridge::crypto
