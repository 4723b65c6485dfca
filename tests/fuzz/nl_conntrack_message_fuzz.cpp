// Fuzz target: a ctnetlink message from the kernel (event or dump entry) is parsed safely.
#include <cstddef>
#include <cstdint>
#include <span>

#include "nl/conntrack.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    (void)wirebridge::nl::parse_conntrack_message(std::span<const uint8_t>(data, size));
    return 0;
}
