// tls-auth: openvpn's own reset and ClientHello packets verify; wrap reproduces them byte for byte;
// tampering, truncation, the wrong direction and the wrong digest are refused.
#include "crypto/tls_auth.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "crypto_openvpn_vectors.hpp"
#include "crypto_test_util.hpp"

namespace wirebridge::crypto {
namespace {

using test::to_hex;

StaticKey test_key() {
    auto k = parse_static_key(test::kOpenvpnTestKey, "test_pkt.c");
    EXPECT_TRUE(k) << k.error().message;
    return *k;
}

std::vector<uint8_t> bytes(const uint8_t* p, std::size_t n) { return std::vector<uint8_t>(p, p + n); }

TEST(CryptoTlsAuth, OpenvpnClientResetVerifiesOnServer) {
    auto server = TlsAuth::from_static_key(test_key(), KeyDirection::Normal, Digest::Sha1);
    ASSERT_TRUE(server) << server.error().message;
    EXPECT_EQ(server->overhead(), 28u);
    auto pkt = bytes(test::kClientResetTlsAuth, sizeof test::kClientResetTlsAuth);
    std::vector<uint8_t> out(pkt.size());
    auto u = server->unwrap(pkt, out);
    ASSERT_TRUE(u) << u.error().message;
    EXPECT_EQ(u->length, 14u);
    EXPECT_EQ(u->replay_id, (ReplayId{1, 0x61d3bf6c}));
    EXPECT_EQ(to_hex(out.data(), u->length), "38de694c5c7bfba2740000000000");
}

TEST(CryptoTlsAuth, WrapReproducesOpenvpnPacketsExactly) {
    auto client = TlsAuth::from_static_key(test_key(), KeyDirection::Inverse, Digest::Sha1);
    ASSERT_TRUE(client);
    auto plain = test::from_hex("38de694c5c7bfba2740000000000");
    std::vector<uint8_t> out(plain.size() + client->overhead());
    auto n = client->wrap(plain, out, ReplayId{1, 0x61d3bf6c});
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(to_hex(out.data(), *n), to_hex(test::kClientResetTlsAuth, sizeof test::kClientResetTlsAuth));

    // In place, on the ClientHello: unwrap with the server's keys, re-wrap with the client's.
    auto server = TlsAuth::from_static_key(test_key(), KeyDirection::Normal, Digest::Sha1);
    ASSERT_TRUE(server);
    auto pkt = bytes(test::kClientControlTlsAuth, sizeof test::kClientControlTlsAuth);
    auto u = server->unwrap(pkt, pkt);
    ASSERT_TRUE(u) << u.error().message;
    EXPECT_EQ(u->replay_id, (ReplayId{3, 0x61d3ff53}));
    EXPECT_EQ(pkt[0], 0x20);  // CONTROL_V1
    // ack count 0 and message-id 1 follow the session id once the HMAC is gone, then the TLS record.
    EXPECT_EQ(to_hex(pkt.data() + 9, 8), "0000000001160301");
    n = client->wrap(std::span<const uint8_t>(pkt.data(), u->length), pkt, u->replay_id);
    ASSERT_TRUE(n);
    EXPECT_EQ(to_hex(pkt.data(), *n), to_hex(test::kClientControlTlsAuth, sizeof test::kClientControlTlsAuth));
}

TEST(CryptoTlsAuth, TamperingAndTruncationRefusedWithoutWriting) {
    auto server = TlsAuth::from_static_key(test_key(), KeyDirection::Normal);
    ASSERT_TRUE(server);
    const auto good = bytes(test::kClientResetTlsAuth, sizeof test::kClientResetTlsAuth);
    for (std::size_t i = 0; i < good.size(); ++i) {
        auto bad = good;
        bad[i] ^= 0x23;
        auto before = bad;
        EXPECT_FALSE(server->unwrap(bad, bad)) << "byte " << i;
        EXPECT_EQ(bad, before) << "unwrap wrote into the packet on failure";
    }
    for (std::size_t len = 0; len < good.size(); ++len) {
        std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<long>(len));
        std::vector<uint8_t> out(good.size());
        EXPECT_FALSE(server->unwrap(cut, out)) << "len " << len;
    }
    std::vector<uint8_t> small(10);
    EXPECT_FALSE(server->unwrap(good, small));
}

TEST(CryptoTlsAuth, WrongDirectionDigestOrKeyRefused) {
    const auto good = bytes(test::kClientResetTlsAuth, sizeof test::kClientResetTlsAuth);
    std::vector<uint8_t> out(good.size());
    auto inverse = TlsAuth::from_static_key(test_key(), KeyDirection::Inverse);
    ASSERT_TRUE(inverse);
    EXPECT_FALSE(inverse->unwrap(good, out));
    auto bidi = TlsAuth::from_static_key(test_key(), KeyDirection::Bidirectional);
    ASSERT_TRUE(bidi);
    EXPECT_FALSE(bidi->unwrap(good, out));
    auto sha256 = TlsAuth::from_static_key(test_key(), KeyDirection::Normal, Digest::Sha256);
    ASSERT_TRUE(sha256);
    EXPECT_FALSE(sha256->unwrap(good, out));
    auto other = TlsAuth::from_static_key(StaticKey::generate(), KeyDirection::Normal);
    ASSERT_TRUE(other);
    EXPECT_FALSE(other->unwrap(good, out));
}

TEST(CryptoTlsAuth, RoundTripEachDigestAndDirection) {
    StaticKey key = StaticKey::generate();
    for (Digest d : {Digest::Sha1, Digest::Sha256, Digest::Sha384, Digest::Sha512}) {
        for (auto [a, b] : {std::pair{KeyDirection::Normal, KeyDirection::Inverse},
                            std::pair{KeyDirection::Bidirectional, KeyDirection::Bidirectional}}) {
            auto tx = TlsAuth::from_static_key(key, a, d);
            auto rx = TlsAuth::from_static_key(key, b, d);
            ASSERT_TRUE(tx && rx);
            EXPECT_EQ(tx->overhead(), digest_size(d) + 8);
            std::vector<uint8_t> plain = {0x20, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 7, 'h', 'i'};
            std::vector<uint8_t> buf(plain.size() + tx->overhead());
            auto n = tx->wrap(plain, buf, ReplayId{42, 1700000000});
            ASSERT_TRUE(n);
            ASSERT_EQ(*n, buf.size());
            auto u = rx->unwrap(buf, buf);
            ASSERT_TRUE(u) << u.error().message;
            EXPECT_EQ(u->replay_id, (ReplayId{42, 1700000000}));
            EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + static_cast<long>(u->length)), plain);
        }
    }
}

TEST(CryptoTlsAuth, WrapRefusesShortInputAndSmallOutput) {
    auto ta = TlsAuth::from_static_key(test_key(), KeyDirection::Normal);
    ASSERT_TRUE(ta);
    std::vector<uint8_t> plain(8), out(100);
    EXPECT_FALSE(ta->wrap(plain, out, {}));
    plain.resize(14);
    std::vector<uint8_t> small(41);
    EXPECT_FALSE(ta->wrap(plain, small, {}));
}

}  // namespace
}  // namespace wirebridge::crypto
