// Fuzz target: the OpenVPN static key file parser; anything it accepts must format and re-parse
// to the same key.
#include <cstdint>
#include <cstring>
#include <string_view>

#include "crypto/static_key.hpp"

using namespace wirebridge::crypto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto k = parse_static_key(text, "fuzz");
    if (!k) {
        if (k.error().message.empty()) __builtin_trap();
        return 0;
    }
    auto again = parse_static_key(format_static_key(*k), "formatted");
    if (!again || std::memcmp(again->bytes().data(), k->bytes().data(), kStaticKeySize) != 0) __builtin_trap();
    return 0;
}
