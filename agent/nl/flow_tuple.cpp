// FlowTuple parsing from raw IP headers and selector matching (no syscalls).
#include "nl/flow_tuple.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace wirebridge::nl {

namespace {

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

// Ports sit at the same offset for TCP and UDP; other protocols have none.
void read_ports(FlowTuple& t, std::span<const uint8_t> l4) {
    if ((t.proto == IPPROTO_TCP || t.proto == IPPROTO_UDP) && l4.size() >= 4) {
        t.sport = be16(l4.data());
        t.dport = be16(l4.data() + 2);
    }
}

Result<FlowTuple> parse_v4(std::span<const uint8_t> p) {
    if (p.size() < 20) return fail("IPv4 packet shorter than its header");
    const size_t ihl = static_cast<size_t>(p[0] & 0x0f) * 4;
    if (ihl < 20 || ihl > p.size()) return fail("IPv4 header length out of range");
    FlowTuple t;
    t.family = AF_INET;
    t.proto = p[9];
    std::memcpy(t.src, p.data() + 12, 4);
    std::memcpy(t.dst, p.data() + 16, 4);
    const uint16_t frag = be16(p.data() + 6);
    if ((frag & 0x1fff) == 0) read_ports(t, p.subspan(ihl));
    return t;
}

Result<FlowTuple> parse_v6(std::span<const uint8_t> p) {
    if (p.size() < 40) return fail("IPv6 packet shorter than its header");
    FlowTuple t;
    t.family = AF_INET6;
    std::memcpy(t.src, p.data() + 8, 16);
    std::memcpy(t.dst, p.data() + 24, 16);
    uint8_t next = p[6];
    size_t off = 40;
    bool first_fragment = true;
    // Bounded: each step advances by at least 8 bytes, and at most 8 headers are walked.
    for (int hops = 0; hops < 8; ++hops) {
        if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS) {
            if (off + 2 > p.size()) return fail("IPv6 extension header truncated");
            const uint8_t n = p[off];
            off += (static_cast<size_t>(p[off + 1]) + 1) * 8;
            next = n;
        } else if (next == IPPROTO_FRAGMENT) {
            if (off + 8 > p.size()) return fail("IPv6 fragment header truncated");
            first_fragment = (be16(p.data() + off + 2) & 0xfff8) == 0;
            next = p[off];
            off += 8;
        } else {
            break;
        }
    }
    t.proto = next;
    if (first_fragment && off <= p.size()) read_ports(t, p.subspan(off));
    return t;
}

size_t addr_len(int family) { return family == AF_INET ? 4 : 16; }

}  // namespace

const char* to_string(L4Proto p) {
    switch (p) {
    case L4Proto::icmp: return "icmp";
    case L4Proto::tcp: return "tcp";
    case L4Proto::udp: return "udp";
    case L4Proto::icmpv6: return "icmpv6";
    case L4Proto::any: break;
    }
    return "any";
}

std::optional<L4Proto> l4proto_from_string(const std::string& name) {
    if (name == "tcp") return L4Proto::tcp;
    if (name == "udp") return L4Proto::udp;
    if (name == "icmp") return L4Proto::icmp;
    if (name == "icmpv6") return L4Proto::icmpv6;
    return std::nullopt;
}

Result<FlowTuple> parse_flow_tuple(std::span<const uint8_t> packet) {
    if (packet.empty()) return fail("empty packet");
    switch (packet[0] >> 4) {
    case 4: return parse_v4(packet);
    case 6: return parse_v6(packet);
    default: return fail("not an IPv4 or IPv6 packet");
    }
}

std::string FlowTuple::to_string() const {
    char s[INET6_ADDRSTRLEN] = {}, d[INET6_ADDRSTRLEN] = {};
    inet_ntop(family, src, s, sizeof(s));
    inet_ntop(family, dst, d, sizeof(d));
    const bool ports = proto == IPPROTO_TCP || proto == IPPROTO_UDP;
    auto ep = [&](const char* a, uint16_t port) {
        std::string out = family == AF_INET6 && ports ? "[" + std::string(a) + "]" : std::string(a);
        return ports ? out + ":" + std::to_string(port) : out;
    };
    const char* name = nl::to_string(static_cast<L4Proto>(proto));
    std::string p = std::string(name) == "any" ? "proto " + std::to_string(proto) : name;
    return p + " " + ep(s, sport) + " -> " + ep(d, dport);
}

bool prefix_contains(const IfAddress& prefix, int family, const uint8_t* addr) {
    if (prefix.family != family) return false;
    const unsigned bits = prefix.prefix_len;
    const unsigned whole = bits / 8;
    if (whole > addr_len(family)) return false;
    if (std::memcmp(prefix.bytes, addr, whole) != 0) return false;
    const unsigned rest = bits % 8;
    if (rest == 0) return true;
    const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
    return (prefix.bytes[whole] & mask) == (addr[whole] & mask);
}

int TrafficSelector::family() const {
    if (src) return src->family;
    if (dst) return dst->family;
    if (proto == L4Proto::icmp) return AF_INET;
    if (proto == L4Proto::icmpv6) return AF_INET6;
    return 0;
}

bool TrafficSelector::matches(const FlowTuple& t) const {
    if (!applies_to(t.family)) return false;
    if (src && !prefix_contains(*src, t.family, t.src)) return false;
    if (dst && !prefix_contains(*dst, t.family, t.dst)) return false;
    if (proto != L4Proto::any && static_cast<uint8_t>(proto) != t.proto) return false;
    if (sport && *sport != t.sport) return false;
    if (dport && *dport != t.dport) return false;
    return true;
}

std::string TrafficSelector::to_string() const {
    std::string out;
    auto add = [&out](const std::string& s) { out += (out.empty() ? "" : " ") + s; };
    if (src) add("src " + src->to_string());
    if (dst) add("dst " + dst->to_string());
    if (proto != L4Proto::any) add(nl::to_string(proto));
    if (sport) add("sport " + std::to_string(*sport));
    if (dport) add("dport " + std::to_string(*dport));
    return out.empty() ? "any" : out;
}

}  // namespace wirebridge::nl
