// Control channel packet codec (plain layout; tls-auth / tls-crypt wrap it, see constants.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "proto/bytes.hpp"
#include "proto/constants.hpp"

namespace wirebridge::proto {

// A 64-bit session id, random per session and per side; compared as bytes.
struct SessionId {
    std::array<uint8_t, kSessionIdLen> bytes{};

    bool is_zero() const {
        for (uint8_t b : bytes)
            if (b) return false;
        return true;
    }
    friend bool operator==(const SessionId&, const SessionId&) = default;
};

// Individual acks carried by one control packet.
struct AckList {
    std::array<uint32_t, kMaxAcksParsed> ids{};
    uint8_t count = 0;

    bool push(uint32_t id) {
        if (count >= ids.size()) return false;
        ids[count++] = id;
        return true;
    }
};

// A decoded control packet. `payload` points into the buffer that was parsed.
struct ControlPacket {
    Opcode opcode = Opcode::control_v1;
    uint8_t key_id = 0;
    SessionId own_sid;    // sender's session id
    AckList acks;
    SessionId peer_sid;   // receiver's session id as the sender knows it (only if acks.count > 0)
    uint32_t message_id = 0;  // not present for ACK_V1
    ByteSpan payload;

    bool has_message_id() const { return opcode != Opcode::ack_v1; }
};

// Parses the plain layout. Returns Drop::none on success.
Drop parse_control_packet(ByteSpan in, ControlPacket& out);

// Encodes the plain layout into `out`; returns the length written, or 0 if `out` is too small
// or the packet is invalid (too many acks for its opcode).
size_t encode_control_packet(const ControlPacket& pkt, MutByteSpan out);

// Bytes the plain encoding of a control packet takes besides its payload.
inline constexpr size_t control_overhead(size_t n_acks, bool with_message_id) {
    return kWrapPrefixLen + 1 + n_acks * kAckIdLen + (n_acks ? kSessionIdLen : 0) +
           (with_message_id ? kMessageIdLen : 0);
}

}  // namespace wirebridge::proto
