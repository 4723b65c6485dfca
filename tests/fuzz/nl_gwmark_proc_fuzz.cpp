// Fuzz target: the /proc/net/gwmark stats and flows parsers never crash or overread.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nl/gwmark_proc.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)wirebridge::nl::parse_gwmark_stats(text);
    (void)wirebridge::nl::parse_gwmark_flows(text);
    return 0;
}
