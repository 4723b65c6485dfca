// DataChannel: one peer's established data keys (by key_id) sealing frames into DATA_V2 and opening them.
//
//   sent packet, DATA_V2 (OpenVPN 2.6 AEAD format):
//   | op<<3|kid | peer-id (24) | packet-id (32) | tag (16) | ciphertext of the Ethernet frame |
//   |<-------------------- kHeadroom = 24 bytes ------------------->|
//
// The caller reads a frame from the TAP straight into buf[kHeadroom..] and seals in place, so a
// frame is never copied and nothing is allocated per packet. Receiving is the reverse: open()
// authenticates and decrypts in place, then the replay window (proto) decides.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "common/result.hpp"
#include "crypto/aead.hpp"
#include "proto/constants.hpp"
#include "proto/replay_window.hpp"

namespace wirebridge::datapath {

inline constexpr std::size_t kHeadroom = crypto::kDataV2HeaderSize + crypto::kAeadOverhead;

// What the session exported for one key_id (session::DataKeys carries the same fields).
struct KeyInstall {
    std::uint8_t key_id = 0;
    crypto::AeadCipher cipher = crypto::AeadCipher::Aes256Gcm;
    std::uint32_t peer_id = proto::kUndefinedPeerId;
    bool data_v2 = true;
    const crypto::AeadKeys* send = nullptr;
    const crypto::AeadKeys* recv = nullptr;
    // Shared with the session (it sends pings/OCC with the same key): next id = fetch_add(1) + 1.
    std::shared_ptr<std::atomic<std::uint32_t>> send_packet_id;
};

// Why a packet did not become a payload; indexes DataChannel::Counters::drops.
enum class DataDrop : std::uint8_t { none = 0, truncated, no_key, auth_failed, replay, packet_id_wrap, count_ };
const char* data_drop_name(DataDrop d);

class DataChannel {
public:
    struct Counters {
        std::uint64_t packets_out = 0, bytes_out = 0, packets_in = 0, bytes_in = 0;
        std::array<std::uint64_t, static_cast<std::size_t>(DataDrop::count_)> drops{};
    };

    Result<void> install(const KeyInstall& k);
    void set_primary(std::uint8_t key_id);
    void retire(std::uint8_t key_id);
    void clear();
    bool ready() const { return primary_ >= 0; }
    std::optional<std::uint8_t> primary() const;

    // buf holds the payload at [kHeadroom, kHeadroom + payload_len); returns the packet length
    // (the packet starts at buf[0]) or 0 when there is no key or the payload does not fit.
    std::size_t seal(std::span<std::uint8_t> buf, std::size_t payload_len);

    // packet: a whole DATA_V1/V2 packet. On DataDrop::none, payload points inside it.
    DataDrop open(std::span<std::uint8_t> packet, std::int64_t now_sec, std::span<std::uint8_t>& payload);

    const Counters& counters() const { return counters_; }

private:
    struct Slot {
        bool used = false;
        std::uint8_t header[crypto::kDataV2HeaderSize] = {};
        std::size_t header_len = crypto::kDataV2HeaderSize;
        std::optional<crypto::AeadEncryptor> enc;
        std::optional<crypto::AeadDecryptor> dec;
        std::unique_ptr<proto::ReplayWindow> replay;  // 8 KB: allocated once per key, not per packet
        std::shared_ptr<std::atomic<std::uint32_t>> send_id;
    };
    std::array<Slot, proto::kKeyIdCount> slots_;
    int primary_ = -1;
    Counters counters_;
};

}  // namespace wirebridge::datapath
