// Tests of OpenVPN's fragment layer: header bytes as fragment.c writes them, the sizes 2.6 computes
// for `fragment N`, how a payload is cut, and reassembly in order, out of order, with duplicates,
// across the seq id window, after the TTL, and of malformed input.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "proto/fragment.hpp"

using namespace wirebridge::proto;
using Bytes = std::vector<std::uint8_t>;
using V = FragmentReassembler::Verdict;

namespace {

Bytes header(const FragmentHeader& h) {
    Bytes b(kFragmentHeader);
    write_fragment_header(h, std::span<std::uint8_t, kFragmentHeader>(b.data(), kFragmentHeader));
    return b;
}

Bytes pattern(std::size_t n, std::uint8_t seed = 1) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7);
    return b;
}

// The fragments of payload cut as the sender cuts it (piece size from fragment_piece_size).
std::vector<Bytes> cut(const Bytes& payload, std::size_t max, std::uint8_t seq) {
    const std::size_t piece = fragment_piece_size(payload.size(), max);
    std::vector<Bytes> out;
    for (std::size_t at = 0, id = 0; at < payload.size(); at += piece, ++id) {
        const bool last = at + piece >= payload.size();
        Bytes f = header({last ? FragmentType::last : FragmentType::not_last, seq, static_cast<std::uint8_t>(id),
                          static_cast<std::uint16_t>(piece)});
        f.insert(f.end(), payload.begin() + static_cast<long>(at),
                 payload.begin() + static_cast<long>(std::min(payload.size(), at + piece)));
        out.push_back(f);
    }
    return out;
}

V feed(FragmentReassembler& r, Bytes& pkt, std::int64_t now, Bytes* got = nullptr) {
    std::span<std::uint8_t> p(pkt);
    const V v = r.feed(p, now);
    if (got && (v == V::complete || v == V::whole)) got->assign(p.begin(), p.end());
    return v;
}

}  // namespace

TEST(Fragment, HeaderBytesAsFragmentC) {
    // FRAG_WHOLE: all zero.
    EXPECT_EQ(header({}), (Bytes{0, 0, 0, 0}));
    // FRAG_YES_LAST, seq 3, id 1, size 100: 2 | 3 << 2 | 1 << 10 | (100 / 4) << 15 = 0x000c840e.
    EXPECT_EQ(header({FragmentType::last, 3, 1, 100}), (Bytes{0x00, 0x0c, 0x84, 0x0e}));
    // FRAG_YES_NOTLAST, seq 255, id 31: the size field stays zero (the receiver takes the length).
    EXPECT_EQ(header({FragmentType::not_last, 255, 31, 1200}), (Bytes{0x00, 0x00, 0x7f, 0xfd}));
    const Bytes b{0x00, 0x0c, 0x84, 0x0e};
    const FragmentHeader h = read_fragment_header(std::span<const std::uint8_t, kFragmentHeader>(b.data(), kFragmentHeader));
    EXPECT_EQ(h.type, FragmentType::last);
    EXPECT_EQ(h.seq_id, 3);
    EXPECT_EQ(h.frag_id, 1);
    EXPECT_EQ(h.size, 100);
}

TEST(Fragment, MaxFragmentSizeAsOpenVpn26) {
    TunnelOverhead gcm;  // AES-GCM, DATA_V2, UDP over IPv4
    // fragment 1300: 1300 - (4 header + 4 packet-id + 16 tag) - 4 fragment header.
    EXPECT_EQ(max_fragment_size(1300, false, gcm), 1272);
    // fragment 1300 mtu: the outer IPv4 and UDP headers count too.
    EXPECT_EQ(max_fragment_size(1300, true, gcm), 1244);
    TunnelOverhead cbc;  // AES-256-CBC + SHA256
    cbc.hmac_size = 32;
    cbc.cbc_block = 16;
    // 1300 - (4 + 16 IV + 32 HMAC) = 1248, whole blocks minus one byte of padding = 1247, minus the
    // packet-id inside every fragment and the fragment header.
    EXPECT_EQ(max_fragment_size(1300, false, cbc), 1239);
    EXPECT_EQ(max_fragment_size(0, false, gcm), 0);
    EXPECT_EQ(max_fragment_size(20, false, gcm), 0);  // smaller than the overhead: nothing fits
}

TEST(Fragment, PieceSizeAsOptimalFragmentSize) {
    EXPECT_EQ(fragment_piece_size(1518, 1272), 760u);   // two halves, not 1272 + 246
    EXPECT_EQ(fragment_piece_size(1400, 1272), 700u);
    EXPECT_EQ(fragment_piece_size(3000, 1000), 1000u);  // exact multiple
    // 1273 is not a multiple of 4: the formula takes 1273 - (1273 - 728) / 2, rounded up to 4.
    EXPECT_EQ(fragment_piece_size(2000, 1273), 1004u);
    EXPECT_EQ(fragment_piece_size(32 * 16, 16), 16u);   // exactly 32 fragments
    EXPECT_EQ(fragment_piece_size(32 * 16 + 1, 16), 0u);  // 33: cannot be sent
    EXPECT_EQ(fragment_piece_size(100, 3), 0u);
}

TEST(Fragment, WholeIsStripped) {
    FragmentReassembler r;
    Bytes pkt = header({});
    const Bytes body = pattern(60);
    pkt.insert(pkt.end(), body.begin(), body.end());
    Bytes got;
    EXPECT_EQ(feed(r, pkt, 0, &got), V::whole);
    EXPECT_EQ(got, body);
    // FRAG_WHOLE with a seq or frag id set is refused, as fragment.c ("spurious FRAG_WHOLE flags").
    Bytes spurious = header({FragmentType::whole, 0, 0, 0});
    spurious[3] = 0x04;  // seq id 1
    EXPECT_EQ(feed(r, spurious, 0), V::bad);
    Bytes test_type{0, 0, 0, 3};
    EXPECT_EQ(feed(r, test_type, 0), V::bad);
    Bytes shorter{0, 0, 0};
    EXPECT_EQ(feed(r, shorter, 0), V::bad);
}

TEST(Fragment, ReassemblesInAnyOrderWithDuplicates) {
    const Bytes payload = pattern(1518);
    for (int order = 0; order < 3; ++order) {
        FragmentReassembler r;
        std::vector<Bytes> f = cut(payload, 500, 9);
        ASSERT_EQ(f.size(), 4u);  // 1518 over pieces of 380 (not 500, 500, 500, 18)
        if (order == 1) std::swap(f[0], f[3]);
        if (order == 2) f.insert(f.begin() + 1, f[0]);  // a duplicate before the rest
        Bytes got;
        int completions = 0;
        for (std::size_t i = 0; i < f.size(); ++i) {
            Bytes pkt = f[i];
            const V v = feed(r, pkt, 5, &got);
            if (v == V::complete) ++completions;
            else EXPECT_EQ(v, V::pending) << "order " << order << " fragment " << i;
        }
        EXPECT_EQ(completions, 1);
        EXPECT_EQ(got, payload);
    }
}

TEST(Fragment, InterleavedPayloadsAndTheWindow) {
    FragmentReassembler r;
    const Bytes a = pattern(900, 1), b = pattern(700, 2);
    std::vector<Bytes> fa = cut(a, 400, 10), fb = cut(b, 400, 11);
    Bytes got;
    EXPECT_EQ(feed(r, fa[0], 1), V::pending);
    EXPECT_EQ(feed(r, fb[0], 1), V::pending);
    EXPECT_EQ(feed(r, fb[1], 1, &got), V::complete);
    EXPECT_EQ(got, b);
    EXPECT_EQ(feed(r, fa[1], 1), V::pending);
    EXPECT_EQ(feed(r, fa[2], 1, &got), V::complete);
    EXPECT_EQ(got, a);

    // seq 40 is 25 or more ahead of 20: the window starts afresh and 20's first half is lost.
    FragmentReassembler w;
    std::vector<Bytes> old = cut(a, 400, 20), fresh = cut(b, 400, 45);
    EXPECT_EQ(feed(w, old[0], 1), V::pending);
    EXPECT_EQ(feed(w, fresh[0], 1), V::pending);
    EXPECT_EQ(feed(w, fresh[1], 1, &got), V::complete);
    EXPECT_EQ(feed(w, old[1], 1), V::pending);
    EXPECT_EQ(feed(w, old[2], 1), V::pending);  // never completes: its first fragment was dropped

    // seq ids wrap at 256: 254 then 2 are 4 apart.
    FragmentReassembler wrap;
    std::vector<Bytes> x = cut(a, 400, 254), y = cut(b, 400, 2);
    EXPECT_EQ(feed(wrap, x[0], 1), V::pending);
    EXPECT_EQ(feed(wrap, y[0], 1), V::pending);
    EXPECT_EQ(feed(wrap, x[1], 1), V::pending);
    EXPECT_EQ(feed(wrap, x[2], 1, &got), V::complete);
    EXPECT_EQ(got, a);
}

TEST(Fragment, UnfinishedPayloadsExpire) {
    FragmentReassembler r;
    const Bytes a = pattern(900);
    std::vector<Bytes> f = cut(a, 400, 1);
    EXPECT_EQ(feed(r, f[0], 100), V::pending);
    EXPECT_EQ(feed(r, f[1], 105), V::pending);
    // 10 s after the last fragment the payload is dropped; the rest arrives too late.
    Bytes other = cut(pattern(500), 400, 2)[0];
    EXPECT_EQ(feed(r, other, 115), V::pending);
    EXPECT_EQ(r.expired(), 1u);
    EXPECT_EQ(feed(r, f[2], 115), V::pending);
}

TEST(Fragment, MalformedFragmentsAreRefused) {
    FragmentReassembler r;
    // A size that is not a multiple of 4 (NOT_LAST takes its length as the size).
    Bytes odd = header({FragmentType::not_last, 1, 0, 0});
    odd.resize(odd.size() + 10);
    EXPECT_EQ(feed(r, odd, 0), V::bad);
    // A LAST of size 0.
    Bytes zero = header({FragmentType::last, 1, 1, 0});
    zero.resize(zero.size() + 8);
    EXPECT_EQ(feed(r, zero, 0), V::bad);
    // Fragment 31 of pieces of 1000 bytes lies far past the reassembly buffer.
    Bytes far = header({FragmentType::not_last, 1, 31, 0});
    far.resize(far.size() + 1000);
    EXPECT_EQ(feed(r, far, 0), V::bad);
    // A lone empty LAST with id 0 completes nothing.
    Bytes empty = header({FragmentType::last, 2, 0, 8});
    EXPECT_EQ(feed(r, empty, 0), V::bad);
}
