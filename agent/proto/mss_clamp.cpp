// MSS clamping of TCP SYNs inside Ethernet frames, and OpenVPN 2.6's formula for the limit.
#include "proto/mss_clamp.hpp"

#include <algorithm>

namespace wirebridge::proto {

namespace {

constexpr std::size_t kEthHeader = 14;
constexpr std::size_t kVlanTag = 4;
constexpr std::uint16_t kEthIpv4 = 0x0800;
constexpr std::uint16_t kEthIpv6 = 0x86dd;
constexpr std::uint16_t kEth8021q = 0x8100;
constexpr std::uint8_t kIpProtoTcp = 6;
constexpr std::size_t kTcpHeader = 20;
constexpr std::uint8_t kTcpSyn = 0x02;
constexpr std::uint8_t kOptEnd = 0, kOptNop = 1, kOptMss = 2, kOptMssLen = 4;
// OpenVPN's TAP_MTU_EXTRA_DEFAULT: what it counts for the Ethernet header of a TAP frame.
constexpr std::size_t kTapExtra = 32;
constexpr std::size_t kIpTcpHeaders = 20 + 20;
constexpr std::uint16_t kLowestLimit = 64;

std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
void put16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
std::uint16_t swap16(std::uint16_t v) { return static_cast<std::uint16_t>((v << 8) | (v >> 8)); }

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), one's complement arithmetic.
std::uint16_t csum_replace(std::uint16_t hc, std::uint16_t m, std::uint16_t m_new) {
    std::uint32_t s = static_cast<std::uint16_t>(~hc);
    s += static_cast<std::uint16_t>(~m);
    s += m_new;
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return static_cast<std::uint16_t>(~s);
}

// tcp: the TCP segment (header + payload) as the IP header bounds it.
MssResult clamp_tcp(std::span<std::uint8_t> tcp, std::uint16_t limit) {
    if (tcp.size() < kTcpHeader || !(tcp[13] & kTcpSyn)) return MssResult::untouched;
    const std::size_t hlen = static_cast<std::size_t>(tcp[12] >> 4) * 4;
    if (hlen <= kTcpHeader || hlen > tcp.size()) return MssResult::untouched;
    std::size_t i = kTcpHeader;
    while (i + 1 < hlen) {
        const std::uint8_t kind = tcp[i];
        if (kind == kOptEnd) break;
        if (kind == kOptNop) {
            ++i;
            continue;
        }
        const std::size_t len = tcp[i + 1];
        if (len < 2 || i + len > hlen) break;
        if (kind == kOptMss && len == kOptMssLen) {
            const std::uint16_t mss = get16(&tcp[i + 2]);
            if (mss <= limit) return MssResult::untouched;
            put16(&tcp[i + 2], limit);
            // The checksum sums 16-bit words from the segment's start: a value at an odd offset
            // straddles two words and counts byte-swapped.
            const bool odd = ((i + 2) & 1) != 0;
            const std::uint16_t hc = get16(&tcp[16]);
            put16(&tcp[16], odd ? csum_replace(hc, swap16(mss), swap16(limit)) : csum_replace(hc, mss, limit));
            return MssResult::clamped;
        }
        i += len;
    }
    return MssResult::untouched;
}

}  // namespace

std::uint16_t mss_limit(const MssFix& cfg, const TunnelOverhead& t) {
    if (cfg.mode == MssFix::Mode::off || cfg.size == 0) return 0;
    if (cfg.mode == MssFix::Mode::fixed)
        return static_cast<std::uint16_t>(std::max<int>(kLowestLimit, int{cfg.size} - int{kIpTcpHeaders}));
    const bool cbc = t.hmac_size != 0 || t.cbc_block != 0;
    std::size_t header = (t.tcp ? 2 : 0) + (t.data_v2 ? 4 : 1);
    if (cbc) header += t.cbc_block + t.hmac_size;  // IV + HMAC; the packet-id is encrypted
    else header += 4 + 16;                         // packet-id + tag
    if (cfg.mode == MssFix::Mode::mtu) header += (t.tcp ? 20 : 8) + (t.ipv6 ? 40 : 20);
    const std::size_t payload_overhead = kTapExtra + t.framing + (cbc ? 4 : 0) + kIpTcpHeaders;
    int target = int{cfg.size} - static_cast<int>(header);
    // CBC: the ciphertext is whole blocks and padding takes at least one byte.
    if (cbc && t.cbc_block > 0) target = target / static_cast<int>(t.cbc_block) * static_cast<int>(t.cbc_block) - 1;
    return static_cast<std::uint16_t>(std::max<int>(kLowestLimit, target - static_cast<int>(payload_overhead)));
}

MssResult clamp_mss(std::span<std::uint8_t> frame, std::uint16_t limit) {
    if (limit == 0 || frame.size() < kEthHeader) return MssResult::untouched;
    std::size_t l3 = kEthHeader;
    std::uint16_t type = get16(&frame[12]);
    if (type == kEth8021q) {
        if (frame.size() < kEthHeader + kVlanTag) return MssResult::untouched;
        type = get16(&frame[16]);
        l3 += kVlanTag;
    }
    std::span<std::uint8_t> ip = frame.subspan(l3);
    if (type == kEthIpv4) {
        if (ip.size() < 20 || (ip[0] >> 4) != 4) return MssResult::untouched;
        const std::size_t ihl = static_cast<std::size_t>(ip[0] & 0x0f) * 4;
        const std::size_t total = get16(&ip[2]);
        // Whole, unfragmented packets only (a later fragment's bytes are not a TCP header). The
        // frame may be longer than the packet (Ethernet pads to 60 bytes).
        if (ip[9] != kIpProtoTcp || ihl < 20 || total < ihl || total > ip.size() || (get16(&ip[6]) & 0x1fff) != 0)
            return MssResult::untouched;
        return clamp_tcp(ip.subspan(ihl, total - ihl), limit);
    }
    if (type == kEthIpv6) {
        // Only TCP right after the fixed header, as OpenVPN (extension headers are rare in tunnels).
        if (ip.size() < 40 || (ip[0] >> 4) != 6 || ip[6] != kIpProtoTcp) return MssResult::untouched;
        const std::size_t payload = get16(&ip[4]);
        if (payload > ip.size() - 40 || limit <= 20) return MssResult::untouched;
        return clamp_tcp(ip.subspan(40, payload), static_cast<std::uint16_t>(limit - 20));
    }
    return MssResult::untouched;
}

}  // namespace wirebridge::proto
