// Fuzz target: the decoders of rtnetlink answers (links, addresses, policy rules, routes), fed a
// whole reply buffer as one recv() returns it; the first byte picks the decoder and its filter.
// Checked: no crash or sanitizer report, and what comes out is what the decoders promise
// (addresses IPv4 or IPv6, rules and routes of the asked family and table only).
#include <sys/socket.h>

#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "nl/rtnetlink.hpp"

using namespace wirebridge::nl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const uint8_t pick = data[0];
    // The reply, then the 3 bytes a last message's padding may take (libmnl reads up to it; a
    // recv() buffer always has that room): ASan sees any read past them.
    std::vector<uint8_t> buf(data + 1, data + size);
    buf.resize(size - 1 + 3);
    const std::span<const uint8_t> reply(buf.data(), size - 1);
    const int family = (pick & 4) ? AF_INET6 : AF_INET;
    switch (pick & 3) {
    case 0: {
        std::vector<LinkInfo> out;
        decode_links(reply, out);
        break;
    }
    case 1: {
        std::vector<IfAddress> out;
        decode_addresses(reply, pick >> 3, out);
        for (const auto& a : out)
            if (a.family != AF_INET && a.family != AF_INET6) std::abort();
        break;
    }
    case 2: {
        std::vector<PolicyRule> out;
        decode_rules(reply, family, out);
        for (const auto& r : out) {
            if (r.family != family) std::abort();
            (void)r.to_string();
        }
        break;
    }
    default: {
        std::vector<RouteInfo> out;
        const uint32_t table = 100 + (pick >> 3);
        decode_routes(reply, family, table, out);
        for (const auto& r : out)
            if (r.family != family || r.table != table) std::abort();
        break;
    }
    }
    return 0;
}
