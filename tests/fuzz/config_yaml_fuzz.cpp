// Fuzz target: the config parser must refuse any bytes with errors, never crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    wirebridge::config::LoadOptions options;
    options.check_system = false;
    const auto r = wirebridge::config::parse_config(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yaml", options);
    // Either a config or at least one error, never both or neither.
    if (r.config.has_value() == !r.errors.empty()) __builtin_trap();
    return 0;
}
