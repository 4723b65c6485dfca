// AesGcm (AES-GCM through its OpenSSL provider's own functions): the GCM paper's test vectors
// (McGrew and Viega, test cases 1, 2, 13, 14), byte for byte equality with OpenSSL's EVP interface
// over every length that matters on one reused context, both key sizes, refusals of any change,
// and misuse (wrong key size, the wrong direction, a moved-from context).
#include "crypto/aes_gcm.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <string>
#include <vector>

#include "crypto_test_util.hpp"

namespace wirebridge::crypto {
namespace {

using test::from_hex;
using test::to_hex;

using Nonce = std::array<std::uint8_t, AesGcm::kNonceSize>;
using Tag = std::array<std::uint8_t, AesGcm::kTagSize>;

using test::pattern;

// The reference: OpenSSL's EVP interface, one fresh context per call.
void evp_seal(const std::vector<std::uint8_t>& key, const Nonce& nonce, const std::vector<std::uint8_t>& aad,
              std::vector<std::uint8_t>& body, Tag& tag) {
    ASSERT_TRUE(test::evp_aead_seal(key.size() == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm(), key, nonce, aad, body, tag));
}

struct Vector {
    const char* name;
    const char* key;
    const char* plaintext;
    const char* ciphertext;
    const char* tag;
};

TEST(AesGcm, GcmPaperVectors) {
    // All-zero keys and nonces: test cases 1, 2 (AES-128) and 13, 14 (AES-256).
    const Vector vectors[] = {
        {"case 1", "00000000000000000000000000000000", "", "", "58e2fccefa7e3061367f1d57a4e7455a"},
        {"case 2", "00000000000000000000000000000000", "00000000000000000000000000000000",
         "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"},
        {"case 13", "0000000000000000000000000000000000000000000000000000000000000000", "", "",
         "530f8afbc74536b9a963b4f1c4cb738b"},
        {"case 14", "0000000000000000000000000000000000000000000000000000000000000000",
         "00000000000000000000000000000000", "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    };
    const Nonce nonce{};
    for (const auto& v : vectors) {
        SCOPED_TRACE(v.name);
        const auto key = from_hex(v.key);
        auto enc = AesGcm::create(key, true);
        auto dec = AesGcm::create(key, false);
        ASSERT_TRUE(enc) << enc.error().message;
        ASSERT_TRUE(dec) << dec.error().message;
        auto body = from_hex(v.plaintext);
        Tag tag{};
        ASSERT_TRUE(enc->seal(nonce, {}, body, tag));
        EXPECT_EQ(to_hex(body), v.ciphertext);
        EXPECT_EQ(to_hex(tag), v.tag);
        EXPECT_EQ(dec->open(nonce, {}, body, tag), AesGcm::Opened::ok);
        EXPECT_EQ(to_hex(body), v.plaintext);
    }
}

TEST(AesGcm, SameBytesAsEvpForEveryLengthOnOneContext) {
    for (const std::size_t key_size : {16u, 32u}) {
        SCOPED_TRACE("key " + std::to_string(key_size));
        const auto key = pattern(key_size, 1);
        auto enc = AesGcm::create(key, true);
        auto dec = AesGcm::create(key, false);
        ASSERT_TRUE(enc && dec);
        unsigned packet = 0;
        for (const std::size_t aad_len : {0u, 4u, 8u, 17u}) {
            for (const std::size_t len : {0u, 1u, 15u, 16u, 17u, 63u, 64u, 100u, 1400u, 1500u, 4096u}) {
                SCOPED_TRACE("aad " + std::to_string(aad_len) + " len " + std::to_string(len));
                Nonce nonce{};
                nonce[0] = static_cast<std::uint8_t>(++packet);
                nonce[11] = static_cast<std::uint8_t>(key_size);
                const auto aad = pattern(aad_len, 2);
                auto ours = pattern(len, 3);
                auto theirs = ours;
                const auto plain = ours;
                Tag our_tag{}, their_tag{};
                ASSERT_TRUE(enc->seal(nonce, aad, ours, our_tag));
                evp_seal(key, nonce, aad, theirs, their_tag);
                EXPECT_EQ(ours, theirs);
                EXPECT_EQ(our_tag, their_tag);
                ASSERT_EQ(dec->open(nonce, aad, ours, our_tag), AesGcm::Opened::ok);
                EXPECT_EQ(ours, plain);
            }
        }
    }
}

TEST(AesGcm, RefusesAnyChange) {
    const auto key = pattern(32, 4);
    auto enc = AesGcm::create(key, true);
    auto dec = AesGcm::create(key, false);
    ASSERT_TRUE(enc && dec);
    const Nonce nonce{1, 2, 3};
    const auto aad = pattern(8, 5);
    auto sealed = pattern(64, 6);
    Tag tag{};
    ASSERT_TRUE(enc->seal(nonce, aad, sealed, tag));
    auto open = [&](Nonce n, std::vector<std::uint8_t> a, std::vector<std::uint8_t> body, Tag t) {
        return dec->open(n, a, body, t);
    };
    EXPECT_EQ(open(nonce, aad, sealed, tag), AesGcm::Opened::ok);
    for (std::size_t bit = 0; bit < 16 * 8; bit += 7) {
        Tag t = tag;
        t[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
        EXPECT_EQ(open(nonce, aad, sealed, t), AesGcm::Opened::auth_failed) << "tag bit " << bit;
    }
    for (std::size_t bit = 0; bit < sealed.size() * 8; bit += 13) {
        auto b = sealed;
        b[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
        EXPECT_EQ(open(nonce, aad, b, tag), AesGcm::Opened::auth_failed) << "body bit " << bit;
    }
    auto a = aad;
    a[0] ^= 1;
    EXPECT_EQ(open(nonce, a, sealed, tag), AesGcm::Opened::auth_failed);
    Nonce other = nonce;
    other[11] ^= 1;
    EXPECT_EQ(open(other, aad, sealed, tag), AesGcm::Opened::auth_failed);
    EXPECT_EQ(open(nonce, aad, std::vector<std::uint8_t>(sealed.begin(), sealed.end() - 1), tag), AesGcm::Opened::auth_failed);
    // After all the refusals the same context still opens the real packet.
    EXPECT_EQ(open(nonce, aad, sealed, tag), AesGcm::Opened::ok);
}

TEST(AesGcm, MisuseRefused) {
    EXPECT_FALSE(AesGcm::create(pattern(24, 1), true));  // AES-192 is not a data channel cipher
    EXPECT_FALSE(AesGcm::create({}, false));
    const auto key = pattern(16, 7);
    auto enc = AesGcm::create(key, true);
    auto dec = AesGcm::create(key, false);
    ASSERT_TRUE(enc && dec);
    const Nonce nonce{};
    auto body = pattern(20, 8);
    Tag tag{};
    EXPECT_FALSE(dec->seal(nonce, {}, body, tag));  // each context serves one direction
    ASSERT_TRUE(enc->seal(nonce, {}, body, tag));
    EXPECT_EQ(enc->open(nonce, {}, body, tag), AesGcm::Opened::crypto_error);
}

TEST(AesGcm, MovedContextKeepsWorking) {
    const auto key = pattern(32, 9);
    auto made = AesGcm::create(key, true);
    ASSERT_TRUE(made);
    AesGcm enc = std::move(*made);
    auto dec_made = AesGcm::create(key, false);
    ASSERT_TRUE(dec_made);
    AesGcm dec = std::move(*dec_made);
    AesGcm other = std::move(*AesGcm::create(pattern(32, 10), false));
    other = std::move(dec);  // the old context is freed, this one taken over
    const Nonce nonce{9};
    auto body = pattern(100, 11);
    const auto plain = body;
    Tag tag{};
    ASSERT_TRUE(enc.seal(nonce, {}, body, tag));
    EXPECT_EQ(other.open(nonce, {}, body, tag), AesGcm::Opened::ok);
    EXPECT_EQ(body, plain);
}

}  // namespace
}  // namespace wirebridge::crypto
