// Tests of GsoSplitter: TCP super-frames (IPv4, IPv6, VLAN) cut into valid segments, partial checksums completed.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "io/gso_splitter.hpp"

using namespace wirebridge::io;

namespace {

using Bytes = std::vector<std::uint8_t>;

// The obvious RFC 1071 loop, to check the fast one against.
std::uint16_t naive_sum(const std::uint8_t* p, std::size_t n, std::uint32_t initial = 0) {
    std::uint64_t s = initial;
    for (std::size_t i = 0; i + 1 < n; i += 2) s += std::uint32_t{p[i]} << 8 | p[i + 1];
    if (n % 2) s += std::uint32_t{p[n - 1]} << 8;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<std::uint16_t>(s);
}

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t be32(const std::uint8_t* p) { return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3]; }

struct Frame {
    Bytes bytes;  // vnet header + frame
    std::size_t l3 = 0, l4 = 0, hdr = 0, payload = 0;
};

// A super-frame as the kernel hands it to a TSO TAP: IPv4 or IPv6 TCP, optional VLAN tag,
// TCP options (12 bytes of timestamps), payload 0, 1, 2 ... mod 251.
Frame make_super(bool v6, bool vlan, std::size_t payload, std::uint16_t mss, std::uint8_t tcp_flags) {
    Frame f;
    Bytes& b = f.bytes;
    b.assign(10, 0);
    b[0] = 1;                      // NEEDS_CSUM
    b[1] = v6 ? 4 : 1;             // TCPV6 / TCPV4
    b[4] = static_cast<std::uint8_t>(mss);
    b[5] = static_cast<std::uint8_t>(mss >> 8);
    const Bytes eth = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
    b.insert(b.end(), eth.begin(), eth.end());
    if (vlan) b.insert(b.end(), {0x81, 0x00, 0x00, 0x2a});
    b.insert(b.end(), {static_cast<std::uint8_t>(v6 ? 0x86 : 0x08), static_cast<std::uint8_t>(v6 ? 0xdd : 0x00)});
    f.l3 = b.size() - 10;
    const std::size_t tcp_len = 32 + payload;
    if (!v6) {
        const std::size_t tot = 20 + tcp_len;
        b.insert(b.end(), {0x45, 0, static_cast<std::uint8_t>(tot >> 8), static_cast<std::uint8_t>(tot), 0x12, 0x34, 0x40, 0, 64, 6, 0, 0,
                           10, 0, 0, 1, 10, 0, 0, 2});
    } else {
        b.insert(b.end(), {0x60, 0, 0, 0, static_cast<std::uint8_t>(tcp_len >> 8), static_cast<std::uint8_t>(tcp_len), 6, 64});
        for (int i = 0; i < 16; ++i) b.push_back(static_cast<std::uint8_t>(i == 0 ? 0xfd : i));
        for (int i = 0; i < 16; ++i) b.push_back(static_cast<std::uint8_t>(i == 0 ? 0xfd : 0x20 + i));
    }
    f.l4 = b.size() - 10;
    b.insert(b.end(), {0x30, 0x39, 0x1f, 0x90, 0xff, 0xff, 0xfe, 0x00, 0, 0, 0, 7, 0x80, tcp_flags, 0x01, 0xf5, 0, 0, 0, 0});
    b.insert(b.end(), {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2});  // NOP NOP timestamps
    f.hdr = b.size() - 10;
    for (std::size_t i = 0; i < payload; ++i) b.push_back(static_cast<std::uint8_t>(i % 251));
    f.payload = payload;
    return f;
}

std::vector<Bytes> split(const Bytes& in, GsoSplitter::Status want = GsoSplitter::Status::ok) {
    GsoSplitter s;
    EXPECT_EQ(s.start(in), want);
    std::vector<Bytes> out;
    if (want != GsoSplitter::Status::ok) return out;
    Bytes buf(GsoSplitter::kMaxWireFrame);
    while (std::size_t n = s.next(buf)) out.emplace_back(buf.begin(), buf.begin() + static_cast<long>(n));
    EXPECT_EQ(out.size(), s.count());
    return out;
}

void check_segments(const Frame& f, bool v6, std::uint16_t mss, std::uint8_t flags) {
    const auto segs = split(f.bytes);
    const std::size_t want = (f.payload + mss - 1) / mss;
    ASSERT_EQ(segs.size(), want);
    Bytes joined;
    for (std::size_t i = 0; i < segs.size(); ++i) {
        const Bytes& s = segs[i];
        const std::size_t len = s.size() - f.hdr;
        EXPECT_EQ(len, i + 1 < want ? mss : f.payload - (want - 1) * mss) << i;
        const std::uint8_t* ip = s.data() + f.l3;
        const std::uint8_t* tcp = s.data() + f.l4;
        const std::size_t tcp_len = s.size() - f.l4;
        std::uint32_t pseudo;
        if (!v6) {
            EXPECT_EQ(be16(ip + 2), s.size() - f.l3) << i;
            EXPECT_EQ(be16(ip + 4), 0x1234 + i) << i;
            EXPECT_EQ(naive_sum(ip, 20), 0xffff) << "IPv4 header checksum, segment " << i;
            pseudo = naive_sum(ip + 12, 8, 6 + static_cast<std::uint32_t>(tcp_len));
        } else {
            EXPECT_EQ(be16(ip + 4), tcp_len) << i;
            pseudo = naive_sum(ip + 8, 32, 6 + static_cast<std::uint32_t>(tcp_len));
        }
        EXPECT_EQ(naive_sum(tcp, tcp_len, pseudo), 0xffff) << "TCP checksum, segment " << i;
        EXPECT_EQ(be32(tcp + 4), 0xfffffe00u + static_cast<std::uint32_t>(i * mss)) << "sequence wraps through 2^32";
        const std::uint8_t fl = tcp[13];
        EXPECT_EQ(fl & 0x80, i == 0 ? (flags & 0x80) : 0) << "CWR only on the first";
        EXPECT_EQ(fl & 0x09, i + 1 == want ? (flags & 0x09) : 0) << "FIN/PSH only on the last";
        EXPECT_EQ(fl & 0x10, flags & 0x10) << "ACK on every one";
        EXPECT_TRUE(std::equal(s.begin(), s.begin() + 12, f.bytes.begin() + 10)) << "MACs kept";
        joined.insert(joined.end(), s.begin() + static_cast<long>(f.hdr), s.end());
    }
    EXPECT_TRUE(std::equal(joined.begin(), joined.end(), f.bytes.begin() + 10 + static_cast<long>(f.hdr)));
    EXPECT_EQ(joined.size(), f.payload);
}

}  // namespace

TEST(GsoSplitter, SumMatchesNaiveOnEveryLengthAndAlignment) {
    std::mt19937 rng(7);
    Bytes data(3000);
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    for (std::size_t off = 0; off < 5; ++off)
        for (std::size_t n = 0; n < 200; ++n)
            ASSERT_EQ(ones_complement_sum({data.data() + off, n}, 0x1234), naive_sum(data.data() + off, n, 0x1234)) << off << " " << n;
    EXPECT_EQ(ones_complement_sum(data), naive_sum(data.data(), data.size()));
    const Bytes ff(64, 0xff);
    EXPECT_EQ(ones_complement_sum(ff, 0xffff), 0xffff);
}

TEST(GsoSplitter, Ipv4SuperFrameBecomesValidSegments) {
    const std::uint8_t flags = 0x80 | 0x10 | 0x08 | 0x01;  // CWR ACK PSH FIN
    check_segments(make_super(false, false, 4000, 1448, flags), false, 1448, flags);
    check_segments(make_super(false, false, 1448 * 3, 1448, 0x18), false, 1448, 0x18);  // exact multiple
    check_segments(make_super(false, false, 65000, 1448, 0x10), false, 1448, 0x10);
}

TEST(GsoSplitter, Ipv6AndVlanSuperFrames) {
    check_segments(make_super(true, false, 5000, 1428, 0x18), true, 1428, 0x18);
    check_segments(make_super(false, true, 3000, 1444, 0x18), false, 1444, 0x18);
    check_segments(make_super(true, true, 100, 1424, 0x19), true, 1424, 0x19);  // one short segment
}

TEST(GsoSplitter, PlainFrameWithPartialChecksumIsCompleted) {
    // UDP over IPv4, checksum field seeded with the pseudo-header sum as the kernel leaves it.
    Bytes b(10, 0);
    b[0] = 1;
    const std::size_t l4 = 14 + 20;
    b[6] = static_cast<std::uint8_t>(l4);
    b[8] = 6;  // csum_offset of UDP
    Bytes frame = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0, 0, 33, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
    const std::uint8_t udp[13] = {0x04, 0xd2, 0x16, 0x2e, 0, 13, 0, 0, 'h', 'e', 'l', 'l', 'o'};
    frame.insert(frame.end(), udp, udp + 13);
    const std::uint16_t pseudo = naive_sum(frame.data() + 26, 8, 17 + 13);
    frame[l4 + 6] = static_cast<std::uint8_t>(pseudo >> 8);
    frame[l4 + 7] = static_cast<std::uint8_t>(pseudo);
    b.insert(b.end(), frame.begin(), frame.end());
    const auto out = split(b);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].size(), frame.size());
    EXPECT_EQ(naive_sum(out[0].data() + l4, 13, pseudo), 0xffff);
    EXPECT_NE(be16(out[0].data() + l4 + 6), 0);

    // Without NEEDS_CSUM the frame comes out untouched.
    b[0] = 0;
    const auto same = split(b);
    ASSERT_EQ(same.size(), 1u);
    EXPECT_TRUE(std::equal(same[0].begin(), same[0].end(), b.begin() + 10));
}

TEST(GsoSplitter, RefusesWhatItCannotCut) {
    split(Bytes(5, 0), GsoSplitter::Status::malformed);
    split(Bytes(10 + 10, 0), GsoSplitter::Status::malformed);  // shorter than Ethernet
    Frame f = make_super(false, false, 3000, 1448, 0x10);
    Bytes udp_gso = f.bytes;
    udp_gso[1] = 3;  // VIRTIO_NET_HDR_GSO_UDP: never enabled
    split(udp_gso, GsoSplitter::Status::unsupported);
    Bytes bad_ihl = f.bytes;
    bad_ihl[10 + f.l3] = 0x44;
    split(bad_ihl, GsoSplitter::Status::malformed);
    Bytes v4_as_v6 = f.bytes;
    v4_as_v6[1] = 4;
    split(v4_as_v6, GsoSplitter::Status::malformed);
    Bytes cut = f.bytes;
    cut.resize(10 + f.l4 + 10);  // TCP header cut short
    split(cut, GsoSplitter::Status::malformed);
    Bytes huge_mss = f.bytes;
    huge_mss[4] = 0xff;
    huge_mss[5] = 0x0f;
    split(huge_mss, GsoSplitter::Status::unsupported);
    Bytes zero_mss = f.bytes;
    zero_mss[4] = zero_mss[5] = 0;
    split(zero_mss, GsoSplitter::Status::unsupported);
    Bytes bad_csum = make_super(false, false, 0, 1448, 0x10).bytes;
    bad_csum[1] = 0;
    bad_csum[0] = 1;
    bad_csum[6] = 0xff;  // csum_start past the end
    split(bad_csum, GsoSplitter::Status::malformed);
}

TEST(GsoSplitter, SmallOutputBufferYieldsNothing) {
    Frame f = make_super(false, false, 3000, 1448, 0x10);
    GsoSplitter s;
    ASSERT_EQ(s.start(f.bytes), GsoSplitter::Status::ok);
    Bytes tiny(100);
    EXPECT_EQ(s.next(tiny), 0u);
}
