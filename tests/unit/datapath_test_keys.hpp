// Test helper: session::DataKeys (the data path's key input) from key material a test holds.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "crypto/aead.hpp"
#include "proto/compression.hpp"
#include "session/data_keys.hpp"

namespace wirebridge::test {

// As the session exports them: copies of `send`/`recv` (null: empty keys), the shared send counter.
inline session::DataKeys test_keys(std::uint8_t key_id = 0, crypto::AeadCipher cipher = crypto::AeadCipher::Aes256Gcm,
                                   std::uint32_t peer_id = proto::kUndefinedPeerId, bool data_v2 = true,
                                   const crypto::AeadKeys* send = nullptr, const crypto::AeadKeys* recv = nullptr,
                                   std::shared_ptr<std::atomic<std::uint32_t>> ids = nullptr,
                                   proto::CompressionFraming framing = proto::CompressionFraming::none) {
    session::DataKeys k;
    k.key_id = key_id;
    k.cipher = cipher;
    k.peer_id = peer_id;
    k.data_v2 = data_v2;
    k.compression = framing;
    if (send) {
        k.send.key = send->key.clone();
        k.send.implicit_iv = send->implicit_iv;
    }
    if (recv) {
        k.recv.key = recv->key.clone();
        k.recv.implicit_iv = recv->implicit_iv;
    }
    k.send_packet_id = std::move(ids);
    return k;
}

// AES-256-GCM keys of `key_id` filled with `fill` (send) and `fill + 1` (receive), peer-id 3, a
// fresh send counter: one end of a link whose other end is mirror_keys() of it.
inline session::DataKeys fill_keys(std::uint8_t key_id, std::uint8_t fill) {
    session::DataKeys k;
    k.key_id = key_id;
    k.peer_id = 3;
    std::vector<std::uint8_t> a(32, fill), b(32, static_cast<std::uint8_t>(fill + 1));
    k.send.key = crypto::SecureBytes(std::span<const std::uint8_t>(a));
    k.recv.key = crypto::SecureBytes(std::span<const std::uint8_t>(b));
    k.send_packet_id = std::make_shared<std::atomic<std::uint32_t>>(0);
    return k;
}

// The peer's view of the same keys (send and receive swapped, its own send counter).
inline session::DataKeys mirror_keys(const session::DataKeys& k) {
    session::DataKeys m = k.clone();
    std::swap(m.send, m.recv);
    m.send_packet_id = std::make_shared<std::atomic<std::uint32_t>>(0);
    return m;
}

}  // namespace wirebridge::test
