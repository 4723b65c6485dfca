// Fuzz target: MSS clamping of arbitrary frames (Ethernet, 802.1Q, IPv4/IPv6, TCP options).
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "proto/mss_clamp.hpp"

using namespace wirebridge::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    // The first two bytes pick the limit; the rest is the frame.
    const auto limit = static_cast<std::uint16_t>((data[0] << 8) | data[1]);
    const std::vector<uint8_t> orig(data + 2, data + size);
    std::vector<uint8_t> f = orig;
    const MssResult r = clamp_mss(f, limit);
    std::size_t changed = 0;
    for (std::size_t i = 0; i < f.size(); ++i) changed += f[i] != orig[i];
    // Untouched means untouched; a clamp rewrites the MSS value and the checksum, nothing else.
    if (r == MssResult::untouched && changed != 0) std::abort();
    if (changed > 4) std::abort();
    // Clamping twice changes nothing more.
    const std::vector<uint8_t> once = f;
    if (clamp_mss(f, limit) != MssResult::untouched || f != once) std::abort();
    return 0;
}
