// HMAC helper, random bytes and secure buffers: openvpn's test_crypto.c HMAC-SHA1 known answer,
// RFC 4231 HMAC-SHA256/512, context reuse after reset, constant-time equality semantics.
#include "crypto/hmac.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>

#include "crypto/random.hpp"
#include "crypto/secure_bytes.hpp"
#include "crypto_test_util.hpp"

namespace wirebridge::crypto {
namespace {

using test::from_hex;
using test::to_hex;

std::span<const uint8_t> str(const char* s) { return {reinterpret_cast<const uint8_t*>(s), std::strlen(s)}; }

TEST(CryptoHmac, OpenvpnKnownAnswerAndReuse) {
    // tests/unit_tests/openvpn/test_crypto.c crypto_test_hmac: key 0b 00.., text twice.
    const char* lorem = "Lorem ipsum dolor sit amet, consectetur adipisici elit, sed eiusmod tempor incidunt "
                        "ut labore et dolore magna aliqua.";
    std::array<uint8_t, 20> key{};
    key[0] = 0x0b;
    auto h = Hmac::create(Digest::Sha1, key);
    ASSERT_TRUE(h);
    key.fill(0x55);  // the context keeps its own copy
    for (int round = 0; round < 3; ++round) {
        h->reset();
        h->update(str(lorem));
        h->update(str(lorem));
        std::array<uint8_t, kMaxDigestSize> out{};
        ASSERT_EQ(h->final(out), 20u);
        EXPECT_EQ(to_hex(out.data(), 20), "58ea5af04294e917ed84b9f0833023ae8ba77eb8");
    }
}

TEST(CryptoHmac, Rfc4231Case2) {
    auto key = str("Jefe");
    auto data = str("what do ya want for nothing?");
    std::array<uint8_t, 64> out{};
    ASSERT_TRUE(hmac(Digest::Sha256, key, data, out));
    EXPECT_EQ(to_hex(out.data(), 32), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    ASSERT_TRUE(hmac(Digest::Sha512, key, data, out));
    EXPECT_EQ(to_hex(out.data(), 64),
              "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fd"
              "caeab1a34d4a6b4b636e070a38bce737");
    ASSERT_TRUE(hmac(Digest::Sha384, key, data, out));
    EXPECT_EQ(to_hex(out.data(), 48),
              "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649");
    std::array<uint8_t, 10> small{};
    EXPECT_FALSE(hmac(Digest::Sha256, key, data, small));
}

TEST(CryptoHmac, DigestNames) {
    EXPECT_EQ(parse_digest("sha1"), Digest::Sha1);
    EXPECT_EQ(parse_digest("SHA256"), Digest::Sha256);
    EXPECT_EQ(parse_digest("sha-512"), Digest::Sha512);
    EXPECT_EQ(parse_digest("SHA384"), Digest::Sha384);
    EXPECT_EQ(digest_size(Digest::Sha384), 48u);
    EXPECT_FALSE(parse_digest("MD5"));
    EXPECT_EQ(digest_name(Digest::Sha256), "SHA256");
    EXPECT_EQ(digest_size(Digest::Sha512), 64u);
}

TEST(CryptoHmac, RandomAndSecureBuffers) {
    std::array<uint8_t, 32> a{}, b{};
    ASSERT_TRUE(random_bytes(a));
    ASSERT_TRUE(random_bytes(b));
    EXPECT_NE(to_hex(a), to_hex(b));
    EXPECT_NE(random_u64(), random_u64());

    SecureBytes s(a);
    EXPECT_EQ(to_hex(s.span()), to_hex(a));
    SecureBytes moved = std::move(s);
    EXPECT_EQ(s.size(), 0u);
    EXPECT_EQ(moved.size(), 32u);
    SecureBytes copy = moved.clone();
    EXPECT_EQ(to_hex(copy.span()), to_hex(a));

    EXPECT_TRUE(constant_time_equal(a, a));
    EXPECT_FALSE(constant_time_equal(a, b));
    EXPECT_FALSE(constant_time_equal(std::span<const uint8_t>(a).first(31), a));
    EXPECT_TRUE(constant_time_equal({}, {}));

    uint8_t wipe[4] = {1, 2, 3, 4};
    secure_wipe(wipe, sizeof wipe);
    EXPECT_EQ(to_hex(wipe, 4), "00000000");
}

}  // namespace
}  // namespace wirebridge::crypto
