// ReplayId: the 8-byte packet-id of wrapped control packets (tls-auth, tls-crypt), and unwrap results.
//
// On the wire: counter (32, BE) || timestamp (32, BE). OpenVPN starts the counter at 1 and sets the
// timestamp once per sender (it changes only when the counter wraps). The replay window itself
// (64 packets / 15 s) belongs to the caller (proto), which sees the ReplayId after unwrap.
// Wrap/unwrap outputs may be the very same buffer as their input (same start) or a disjoint one.
#pragma once

#include <cstddef>
#include <cstdint>

namespace wirebridge::crypto {

inline constexpr std::size_t kReplayIdSize = 8;
inline constexpr std::size_t kSessionIdSize = 8;
// op|kid (1) + own session id (8): the part of a control packet that stays in front of the wrap.
inline constexpr std::size_t kControlPrefixSize = 1 + kSessionIdSize;

struct ReplayId {
    uint32_t counter = 0;
    uint32_t timestamp = 0;
    bool operator==(const ReplayId&) const = default;
};

inline void put_replay_id(uint8_t* p, ReplayId id) {
    for (int i = 0; i < 4; ++i) {
        p[i] = static_cast<uint8_t>(id.counter >> (24 - 8 * i));
        p[4 + i] = static_cast<uint8_t>(id.timestamp >> (24 - 8 * i));
    }
}

inline ReplayId get_replay_id(const uint8_t* p) {
    ReplayId id;
    for (int i = 0; i < 4; ++i) {
        id.counter = id.counter << 8 | p[i];
        id.timestamp = id.timestamp << 8 | p[4 + i];
    }
    return id;
}

// Result of unwrapping a control packet: the plain packet (op|sid|rest) is out[0..length).
struct Unwrapped {
    ReplayId replay_id;
    std::size_t length = 0;
};

}  // namespace wirebridge::crypto
