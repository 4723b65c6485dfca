// Tests of MSS clamping: SYNs built byte by byte (IPv4, IPv6, 802.1Q, odd option offsets), the
// checksum after clamping compared with one summed from scratch, frames left alone, every
// truncation, and the limit OpenVPN 2.6 computes for each tunnel set-up.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "proto/mss_clamp.hpp"

using namespace wirebridge::proto;
using Bytes = std::vector<std::uint8_t>;

namespace {

void put16(Bytes& b, std::size_t at, std::uint16_t v) {
    b[at] = static_cast<std::uint8_t>(v >> 8);
    b[at + 1] = static_cast<std::uint8_t>(v);
}
std::uint16_t get16(const Bytes& b, std::size_t at) { return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]); }

std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t s = 0) {
    for (std::size_t i = 0; i + 1 < n; i += 2) s += static_cast<std::uint32_t>((p[i] << 8) | p[i + 1]);
    if (n & 1) s += static_cast<std::uint32_t>(p[n - 1] << 8);
    return s;
}
std::uint16_t fold(std::uint32_t s) {
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<std::uint16_t>(~s);
}

struct Syn {
    bool ipv6 = false;
    bool vlan = false;
    std::uint8_t flags = 0x02;            // SYN
    Bytes options = {2, 4, 0x05, 0xb4};   // MSS 1460
    std::size_t pad = 0;                  // Ethernet padding after the packet
    std::uint16_t frag = 0;               // IPv4 flags + fragment offset
};

// TCP checksum over the pseudo-header and segment, as a receiver checks it.
std::uint16_t tcp_checksum(const Bytes& f, bool ipv6, std::size_t l3) {
    std::uint32_t s = 0;
    std::size_t l4 = 0, len = 0;
    if (ipv6) {
        s = sum16(&f[l3 + 8], 32);
        len = get16(f, l3 + 4);
        l4 = l3 + 40;
    } else {
        s = sum16(&f[l3 + 12], 8);
        len = get16(f, l3 + 2) - 20u;
        l4 = l3 + 20;
    }
    s += 6 + static_cast<std::uint32_t>(len);
    Bytes seg(f.begin() + static_cast<long>(l4), f.begin() + static_cast<long>(l4 + len));
    seg[16] = seg[17] = 0;
    return fold(sum16(seg.data(), seg.size(), s));
}

Bytes build(const Syn& s) {
    Bytes f = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2};
    if (s.vlan) f.insert(f.end(), {0x81, 0x00, 0x00, 0x0a});
    const std::size_t l3 = f.size() + 2;
    f.insert(f.end(), {static_cast<std::uint8_t>(s.ipv6 ? 0x86 : 0x08), static_cast<std::uint8_t>(s.ipv6 ? 0xdd : 0x00)});
    const std::size_t tcp_len = 20 + s.options.size();
    if (s.ipv6) {
        f.resize(f.size() + 40, 0);
        f[l3] = 0x60;
        put16(f, l3 + 4, static_cast<std::uint16_t>(tcp_len));
        f[l3 + 6] = 6;
        f[l3 + 7] = 64;
        for (std::size_t i = 0; i < 32; ++i) f[l3 + 8 + i] = static_cast<std::uint8_t>(0x20 + i * 3);
    } else {
        f.resize(f.size() + 20, 0);
        f[l3] = 0x45;
        put16(f, l3 + 2, static_cast<std::uint16_t>(20 + tcp_len));
        put16(f, l3 + 6, s.frag);
        f[l3 + 8] = 64;
        f[l3 + 9] = 6;
        for (std::size_t i = 0; i < 8; ++i) f[l3 + 12 + i] = static_cast<std::uint8_t>(10 + i * 17);
    }
    const std::size_t l4 = f.size();
    f.resize(f.size() + 20, 0);
    put16(f, l4, 40000);
    put16(f, l4 + 2, 443);
    put16(f, l4 + 4, 0x1234);
    put16(f, l4 + 6, 0x5678);
    f[l4 + 12] = static_cast<std::uint8_t>((tcp_len / 4) << 4);
    f[l4 + 13] = s.flags;
    put16(f, l4 + 14, 64240);
    f.insert(f.end(), s.options.begin(), s.options.end());
    put16(f, l4 + 16, tcp_checksum(f, s.ipv6, l3));
    f.resize(f.size() + s.pad, 0);
    return f;
}

std::size_t l3_of(const Syn& s) { return s.vlan ? 18 : 14; }
std::size_t l4_of(const Syn& s) { return l3_of(s) + (s.ipv6 ? 40 : 20); }

}  // namespace

TEST(MssClamp, Ipv4SynClampedWithValidChecksum) {
    Syn s;
    Bytes f = build(s);
    EXPECT_EQ(clamp_mss(f, 1368), MssResult::clamped);
    EXPECT_EQ(get16(f, l4_of(s) + 22), 1368);
    EXPECT_EQ(get16(f, l4_of(s) + 16), tcp_checksum(f, false, l3_of(s)));
}

TEST(MssClamp, SynAckIpv6AndVlan) {
    Syn s;
    s.ipv6 = true;
    s.vlan = true;
    s.flags = 0x12;  // SYN-ACK
    Bytes f = build(s);
    EXPECT_EQ(clamp_mss(f, 1368), MssResult::clamped);
    EXPECT_EQ(get16(f, l4_of(s) + 22), 1348);  // IPv6: 20 less
    EXPECT_EQ(get16(f, l4_of(s) + 16), tcp_checksum(f, true, l3_of(s)));
}

TEST(MssClamp, OptionAtOddOffsetAmongOthers) {
    // NOP, then MSS at offset 21 of the TCP header (its value straddles two checksum words),
    // then SACK permitted, window scale and padding.
    Syn s;
    s.options = {1, 2, 4, 0x23, 0x28, 4, 2, 3, 3, 7, 0, 0};  // MSS 9000
    for (bool v6 : {false, true}) {
        s.ipv6 = v6;
        Bytes f = build(s);
        EXPECT_EQ(clamp_mss(f, 1368), MssResult::clamped);
        EXPECT_EQ(get16(f, l4_of(s) + 23), v6 ? 1348 : 1368);
        EXPECT_EQ(get16(f, l4_of(s) + 16), tcp_checksum(f, v6, l3_of(s)));
    }
}

TEST(MssClamp, EthernetPaddingAfterThePacket) {
    Syn s;
    s.pad = 6;
    Bytes f = build(s);
    EXPECT_EQ(clamp_mss(f, 1200), MssResult::clamped);
    EXPECT_EQ(get16(f, l4_of(s) + 22), 1200);
    EXPECT_EQ(get16(f, l4_of(s) + 16), tcp_checksum(f, false, l3_of(s)));
}

TEST(MssClamp, LeavesOtherFramesAlone) {
    std::vector<Syn> cases(6);
    cases[0].options = {2, 4, 0x05, 0x00};          // MSS 1280, below the limit
    cases[1].flags = 0x10;                          // a plain ACK
    cases[2].frag = 0x0010;                         // a later IPv4 fragment
    cases[3].options = {1, 1, 1, 1};                // SYN without MSS
    cases[4].options = {2, 3, 0x05, 0xb4};          // MSS with a wrong length
    cases[5].options = {0, 2, 4, 0x05, 0xb4, 0, 0, 0};  // after the end-of-options marker
    for (const Syn& s : cases) {
        const Bytes orig = build(s);
        Bytes f = orig;
        EXPECT_EQ(clamp_mss(f, 1368), MssResult::untouched);
        EXPECT_EQ(f, orig);
    }
    Syn s;
    Bytes f = build(s);
    const Bytes orig = f;
    EXPECT_EQ(clamp_mss(f, 0), MssResult::untouched);  // mssfix 0
    f[l3_of(s) + 9] = 17;                               // UDP
    EXPECT_EQ(clamp_mss(f, 1368), MssResult::untouched);
    Bytes arp = orig;
    arp[12] = 0x08;
    arp[13] = 0x06;
    EXPECT_EQ(clamp_mss(arp, 1368), MssResult::untouched);
}

TEST(MssClamp, EveryTruncationIsSafe) {
    for (bool v6 : {false, true})
        for (bool vlan : {false, true}) {
            Syn s;
            s.ipv6 = v6;
            s.vlan = vlan;
            const Bytes full = build(s);
            for (std::size_t n = 0; n < full.size(); ++n) {
                Bytes f(full.begin(), full.begin() + static_cast<long>(n));
                const Bytes orig = f;
                // Shorter than the IP header says: never a whole packet, never touched.
                EXPECT_EQ(clamp_mss(f, 1000), MssResult::untouched) << n;
                EXPECT_EQ(f, orig);
            }
        }
}

TEST(MssClamp, LimitAsOpenVpn26) {
    const MssFix def;  // mssfix 1492 mtu
    TunnelOverhead gcm;
    EXPECT_EQ(mss_limit(def, gcm), 1368);  // what openvpn 2.6 logs for TAP (mss_fix:1368)
    TunnelOverhead v6 = gcm;
    v6.ipv6 = true;
    EXPECT_EQ(mss_limit(def, v6), 1348);
    TunnelOverhead tcp = gcm;
    tcp.tcp = true;
    EXPECT_EQ(mss_limit(def, tcp), 1354);
    TunnelOverhead v1 = gcm;
    v1.data_v2 = false;
    v1.framing = 1;
    EXPECT_EQ(mss_limit(def, v1), 1370);
    // AES-256-CBC + SHA256: 32-byte HMAC, 16-byte IV, the packet-id inside, padding to 16.
    TunnelOverhead cbc;
    cbc.hmac_size = 32;
    cbc.cbc_block = 16;
    EXPECT_EQ(mss_limit(def, cbc), 1331);
    cbc.hmac_size = 20;  // SHA1
    EXPECT_EQ(mss_limit(def, cbc), 1347);
    EXPECT_EQ(mss_limit({MssFix::Mode::payload, 1450}, gcm), 1354);
    EXPECT_EQ(mss_limit({MssFix::Mode::fixed, 1400}, gcm), 1360);
    EXPECT_EQ(mss_limit({MssFix::Mode::off, 1492}, gcm), 0);
}

TEST(MssClamp, ClampedSegmentFitsA1500Path) {
    // The point of it all: a full segment at the limit, in the tunnel, is one 1500-byte packet.
    TunnelOverhead gcm;
    const std::size_t frame = mss_limit({}, gcm) + 40u + 14u;  // TCP/IP + Ethernet headers
    const std::size_t outer = frame + 4 + 4 + 16 + 8 + 20;     // DATA_V2, packet-id, tag, UDP, IPv4
    EXPECT_LE(outer, 1500u);
}
