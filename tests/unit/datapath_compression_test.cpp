// Tests of OpenVPN's compression framing: the exact bytes of each uncompressed framing, frames a
// peer compressed with real liblzo2/liblz4 decompressed (alone and through DataChannel), and
// markers, corrupt blocks and oversized outputs refused.
#include <gtest/gtest.h>
#include <lz4.h>
#include <lzo/lzo1x.h>

#include <cstring>
#include <vector>

#include "proto/compression.hpp"
#include "datapath/data_channel.hpp"
#include "datapath_test_keys.hpp"

using namespace wirebridge;
using namespace wirebridge::datapath;
using namespace wirebridge::proto;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes frame(std::size_t len, std::uint8_t first) {
    Bytes f(len);
    for (std::size_t i = 0; i < len; ++i) f[i] = static_cast<std::uint8_t>(i * 7 + 3);
    if (len) f[0] = first;
    return f;
}

// A compressible Ethernet-sized frame (what a peer that compresses actually shrinks).
Bytes compressible(std::size_t len) {
    Bytes f(len, 0);
    for (std::size_t i = 0; i < len; ++i) f[i] = static_cast<std::uint8_t>("wirebridge "[i % 11]);
    return f;
}

Bytes framed(CompressionFraming f, const Bytes& in) {
    Bytes buf(in.size() + kFramingRoom + 4);
    std::memcpy(buf.data() + 4, in.data(), in.size());
    const std::size_t n = frame_uncompressed(f, buf, 4, in.size());
    EXPECT_NE(n, 0u);
    return Bytes(buf.begin() + 4, buf.begin() + 4 + static_cast<std::ptrdiff_t>(n));
}

bool unframed(CompressionFraming f, Bytes wire, Bytes& out, bool& compressed) {
    Bytes scratch(kMaxDecompressed);
    std::span<std::uint8_t> p(wire);
    if (!unframe(f, p, scratch, compressed)) return false;
    out.assign(p.begin(), p.end());
    return true;
}

Bytes lz4(const Bytes& in) {
    Bytes out(static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(in.size()))));
    const int n = LZ4_compress_default(reinterpret_cast<const char*>(in.data()), reinterpret_cast<char*>(out.data()),
                                       static_cast<int>(in.size()), static_cast<int>(out.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

Bytes lzo(const Bytes& in) {
    EXPECT_EQ(lzo_init(), LZO_E_OK);
    Bytes out(in.size() + in.size() / 16 + 64 + 3);
    std::vector<std::uint8_t> wrk(LZO1X_1_MEM_COMPRESS);
    lzo_uint n = out.size();
    EXPECT_EQ(lzo1x_1_compress(in.data(), in.size(), out.data(), &n, wrk.data()), LZO_E_OK);
    out.resize(n);
    return out;
}

Bytes cat(std::initializer_list<std::uint8_t> head, const Bytes& tail) {
    Bytes b(head);
    b.insert(b.end(), tail.begin(), tail.end());
    return b;
}

}  // namespace

TEST(Compression, UncompressedFramingBytes) {
    const Bytes f = frame(60, 0x02);
    EXPECT_EQ(framed(CompressionFraming::comp_lzo, f), cat({0xFA}, f));
    Bytes swap = f;  // v1: marker in front, the first byte moved to the end
    swap[0] = 0xFB;
    swap.push_back(0x02);
    EXPECT_EQ(framed(CompressionFraming::compress_v1, f), swap);
    EXPECT_EQ(framed(CompressionFraming::compress_v2, f), f);  // v2: unchanged unless it starts with 0x50
    const Bytes g = frame(60, 0x50);
    EXPECT_EQ(framed(CompressionFraming::compress_v2, g), cat({0x50, 0x00}, g));
    EXPECT_EQ(framed(CompressionFraming::none, f), f);
}

TEST(Compression, UncompressedRoundTrip) {
    for (auto fr : {CompressionFraming::comp_lzo, CompressionFraming::compress_v1, CompressionFraming::compress_v2}) {
        for (std::uint8_t first : {0x00, 0x50, 0x66, 0x69, 0xFA, 0xFB, 0xFF}) {
            for (std::size_t len : {1u, 14u, 1514u}) {
                const Bytes f = frame(len, first);
                Bytes out;
                bool compressed = true;
                ASSERT_TRUE(unframed(fr, framed(fr, f), out, compressed)) << int(fr) << " " << int(first) << " " << len;
                EXPECT_EQ(out, f);
                EXPECT_FALSE(compressed);
            }
        }
    }
}

TEST(Compression, NoRoomIsRefused) {
    Bytes buf(20);
    EXPECT_EQ(frame_uncompressed(CompressionFraming::comp_lzo, buf, 4, 15), 0u);
    EXPECT_EQ(frame_uncompressed(CompressionFraming::comp_lzo, buf, 4, 14), 15u);
}

TEST(Compression, DecompressesWhatPeersCompress) {
    const Bytes f = compressible(1400);
    Bytes out;
    bool compressed = false;
    // comp-lzo: 0x66 + LZO1X block.
    const Bytes z = lzo(f);
    ASSERT_LT(z.size(), f.size());
    ASSERT_TRUE(unframed(CompressionFraming::comp_lzo, cat({0x66}, z), out, compressed));
    EXPECT_TRUE(compressed);
    EXPECT_EQ(out, f);
    // compress lz4 (v1): 0x69 in front of the block, the block's first byte at the end.
    const Bytes l = lz4(f);
    Bytes v1 = l;
    v1.push_back(l[0]);
    v1[0] = 0x69;
    ASSERT_TRUE(unframed(CompressionFraming::compress_v1, v1, out, compressed));
    EXPECT_TRUE(compressed);
    EXPECT_EQ(out, f);
    // compress lz4-v2: 0x50 0x01 + block.
    ASSERT_TRUE(unframed(CompressionFraming::compress_v2, cat({0x50, 0x01}, l), out, compressed));
    EXPECT_TRUE(compressed);
    EXPECT_EQ(out, f);
}

TEST(Compression, RefusesBadMarkersCorruptBlocksAndBombs) {
    Bytes out;
    bool compressed = false;
    const Bytes f = frame(100, 0x02);
    EXPECT_FALSE(unframed(CompressionFraming::comp_lzo, cat({0xFB}, f), out, compressed));  // unknown marker
    EXPECT_FALSE(unframed(CompressionFraming::comp_lzo, Bytes{}, out, compressed));
    Bytes v1 = f;
    v1[0] = 0x66;  // LZO never uses the swap framing
    EXPECT_FALSE(unframed(CompressionFraming::compress_v1, v1, out, compressed));
    EXPECT_FALSE(unframed(CompressionFraming::compress_v2, cat({0x50, 0x03}, f), out, compressed));  // snappy
    EXPECT_FALSE(unframed(CompressionFraming::compress_v2, Bytes{0x50}, out, compressed));
    EXPECT_FALSE(unframed(CompressionFraming::comp_lzo, cat({0x66}, f), out, compressed));       // not LZO data
    EXPECT_FALSE(unframed(CompressionFraming::compress_v2, cat({0x50, 0x01}, Bytes(40, 0xFF)), out, compressed));
    // 64 KB of zeros compresses to a few hundred bytes; it must not be expanded past the limit.
    const Bytes bomb(65536, 0);
    EXPECT_FALSE(unframed(CompressionFraming::comp_lzo, cat({0x66}, lzo(bomb)), out, compressed));
    EXPECT_FALSE(unframed(CompressionFraming::compress_v2, cat({0x50, 0x01}, lz4(bomb)), out, compressed));
}

namespace {
crypto::AeadKeys keys(std::uint8_t fill) {
    std::vector<std::uint8_t> k(32, fill);
    crypto::AeadKeys out;
    out.key = crypto::SecureBytes(std::span<const std::uint8_t>(k));
    return out;
}
}  // namespace

// Through the data channel: frames sealed with framing open to the same frame; a frame the peer
// compressed (sealed by a channel without framing, as raw framed bytes) opens decompressed; a
// payload with a bad marker is dropped as bad_compression.
TEST(Compression, DataChannelFramesAndDecompresses) {
    for (auto fr : {CompressionFraming::comp_lzo, CompressionFraming::compress_v1, CompressionFraming::compress_v2}) {
        crypto::AeadKeys ab = keys(1), ba = keys(2);
        auto ids_a = std::make_shared<std::atomic<std::uint32_t>>(0);
        auto ids_b = std::make_shared<std::atomic<std::uint32_t>>(0);
        auto ids_raw = std::make_shared<std::atomic<std::uint32_t>>(1000);
        DataChannel a, b, raw;
        ASSERT_TRUE(a.install(wirebridge::test::test_keys(0, crypto::AeadCipher::Aes256Gcm, 7, true, &ab, &ba, ids_a, fr)));
        ASSERT_TRUE(b.install(wirebridge::test::test_keys(0, crypto::AeadCipher::Aes256Gcm, 7, true, &ba, &ab, ids_b, fr)));
        ASSERT_TRUE(raw.install(wirebridge::test::test_keys(0, crypto::AeadCipher::Aes256Gcm, 7, true, &ab, &ba, ids_raw)));
        a.set_primary(0);
        raw.set_primary(0);
        auto seal = [](DataChannel& dc, const Bytes& payload) {
            Bytes buf(kHeadroom + payload.size() + kFramingRoom);
            std::memcpy(buf.data() + kHeadroom, payload.data(), payload.size());
            buf.resize(dc.seal(buf, payload.size()));
            return buf;
        };
        const Bytes f = frame(1514, 0x50);
        Bytes pkt = seal(a, f);
        ASSERT_FALSE(pkt.empty());
        std::span<std::uint8_t> payload;
        ASSERT_EQ(b.open(pkt, 1, payload), DataDrop::none);
        EXPECT_EQ(Bytes(payload.begin(), payload.end()), f);

        const Bytes c = compressible(1500);
        Bytes wire;
        if (fr == CompressionFraming::comp_lzo) {
            wire = cat({0x66}, lzo(c));
        } else if (fr == CompressionFraming::compress_v1) {
            wire = lz4(c);
            wire.push_back(wire[0]);
            wire[0] = 0x69;
        } else {
            wire = cat({0x50, 0x01}, lz4(c));
        }
        pkt = seal(raw, wire);
        ASSERT_EQ(b.open(pkt, 1, payload), DataDrop::none);
        EXPECT_EQ(Bytes(payload.begin(), payload.end()), c);
        EXPECT_EQ(b.decompressed(), 1u);

        pkt = seal(raw, cat({0x50, 0x07}, f));
        if (fr == CompressionFraming::compress_v1) pkt = seal(raw, cat({0x07}, f));
        if (fr == CompressionFraming::comp_lzo) pkt = seal(raw, cat({0x07}, f));
        EXPECT_EQ(b.open(pkt, 1, payload), DataDrop::bad_compression);
        EXPECT_EQ(b.counters().drops[static_cast<std::size_t>(DataDrop::bad_compression)], 1u);

        // A batch (workers): every compressed payload of the batch stays valid until delivery,
        // each with headroom for a VLAN tag; uncompressed ones stay inside their packet.
        std::vector<Bytes> frames, wires;
        for (int i = 0; i < 3; ++i) {
            Bytes fi = compressible(600 + static_cast<std::size_t>(i) * 100);
            fi[0] = static_cast<std::uint8_t>(i);
            frames.push_back(fi);
            wires.push_back(seal(raw, fr == CompressionFraming::comp_lzo      ? cat({0x66}, lzo(fi))
                                      : fr == CompressionFraming::compress_v2 ? cat({0x50, 0x01}, lz4(fi))
                                                                              : [&] {
                                                                                    Bytes w = lz4(fi);
                                                                                    w.push_back(w[0]);
                                                                                    w[0] = 0x69;
                                                                                    return w;
                                                                                }()));
        }
        frames.push_back(frame(100, 0x02));
        wires.push_back(seal(raw, framed(fr, frames.back())));  // raw's ids: newer than all b has seen
        std::vector<DataChannel::Opened> opened(frames.size());
        for (std::size_t i = 0; i < frames.size(); ++i) ASSERT_EQ(b.open_unrecorded(wires[i], opened[i]), DataDrop::none);
        b.accept_batch(opened, 1);
        for (std::size_t i = 0; i < frames.size(); ++i) {
            ASSERT_EQ(opened[i].drop, DataDrop::none);
            EXPECT_EQ(Bytes(opened[i].payload.begin(), opened[i].payload.end()), frames[i]) << i;
            EXPECT_GE(DataChannel::headroom_of(wires[i], opened[i].payload), 4u);
        }
        EXPECT_EQ(DataChannel::headroom_of(wires[0], opened[0].payload), DataChannel::kRingHeadroom);
        EXPECT_LT(DataChannel::headroom_of(wires[3], opened[3].payload), wires[3].size());
    }
}
