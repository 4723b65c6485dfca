// Tests of the CBC + HMAC data channel: the wire layout (HMAC, IV, padded ciphertext after the
// header), every cipher/digest pair round trip, the key split of the key block, tampering of any
// byte, another key, and an authentic packet with bad padding refused.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstring>
#include <vector>

#include "crypto/cbc_hmac.hpp"

using namespace wirebridge::crypto;
using Bytes = std::vector<std::uint8_t>;

namespace {

CbcKeys keys(const CbcSuite& s, std::uint8_t fill) {
    Bytes c(cbc_key_size(s.cipher), fill), h(digest_size(s.digest), static_cast<std::uint8_t>(fill + 1));
    return CbcKeys{SecureBytes(std::span<const std::uint8_t>(c)), SecureBytes(std::span<const std::uint8_t>(h))};
}

// header (4) + payload at `at`; returns the sealed packet.
Bytes seal(CbcEncryptor& e, const Bytes& payload, std::uint32_t id, std::size_t at = 24) {
    Bytes buf(at + payload.size() + 128, 0);
    buf[0] = 9 << 3;
    buf[3] = 7;
    if (!payload.empty()) std::memcpy(buf.data() + at, payload.data(), payload.size());
    const std::size_t n = e.seal(buf, 4, at, payload.size(), id);
    EXPECT_NE(n, 0u);
    buf.resize(n);
    return buf;
}

Bytes payload(std::size_t n) {
    Bytes p;
    for (std::size_t i = 0; i < n; ++i) p.push_back(static_cast<std::uint8_t>(i * 13 + 1));
    return p;
}

}  // namespace

TEST(CbcHmac, RoundTripAndLayoutForEverySuite) {
    for (CbcCipher c : {CbcCipher::Aes128Cbc, CbcCipher::Aes256Cbc})
        for (Digest d : {Digest::Sha1, Digest::Sha256, Digest::Sha512}) {
            const CbcSuite s{c, d};
            auto e = CbcEncryptor::create(s, keys(s, 0x40));
            auto dec = CbcDecryptor::create(s, keys(s, 0x40));
            ASSERT_TRUE(e && dec);
            for (std::size_t len : {0u, 11u, 12u, 13u, 60u, 1514u}) {
                const Bytes p = payload(len);
                Bytes pkt = seal(*e, p, 1000 + static_cast<std::uint32_t>(len));
                // header | HMAC | IV | CBC(packet-id | payload | 1..16 bytes of padding)
                const std::size_t ct = (4 + len) / 16 * 16 + 16;
                ASSERT_EQ(pkt.size(), 4 + digest_size(d) + 16 + ct) << len;
                EXPECT_EQ(pkt[0], 9 << 3);
                EXPECT_EQ(pkt[3], 7);
                AeadOpened o;
                ASSERT_EQ(dec->open(pkt, 4, o), AeadStatus::Ok);
                EXPECT_EQ(o.packet_id, 1000 + len);
                EXPECT_EQ(Bytes(o.payload.begin(), o.payload.end()), p);
            }
        }
}

TEST(CbcHmac, HmacCoversIvAndCiphertextWithTheDirectionsKey) {
    const CbcSuite s{CbcCipher::Aes256Cbc, Digest::Sha256};
    const CbcKeys k = keys(s, 0x10);
    auto e = CbcEncryptor::create(s, k);
    ASSERT_TRUE(e);
    const Bytes pkt = seal(*e, payload(100), 5);
    std::uint8_t mac[64];
    ASSERT_TRUE(hmac(Digest::Sha256, k.hmac_key.span(), std::span<const std::uint8_t>(pkt).subspan(4 + 32), mac));
    EXPECT_EQ(std::memcmp(mac, pkt.data() + 4, 32), 0);
    // Decrypting with the cipher key and the IV gives packet-id || payload.
    Bytes plain(pkt.size());
    int n = 0, m = 0;
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    ASSERT_EQ(EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), nullptr, k.cipher_key.data(), pkt.data() + 36), 1);
    ASSERT_EQ(EVP_DecryptUpdate(ctx, plain.data(), &n, pkt.data() + 52, static_cast<int>(pkt.size() - 52)), 1);
    ASSERT_EQ(EVP_DecryptFinal_ex(ctx, plain.data() + n, &m), 1);
    EVP_CIPHER_CTX_free(ctx);
    ASSERT_EQ(n + m, 104);
    EXPECT_EQ(Bytes(plain.begin(), plain.begin() + 4), (Bytes{0, 0, 0, 5}));
    EXPECT_EQ(Bytes(plain.begin() + 4, plain.begin() + 104), payload(100));
}

TEST(CbcHmac, TamperingAndOtherKeysRefused) {
    const CbcSuite s{CbcCipher::Aes128Cbc, Digest::Sha1};
    auto e = CbcEncryptor::create(s, keys(s, 1));
    auto dec = CbcDecryptor::create(s, keys(s, 1));
    auto other = CbcDecryptor::create(s, keys(s, 2));
    ASSERT_TRUE(e && dec && other);
    const Bytes pkt = seal(*e, payload(80), 9);
    AeadOpened o;
    Bytes copy = pkt;
    EXPECT_EQ(other->open(copy, 4, o), AeadStatus::AuthFailed);
    // The header is not authenticated (as OpenVPN); every byte after it is.
    for (std::size_t i = 4; i < pkt.size(); ++i) {
        copy = pkt;
        copy[i] ^= 0x01;
        EXPECT_EQ(dec->open(copy, 4, o), AeadStatus::AuthFailed) << i;
    }
    copy = pkt;
    copy.pop_back();
    EXPECT_EQ(dec->open(copy, 4, o), AeadStatus::AuthFailed);
    copy.resize(4 + 20 + 16 + 8);
    EXPECT_EQ(dec->open(copy, 4, o), AeadStatus::TooShort);
    copy = pkt;
    ASSERT_EQ(dec->open(copy, 4, o), AeadStatus::Ok);
}

TEST(CbcHmac, AuthenticButBadPaddingRefused) {
    const CbcSuite s{CbcCipher::Aes256Cbc, Digest::Sha1};
    const CbcKeys k = keys(s, 3);
    auto dec = CbcDecryptor::create(s, k);
    ASSERT_TRUE(dec);
    // One block, last byte 0x00 (not a PKCS#7 pad), encrypted without padding, HMAC right.
    Bytes pkt(4 + 20 + 16 + 16, 0);
    for (std::size_t i = 0; i < 16; ++i) pkt[24 + i] = static_cast<std::uint8_t>(i);
    const Bytes plain(16, 0);
    int n = 0;
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    ASSERT_EQ(EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), nullptr, k.cipher_key.data(), pkt.data() + 24), 1);
    EVP_CIPHER_CTX_set_padding(ctx, 0);
    ASSERT_EQ(EVP_EncryptUpdate(ctx, pkt.data() + 40, &n, plain.data(), 16), 1);
    EVP_CIPHER_CTX_free(ctx);
    ASSERT_TRUE(hmac(Digest::Sha1, k.hmac_key.span(), std::span<const std::uint8_t>(pkt).subspan(24), std::span<std::uint8_t>(pkt).subspan(4, 20)));
    AeadOpened o;
    EXPECT_EQ(dec->open(pkt, 4, o), AeadStatus::AuthFailed);
}

TEST(CbcHmac, KeySplitTakesEachHalfsPrefix) {
    std::uint8_t block[kKeyBlockSize];
    for (std::size_t i = 0; i < sizeof block; ++i) block[i] = static_cast<std::uint8_t>(i);
    const CbcSuite s{CbcCipher::Aes128Cbc, Digest::Sha256};
    const CbcChannelKeys c = split_cbc_key_block(std::span<const std::uint8_t, kKeyBlockSize>(block), Role::Client, s);
    const CbcChannelKeys v = split_cbc_key_block(std::span<const std::uint8_t, kKeyBlockSize>(block), Role::Server, s);
    ASSERT_EQ(c.send.cipher_key.size(), 16u);
    ASSERT_EQ(c.send.hmac_key.size(), 32u);
    EXPECT_EQ(c.send.cipher_key[0], 0);     // c2s cipher
    EXPECT_EQ(c.send.hmac_key[0], 64);      // c2s hmac
    EXPECT_EQ(c.recv.cipher_key[0], 128);   // s2c cipher
    EXPECT_EQ(c.recv.hmac_key[31], 192 + 31);
    EXPECT_EQ(v.send.cipher_key[0], 128);
    EXPECT_EQ(v.recv.hmac_key[0], 64);
    EXPECT_EQ(parse_cbc_cipher("aes-256-cbc"), CbcCipher::Aes256Cbc);
    EXPECT_FALSE(parse_cbc_cipher("BF-CBC"));
}
