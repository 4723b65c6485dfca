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

// An ARP request for 10.<net>.0.1 (a test TAP's address) from 10.<net>.0.<host>, MAC
// 02:00:00:00:<tag>:<host>: the frame the worker tests send into a TAP to get a reply back.
inline std::vector<std::uint8_t> arp_request(std::uint8_t net, std::uint8_t tag, std::uint8_t host) {
    return {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, tag, host, 0x08, 0x06,
            0, 1, 0x08, 0, 6, 4, 0, 1, 0x02, 0, 0, 0, tag, host, 10, net, 0, host,
            0, 0, 0, 0, 0, 0, 10, net, 0, 1};
}
// The host an ARP reply answers (0 if the frame is not an ARP reply).
inline std::uint8_t arp_reply_to(std::span<const std::uint8_t> f) {
    if (f.size() < 42 || f[12] != 0x08 || f[13] != 0x06 || f[21] != 2) return 0;
    return f[41];
}

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
