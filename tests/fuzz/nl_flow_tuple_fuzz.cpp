// Fuzz target: a queued packet's IP header parser never crashes or overreads, and a selector
// match on whatever it returns is safe.
#include <cstddef>
#include <cstdint>
#include <span>

#include "nl/flow_tuple.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto t = wirebridge::nl::parse_flow_tuple(std::span<const uint8_t>(data, size));
    if (t) {
        wirebridge::nl::TrafficSelector s;
        s.dst = *wirebridge::nl::IfAddress::parse(t->family == 2 ? "10.0.0.0/9" : "2001:db8::/33");
        s.proto = wirebridge::nl::L4Proto::tcp;
        (void)s.matches(*t);
        (void)t->to_string();
    }
    return 0;
}
