// Tests of DataChannel: two peers with mirrored keys exchange frames; replays, tampering, unknown
// keys and retired keys are refused; a rekey switches the sending key while the old one still opens.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "datapath/data_channel.hpp"

using namespace wirebridge;
using namespace wirebridge::datapath;

namespace {

struct KeyPairMaterial {
    crypto::AeadKeys a_to_b, b_to_a;
    std::shared_ptr<std::atomic<std::uint32_t>> a_ids = std::make_shared<std::atomic<std::uint32_t>>(0);
    std::shared_ptr<std::atomic<std::uint32_t>> b_ids = std::make_shared<std::atomic<std::uint32_t>>(0);
};

crypto::AeadKeys keys(std::uint8_t fill, std::size_t len) {
    std::vector<std::uint8_t> k(len, fill);
    crypto::AeadKeys out;
    out.key = crypto::SecureBytes(std::span<const std::uint8_t>(k));
    for (std::size_t i = 0; i < out.implicit_iv.size(); ++i) out.implicit_iv.span()[i] = static_cast<std::uint8_t>(fill + i);
    return out;
}

void install(DataChannel& a, DataChannel& b, KeyPairMaterial& m, std::uint8_t key_id, crypto::AeadCipher c) {
    const std::size_t len = crypto::aead_key_size(c);
    m.a_to_b = keys(static_cast<std::uint8_t>(0x10 + key_id), len);
    m.b_to_a = keys(static_cast<std::uint8_t>(0x20 + key_id), len);
    ASSERT_TRUE(a.install(KeyInstall{key_id, c, 7, true, &m.a_to_b, &m.b_to_a, m.a_ids}));
    ASSERT_TRUE(b.install(KeyInstall{key_id, c, 7, true, &m.b_to_a, &m.a_to_b, m.b_ids}));
    a.set_primary(key_id);
    b.set_primary(key_id);
}

std::vector<std::uint8_t> frame(std::size_t len, std::uint8_t seed) {
    std::vector<std::uint8_t> f(len);
    for (std::size_t i = 0; i < len; ++i) f[i] = static_cast<std::uint8_t>(seed + i * 3);
    return f;
}

// Seals `f` on `from`; returns the wire packet.
std::vector<std::uint8_t> seal(DataChannel& from, const std::vector<std::uint8_t>& f) {
    std::vector<std::uint8_t> buf(kHeadroom + f.size() + 8);
    std::memcpy(buf.data() + kHeadroom, f.data(), f.size());
    const std::size_t n = from.seal(buf, f.size());
    buf.resize(n);
    return buf;
}

}  // namespace

class DataChannelCipher : public ::testing::TestWithParam<crypto::AeadCipher> {};

TEST_P(DataChannelCipher, RoundTripAndWireLayout) {
    DataChannel a, b;
    KeyPairMaterial m;
    install(a, b, m, 0, GetParam());
    for (std::size_t len : {14u, 60u, 1514u}) {
        const auto f = frame(len, static_cast<std::uint8_t>(len));
        auto pkt = seal(a, f);
        ASSERT_EQ(pkt.size(), kHeadroom + len);
        EXPECT_EQ(pkt[0], (9 << 3) | 0);  // DATA_V2, key 0
        EXPECT_EQ(pkt[3], 7);             // peer-id 7
        EXPECT_NE(std::memcmp(pkt.data() + kHeadroom, f.data(), len), 0);  // encrypted
        std::span<std::uint8_t> payload;
        ASSERT_EQ(b.open(pkt, 100, payload), DataDrop::none);
        EXPECT_EQ(std::vector<std::uint8_t>(payload.begin(), payload.end()), f);
    }
    EXPECT_EQ(m.a_ids->load(), 3u);  // ids 1, 2, 3 used, shared with the session
    EXPECT_EQ(b.counters().packets_in, 3u);
}

INSTANTIATE_TEST_SUITE_P(All, DataChannelCipher,
                         ::testing::Values(crypto::AeadCipher::Aes256Gcm, crypto::AeadCipher::Aes128Gcm,
                                           crypto::AeadCipher::Chacha20Poly1305));

TEST(DataChannel, RefusesReplayTamperTruncatedAndUnknownKey) {
    DataChannel a, b;
    KeyPairMaterial m;
    install(a, b, m, 0, crypto::AeadCipher::Aes256Gcm);
    auto pkt = seal(a, frame(100, 1));
    auto copy = pkt;
    std::span<std::uint8_t> payload;
    ASSERT_EQ(b.open(pkt, 1, payload), DataDrop::none);
    EXPECT_EQ(b.open(copy, 1, payload), DataDrop::replay);

    auto tampered = seal(a, frame(100, 2));
    tampered[40] ^= 1;
    EXPECT_EQ(b.open(tampered, 1, payload), DataDrop::auth_failed);
    // The id of a refused packet was not recorded: the genuine packet with that id still opens.
    auto next = seal(a, frame(100, 3));
    ASSERT_EQ(b.open(next, 1, payload), DataDrop::none);

    auto short_pkt = seal(a, frame(100, 4));
    short_pkt.resize(10);
    EXPECT_EQ(b.open(short_pkt, 1, payload), DataDrop::truncated);
    auto other_key = seal(a, frame(100, 5));
    other_key[0] = (9 << 3) | 3;
    EXPECT_EQ(b.open(other_key, 1, payload), DataDrop::no_key);
    EXPECT_EQ(b.counters().drops[static_cast<std::size_t>(DataDrop::replay)], 1u);
    EXPECT_EQ(b.counters().drops[static_cast<std::size_t>(DataDrop::auth_failed)], 1u);
}

TEST(DataChannel, RekeyKeepsOldKeyForReceiving) {
    DataChannel a, b;
    KeyPairMaterial m0, m1;
    install(a, b, m0, 0, crypto::AeadCipher::Chacha20Poly1305);
    auto old_pkt = seal(a, frame(80, 9));  // in flight while the rekey happens
    install(a, b, m1, 1, crypto::AeadCipher::Chacha20Poly1305);
    auto new_pkt = seal(a, frame(80, 10));
    EXPECT_EQ(new_pkt[0] & 7, 1);
    std::span<std::uint8_t> payload;
    EXPECT_EQ(b.open(new_pkt, 5, payload), DataDrop::none);
    EXPECT_EQ(b.open(old_pkt, 5, payload), DataDrop::none);
    b.retire(0);
    auto late = old_pkt;
    EXPECT_EQ(b.open(late, 5, payload), DataDrop::no_key);
    a.retire(1);
    EXPECT_FALSE(a.ready());
    std::vector<std::uint8_t> buf(kHeadroom + 80);
    EXPECT_EQ(a.seal(buf, 80), 0u);
}

TEST(DataChannel, NoKeyNoSeal) {
    DataChannel a;
    std::vector<std::uint8_t> buf(kHeadroom + 10);
    EXPECT_EQ(a.seal(buf, 10), 0u);
    EXPECT_FALSE(a.install(KeyInstall{}));
}
