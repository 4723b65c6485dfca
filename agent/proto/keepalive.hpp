// Recognition of the data-channel payloads that are not user frames: ping and OCC.
#pragma once

#include <algorithm>
#include <optional>

#include "proto/bytes.hpp"
#include "proto/constants.hpp"

namespace wirebridge::proto {

inline bool is_ping(ByteSpan payload) {
    return payload.size() == kPingMagic.size() &&
           std::equal(kPingMagic.begin(), kPingMagic.end(), payload.begin());
}

// The OCC opcode if `payload` is an OCC message (magic + opcode byte [+ data]).
inline std::optional<OccOp> occ_opcode(ByteSpan payload) {
    if (payload.size() < kOccMagic.size() + 1) return std::nullopt;
    if (!std::equal(kOccMagic.begin(), kOccMagic.end(), payload.begin())) return std::nullopt;
    return static_cast<OccOp>(payload[kOccMagic.size()]);
}

inline bool is_occ(ByteSpan payload) { return occ_opcode(payload).has_value(); }

}  // namespace wirebridge::proto
