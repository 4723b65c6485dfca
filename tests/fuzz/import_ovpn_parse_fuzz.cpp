// Fuzz target: `wirebridge import`'s OpenVPN config parser and converter (any bytes as a .ovpn).
#include <cstdint>
#include <string_view>

#include "import/ovpn_file.hpp"
#include "import/ovpn_import.hpp"

using namespace wirebridge::import;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto f = parse_ovpn(text);
    if (!f) return 0;
    ImportOptions o;
    o.source_dir = "/etc/openvpn";
    o.out_dir = "/etc/wirebridge";
    o.stem = "fuzz";
    o.site = "fuzz";
    const ImportResult r = convert_ovpn(*f, o);
    // Nothing written is refused, and a usable result has YAML.
    if (r.ok() && r.yaml.empty()) __builtin_trap();
    if (!r.ok() && !r.yaml.empty()) __builtin_trap();
    return 0;
}
