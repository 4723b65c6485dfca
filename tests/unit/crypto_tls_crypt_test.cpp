// tls-crypt v1: openvpn's tls-crypt reset decrypts on the server and is reproduced exactly by wrap;
// every byte flip, truncation and the wrong role are refused; dynamic tls-crypt keys XOR correctly.
#include "crypto/tls_crypt.hpp"

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

const std::vector<uint8_t> kReset(test::kClientResetTlsCrypt, test::kClientResetTlsCrypt + sizeof test::kClientResetTlsCrypt);

TEST(CryptoTlsCrypt, OpenvpnClientResetUnwrapsAndRewrapsExactly) {
    auto server = TlsCrypt::from_static_key(test_key(), Role::Server);
    ASSERT_TRUE(server) << server.error().message;
    std::vector<uint8_t> out(kReset.size());
    auto u = server->unwrap(kReset, out);
    ASSERT_TRUE(u) << u.error().message;
    ASSERT_EQ(u->length, 14u);
    EXPECT_EQ(u->replay_id, (ReplayId{1, 0x61d3f8e1}));
    // HARD_RESET_CLIENT_V2, the client's sid, no acks, message-id 0.
    EXPECT_EQ(to_hex(out.data(), u->length), "38f419cb12d1f9e48f0000000000");

    auto client = TlsCrypt::from_static_key(test_key(), Role::Client);
    ASSERT_TRUE(client);
    std::vector<uint8_t> wrapped(u->length + TlsCrypt::overhead());
    auto n = client->wrap(std::span<const uint8_t>(out.data(), u->length), wrapped, u->replay_id);
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(to_hex(wrapped.data(), *n), to_hex(kReset));
}

TEST(CryptoTlsCrypt, TamperingTruncationAndWrongRoleRefused) {
    auto server = TlsCrypt::from_static_key(test_key(), Role::Server);
    ASSERT_TRUE(server);
    for (std::size_t i = 0; i < kReset.size(); ++i) {
        auto bad = kReset;
        bad[i] = bad[i] == 0x23 ? 0x24 : 0x23;
        auto before = bad;
        EXPECT_FALSE(server->unwrap(bad, bad)) << "byte " << i;
        EXPECT_EQ(bad, before) << "unwrap wrote into the packet on failure";
    }
    for (std::size_t len = 0; len < kReset.size(); ++len) {
        std::vector<uint8_t> cut(kReset.begin(), kReset.begin() + static_cast<long>(len));
        std::vector<uint8_t> out(kReset.size());
        EXPECT_FALSE(server->unwrap(cut, out)) << "len " << len;
    }
    auto client = TlsCrypt::from_static_key(test_key(), Role::Client);
    ASSERT_TRUE(client);
    std::vector<uint8_t> out(kReset.size());
    EXPECT_FALSE(client->unwrap(kReset, out));  // the client receives with key[0]; this was sent with key[1]
    auto other = TlsCrypt::from_static_key(StaticKey::generate(), Role::Server);
    ASSERT_TRUE(other);
    EXPECT_FALSE(other->unwrap(kReset, out));
    // tls-auth packets are not tls-crypt packets.
    std::vector<uint8_t> ta(test::kClientResetTlsAuth, test::kClientResetTlsAuth + sizeof test::kClientResetTlsAuth);
    EXPECT_FALSE(server->unwrap(ta, out));
}

TEST(CryptoTlsCrypt, RoundTripInPlaceVariousSizes) {
    StaticKey key = StaticKey::generate();
    auto c = TlsCrypt::from_static_key(key, Role::Client);
    auto s = TlsCrypt::from_static_key(key, Role::Server);
    ASSERT_TRUE(c && s);
    for (std::size_t len : {9u, 10u, 14u, 100u, 511u, 512u, 513u, 1250u, 3000u}) {
        std::vector<uint8_t> plain(len);
        for (std::size_t i = 0; i < len; ++i) plain[i] = static_cast<uint8_t>(i * 13 + len);
        std::vector<uint8_t> buf = plain;
        buf.resize(len + TlsCrypt::overhead());
        auto n = c->wrap(std::span<const uint8_t>(buf.data(), len), buf, ReplayId{7, 99});
        ASSERT_TRUE(n);
        // The prefix stays clear, the rest is encrypted (checked from 8 bytes on: with a random key,
        // a 1-byte ciphertext equals its plaintext once in 256 runs).
        EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + 9), std::vector<uint8_t>(plain.begin(), plain.begin() + 9));
        if (len >= 9 + 8) {
            EXPECT_NE(std::vector<uint8_t>(buf.begin() + 49, buf.begin() + 49 + static_cast<long>(len - 9)),
                      std::vector<uint8_t>(plain.begin() + 9, plain.end()));
        }
        auto u = s->unwrap(buf, buf);
        ASSERT_TRUE(u) << u.error().message;
        EXPECT_EQ(u->replay_id, (ReplayId{7, 99}));
        EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + static_cast<long>(u->length)), plain);
        // Server to client too.
        std::vector<uint8_t> w(len + 40), p(len + 40);
        ASSERT_TRUE(s->wrap(plain, w, ReplayId{8, 99}));
        auto u2 = c->unwrap(w, p);
        ASSERT_TRUE(u2);
        EXPECT_EQ(std::vector<uint8_t>(p.begin(), p.begin() + static_cast<long>(u2->length)), plain);
    }
}

TEST(CryptoTlsCrypt, DynamicKeyIsEkmXorConfiguredKey) {
    std::array<uint8_t, kStaticKeySize> ekm{};
    ekm.fill(0xba);
    StaticKey plain = dynamic_tls_crypt_key(ekm, nullptr);
    EXPECT_EQ(plain.bytes()[0], 0xba);
    EXPECT_EQ(plain.bytes()[255], 0xba);
    std::array<uint8_t, kStaticKeySize> zeros{};
    StaticKey zero(zeros);
    StaticKey same = dynamic_tls_crypt_key(ekm, &zero);
    EXPECT_EQ(to_hex(same.bytes()), to_hex(plain.bytes()));
    StaticKey cfg = test_key();
    StaticKey mixed = dynamic_tls_crypt_key(ekm, &cfg);
    for (std::size_t i = 0; i < kStaticKeySize; ++i) ASSERT_EQ(mixed.bytes()[i], cfg.bytes()[i] ^ 0xba);

    // With a key whose two halves are equal, both roles send with the same keys (deterministic SIV).
    auto c = TlsCrypt::from_static_key(plain, Role::Client);
    auto s = TlsCrypt::from_static_key(plain, Role::Server);
    ASSERT_TRUE(c && s);
    std::vector<uint8_t> msg = {0x20, 1, 2, 3, 4, 5, 6, 7, 8, '1', '2', '3', '4', '5', '6', '7', '8', '9', '0'};
    std::vector<uint8_t> a(msg.size() + 40), b(msg.size() + 40);
    ASSERT_TRUE(c->wrap(msg, a, ReplayId{1, 0}));
    ASSERT_TRUE(s->wrap(msg, b, ReplayId{1, 0}));
    EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace wirebridge::crypto
