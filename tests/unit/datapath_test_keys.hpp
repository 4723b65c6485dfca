// Test helper: session::DataKeys (the data path's key input) from key material a test holds.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

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

}  // namespace wirebridge::test
