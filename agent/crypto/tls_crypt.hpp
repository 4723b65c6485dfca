// TlsCrypt: OpenVPN `--tls-crypt` (v1) control packet encryption, and dynamic tls-crypt keys.
//
//   plain:    | op|kid | own sid (8) | rest (acks, message-id, payload) ... |
//   wrapped:  | op|kid | own sid (8) | replay-id (8) | tag (32) | AES-256-CTR(rest) ... |
//   tag = HMAC-SHA256(Ka, op|kid || sid || replay-id || rest)     (tls_crypt.c, SIV style)
//   CTR IV = tag[0..16)
//   Ke = first 32 bytes of the cipher half, Ka = first 32 bytes of the hmac half of the key used
//   in that direction; the server sends with key[0], the client with key[1].
//
// Dynamic tls-crypt (2.6.1+, IV_PROTO bit 9): after key_id 0, both peers take 256 bytes of EKM
// "EXPORTER-OpenVPN-dynamic-tls-crypt", XOR them with the configured tls-auth/tls-crypt key file
// (if any) and wrap every control packet with key_id > 0 using them, same directions.
//
// Usage:
//   auto tc = crypto::TlsCrypt::from_static_key(key, crypto::Role::Client);   // Result<TlsCrypt>
//   auto n = tc->wrap(plain, out, crypto::ReplayId{1, now});    // out >= plain.size() + 40, may alias
//   auto u = tc->unwrap(packet, out);                           // Result<Unwrapped>; may alias
//   auto dyn = crypto::dynamic_tls_crypt_key(ekm256, &configured_key_or_nullptr);
//   auto tc2 = crypto::TlsCrypt::from_static_key(dyn, role);
//
// unwrap() authenticates before it writes anything, so it leaves `out` untouched on failure.
// Not thread-safe (one per session/thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.hpp"
#include "crypto/hmac.hpp"
#include "crypto/replay_id.hpp"
#include "crypto/role.hpp"
#include "crypto/static_key.hpp"

namespace wirebridge::crypto {

inline constexpr std::size_t kTlsCryptTagSize = 32;
inline constexpr std::size_t kTlsCryptOverhead = kReplayIdSize + kTlsCryptTagSize;

class TlsCrypt {
public:
    static Result<TlsCrypt> from_static_key(const StaticKey& k, Role role);
    // Explicit keys: each side's 64-byte cipher half and 64-byte hmac half (first 32 bytes used).
    static Result<TlsCrypt> create(const KeyPair& keys);

    ~TlsCrypt();
    TlsCrypt(TlsCrypt&& o) noexcept;
    TlsCrypt& operator=(TlsCrypt&& o) noexcept;
    TlsCrypt(const TlsCrypt&) = delete;
    TlsCrypt& operator=(const TlsCrypt&) = delete;

    static constexpr std::size_t overhead() { return kTlsCryptOverhead; }

    Result<std::size_t> wrap(std::span<const uint8_t> plain, std::span<uint8_t> out, ReplayId id);
    Result<Unwrapped> unwrap(std::span<const uint8_t> packet, std::span<uint8_t> out);

private:
    TlsCrypt(Hmac send_mac, Hmac recv_mac, void* send_ctr, void* recv_ctr)
        : send_mac_(std::move(send_mac)), recv_mac_(std::move(recv_mac)), send_ctr_(send_ctr), recv_ctr_(recv_ctr) {}
    Hmac send_mac_;
    Hmac recv_mac_;
    void* send_ctr_;  // EVP_CIPHER_CTX* (AES-256-CTR, keyed)
    void* recv_ctr_;
};

// The dynamic tls-crypt key: ekm XOR the configured wrap key (tls-auth or tls-crypt file), if any.
StaticKey dynamic_tls_crypt_key(std::span<const uint8_t, kStaticKeySize> ekm, const StaticKey* configured);

}  // namespace wirebridge::crypto
