// FlowTuple and TrafficSelector: a queued packet's 5-tuple, read from its IP header, and the
// interest selectors it is matched against (the same selectors become iptables matches).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "common/result.hpp"
#include "nl/rtnetlink.hpp"

namespace wirebridge::nl {

// Layer-4 protocol numbers the selectors know.
enum class L4Proto : uint8_t { any = 0, icmp = 1, tcp = 6, udp = 17, icmpv6 = 58 };

const char* to_string(L4Proto p);
// "tcp", "udp", "icmp", "icmpv6"; nullopt for anything else.
std::optional<L4Proto> l4proto_from_string(const std::string& name);

struct FlowTuple {
    int family = 0;  // AF_INET or AF_INET6
    uint8_t src[16] = {};
    uint8_t dst[16] = {};
    uint8_t proto = 0;  // IPPROTO_*
    uint16_t sport = 0, dport = 0;  // host order; 0 unless TCP or UDP

    std::string to_string() const;  // "tcp 192.0.2.10:40000 -> 10.20.0.5:80"
};

// Reads the tuple of an IPv4 or IPv6 packet that starts at its network header (what NFQUEUE
// hands over). IPv6 extension headers are walked (hop-by-hop, routing, destination options,
// fragment); ports are only read from the first fragment. Every length is checked first.
Result<FlowTuple> parse_flow_tuple(std::span<const uint8_t> packet);

// One selector: every field that is set must match. The family follows from the prefixes (or
// from icmp/icmpv6); family 0 selects both.
struct TrafficSelector {
    std::optional<IfAddress> src, dst;
    L4Proto proto = L4Proto::any;
    std::optional<uint16_t> sport, dport;

    int family() const;
    bool applies_to(int family) const { return this->family() == 0 || this->family() == family; }
    bool matches(const FlowTuple& t) const;
    std::string to_string() const;  // for logs: "dst 10.20.0.0/16 tcp dport 22"
    bool operator==(const TrafficSelector&) const = default;
};

// Whether addr (family's length) lies inside prefix.
bool prefix_contains(const IfAddress& prefix, int family, const uint8_t* addr);

}  // namespace wirebridge::nl
