// ChachaPoly (RFC 8439 AEAD from OpenSSL's ChaCha20 and Poly1305): RFC 8439's test vector, byte
// for byte equality with OpenSSL's own EVP_chacha20_poly1305 over every length that matters (empty,
// block edges, more than one keystream chunk) and AAD size, round trips on one reused context,
// and refusals that leave the ciphertext untouched.
#include "crypto/chacha20_poly1305.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "crypto_test_util.hpp"

namespace wirebridge::crypto {
namespace {

using test::from_hex;
using test::to_hex;

using Nonce = std::array<std::uint8_t, ChachaPoly::kNonceSize>;
using Tag = std::array<std::uint8_t, ChachaPoly::kTagSize>;

using test::pattern;

// The reference: OpenSSL's AEAD, one fresh context per call.
void openssl_seal(const std::vector<std::uint8_t>& key, const Nonce& nonce, const std::vector<std::uint8_t>& aad,
                  std::vector<std::uint8_t>& body, Tag& tag) {
    ASSERT_TRUE(test::evp_aead_seal(EVP_chacha20_poly1305(), key, nonce, aad, body, tag));
}

std::vector<std::uint8_t> key_bytes() { return pattern(32, 1); }

TEST(ChachaPoly, Rfc8439AeadVector) {
    // RFC 8439, section 2.8.2.
    std::vector<std::uint8_t> key(32);
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(0x80 + i);
    const auto nonce_v = from_hex("070000004041424344454647");
    Nonce nonce{};
    std::memcpy(nonce.data(), nonce_v.data(), nonce.size());
    const auto aad = from_hex("50515253c0c1c2c3c4c5c6c7");
    const std::string text =
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
    std::vector<std::uint8_t> body(text.begin(), text.end());
    auto c = ChachaPoly::create(key);
    ASSERT_TRUE(c) << c.error().message;
    Tag tag{};
    ASSERT_TRUE(c->seal(nonce, aad, body, tag));
    EXPECT_EQ(to_hex(body),
              "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b"
              "1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
              "3ff4def08e4b7a9de576d26586cec64b6116");
    EXPECT_EQ(to_hex(tag), "1ae10b594f09e26a7e902ecbd0600691");
    ASSERT_EQ(c->open(nonce, aad, body, tag), ChachaPoly::Opened::ok);
    EXPECT_EQ(std::string(body.begin(), body.end()), text);
}

TEST(ChachaPoly, SameBytesAsOpenSslForEveryLengthOnOneContext) {
    const auto key = key_bytes();
    auto sealer = ChachaPoly::create(key);
    auto opener = ChachaPoly::create(key);
    ASSERT_TRUE(sealer && opener);
    // Empty, one byte, either side of every 16-byte (Poly1305) and 64-byte (ChaCha20) edge up to
    // a few blocks, a full frame, the edge of one keystream chunk and bodies of several chunks.
    std::vector<std::size_t> lengths;
    for (std::size_t n = 0; n <= 200; ++n) lengths.push_back(n);
    for (std::size_t n : {1400u, 1500u, 1983u, 1984u, 1985u, 2047u, 2048u, 2049u, 4032u, 4033u, 5000u, 9000u})
        lengths.push_back(n);
    unsigned seed = 0;
    for (std::size_t aad_len : {0u, 1u, 4u, 8u, 15u, 16u, 17u, 40u}) {
        for (std::size_t len : lengths) {
            ++seed;
            Nonce nonce{};
            for (std::size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<std::uint8_t>(seed * 7 + i);
            const auto aad = pattern(aad_len, seed + 1000);
            const auto plain = pattern(len, seed);
            std::vector<std::uint8_t> ours = plain, theirs = plain;
            Tag our_tag{}, their_tag{};
            ASSERT_TRUE(sealer->seal(nonce, aad, ours, our_tag));
            openssl_seal(key, nonce, aad, theirs, their_tag);
            ASSERT_EQ(ours, theirs) << "length " << len << ", aad " << aad_len;
            ASSERT_EQ(our_tag, their_tag) << "length " << len << ", aad " << aad_len;
            ASSERT_EQ(opener->open(nonce, aad, ours, our_tag), ChachaPoly::Opened::ok) << "length " << len;
            ASSERT_EQ(ours, plain) << "length " << len;
        }
    }
}

TEST(ChachaPoly, RefusesAnyChangeAndLeavesTheCiphertextAsItCame) {
    const auto key = key_bytes();
    auto c = ChachaPoly::create(key);
    ASSERT_TRUE(c);
    const Nonce nonce{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const auto aad = pattern(8, 3);
    std::vector<std::uint8_t> sealed = pattern(100, 9);
    Tag tag{};
    ASSERT_TRUE(c->seal(nonce, aad, sealed, tag));

    for (std::size_t i = 0; i < sealed.size(); ++i) {  // every ciphertext byte
        auto body = sealed;
        body[i] ^= 0x01;
        const auto before = body;
        EXPECT_EQ(c->open(nonce, aad, body, tag), ChachaPoly::Opened::auth_failed) << "byte " << i;
        EXPECT_EQ(body, before) << "a refused packet was decrypted (byte " << i << ")";
    }
    for (std::size_t i = 0; i < tag.size(); ++i) {  // every tag byte
        auto body = sealed;
        Tag bad = tag;
        bad[i] ^= 0x80;
        EXPECT_EQ(c->open(nonce, aad, body, bad), ChachaPoly::Opened::auth_failed) << "tag byte " << i;
    }
    for (std::size_t i = 0; i < aad.size(); ++i) {  // every AAD byte
        auto body = sealed;
        auto bad = aad;
        bad[i] ^= 0x10;
        EXPECT_EQ(c->open(nonce, bad, body, tag), ChachaPoly::Opened::auth_failed) << "aad byte " << i;
    }
    {  // another nonce, a shorter body, another key
        auto body = sealed;
        Nonce other = nonce;
        other[0] ^= 1;
        EXPECT_EQ(c->open(other, aad, body, tag), ChachaPoly::Opened::auth_failed);
        auto shorter = std::vector<std::uint8_t>(sealed.begin(), sealed.end() - 1);
        EXPECT_EQ(c->open(nonce, aad, shorter, tag), ChachaPoly::Opened::auth_failed);
        auto wrong = ChachaPoly::create(pattern(32, 2));
        ASSERT_TRUE(wrong);
        body = sealed;
        EXPECT_EQ(wrong->open(nonce, aad, body, tag), ChachaPoly::Opened::auth_failed);
    }
    auto body = sealed;  // and the untouched packet still opens after all those refusals
    EXPECT_EQ(c->open(nonce, aad, body, tag), ChachaPoly::Opened::ok);
    EXPECT_EQ(body, pattern(100, 9));
}

TEST(ChachaPoly, KeyOfTheWrongSizeIsRefused) {
    EXPECT_FALSE(ChachaPoly::create(pattern(16, 1)));
    EXPECT_FALSE(ChachaPoly::create(pattern(33, 1)));
    EXPECT_FALSE(ChachaPoly::create({}));
}

TEST(ChachaPoly, MovedContextKeepsWorking) {
    const auto key = key_bytes();
    auto a = ChachaPoly::create(key);
    ASSERT_TRUE(a);
    ChachaPoly b = std::move(*a);
    ChachaPoly c = ChachaPoly::create(pattern(32, 5)).value();
    c = std::move(b);
    const Nonce nonce{};
    std::vector<std::uint8_t> body = pattern(70, 4), ref = body;
    Tag tag{}, ref_tag{};
    ASSERT_TRUE(c.seal(nonce, {}, body, tag));
    openssl_seal(key, nonce, {}, ref, ref_tag);
    EXPECT_EQ(body, ref);
    EXPECT_EQ(tag, ref_tag);
}

}  // namespace
}  // namespace wirebridge::crypto
