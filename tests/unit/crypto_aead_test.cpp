// AEAD data channel: known-answer packets (made independently from the 2.6 layout), round trips,
// tampering, truncation and wrong keys refused, key-block split by role.
#include "crypto/aead.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "crypto_test_util.hpp"

namespace wirebridge::crypto {
namespace {

using test::from_hex;
using test::to_hex;

std::array<uint8_t, kKeyBlockSize> counting_block() {
    std::array<uint8_t, kKeyBlockSize> b{};
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i);
    return b;
}

// Builds [header][20 spare bytes][payload] ready for seal().
std::vector<uint8_t> layout(const std::vector<uint8_t>& header, const std::string& payload) {
    std::vector<uint8_t> p(header);
    p.resize(header.size() + kAeadOverhead);
    p.insert(p.end(), payload.begin(), payload.end());
    return p;
}

struct Kat {
    AeadCipher cipher;
    Role sender;
    const char* header;
    uint32_t packet_id;
    std::string payload;
    const char* packet;
};

// Vectors computed with Python's `cryptography` AESGCM/ChaCha20Poly1305 from the layout in
// research §2.11 (nonce = pid || hmac-half[0..8), AAD = hdr(V2) || pid), key block = 00 01 .. ff.
const Kat kKats[] = {
    {AeadCipher::Aes256Gcm, Role::Client, "48000001", 1, "wirebridge AEAD test",
     "480000010000000119b1ff2a6c6e4997c483548a428ee5ecbca209d809c4cfad72db743631774c0387084ad5"},
    {AeadCipher::Aes128Gcm, Role::Server, "48abcdef", 0x01020304, std::string(7, '\0'),
     "48abcdef01020304ec4e48761712b27e10ac66edd1e1842ada5def2208250d"},
    {AeadCipher::Chacha20Poly1305, Role::Client, "30", 2, "data v1 chacha",
     "3000000002b66b0ab7a31c494437f8a43e999420b45bfa1ba1c15d703325d913af57c4"},
    {AeadCipher::Aes256Gcm, Role::Server, "48000007", 5, "", "4800000700000005caee92dd94e442f70ee1ae4faaa02fb9"},
};

TEST(CryptoAead, ParseCipherNamesCaseInsensitive) {
    EXPECT_EQ(parse_aead_cipher("aes-256-gcm"), AeadCipher::Aes256Gcm);
    EXPECT_EQ(parse_aead_cipher("AES-128-GCM"), AeadCipher::Aes128Gcm);
    EXPECT_EQ(parse_aead_cipher("ChaCha20-Poly1305"), AeadCipher::Chacha20Poly1305);
    EXPECT_FALSE(parse_aead_cipher("AES-256-CBC"));
    EXPECT_FALSE(parse_aead_cipher(""));
    EXPECT_EQ(aead_cipher_name(AeadCipher::Chacha20Poly1305), "CHACHA20-POLY1305");
    EXPECT_EQ(aead_key_size(AeadCipher::Aes128Gcm), 16u);
    EXPECT_EQ(aead_key_size(AeadCipher::Aes256Gcm), 32u);
}

TEST(CryptoAead, KeyBlockSplitFollowsRole) {
    auto block = counting_block();
    auto c = split_key_block(block, Role::Client, AeadCipher::Aes128Gcm);
    auto s = split_key_block(block, Role::Server, AeadCipher::Aes128Gcm);
    ASSERT_EQ(c.send.key.size(), 16u);
    EXPECT_EQ(c.send.key[0], 0);      // c2s cipher half starts at 0
    EXPECT_EQ(c.send.implicit_iv[0], 64);  // c2s hmac half starts at 64
    EXPECT_EQ(c.recv.key[0], 128);    // s2c cipher
    EXPECT_EQ(c.recv.implicit_iv[7], 192 + 7);
    EXPECT_EQ(to_hex(s.send.key.span()), to_hex(c.recv.key.span()));
    EXPECT_EQ(to_hex(s.recv.implicit_iv.span()), to_hex(c.send.implicit_iv.span()));
}

TEST(CryptoAead, KnownAnswerSealAndOpen) {
    auto block = counting_block();
    for (const Kat& k : kKats) {
        SCOPED_TRACE(std::string(aead_cipher_name(k.cipher)) + " " + k.header);
        auto hdr = from_hex(k.header);
        auto sender = split_key_block(block, k.sender, k.cipher);
        auto receiver = split_key_block(block, k.sender == Role::Client ? Role::Server : Role::Client, k.cipher);
        auto enc = AeadEncryptor::create(k.cipher, sender.send);
        ASSERT_TRUE(enc) << enc.error().message;
        auto pkt = layout(hdr, k.payload);
        ASSERT_EQ(enc->seal(pkt, hdr.size(), k.packet_id), AeadStatus::Ok);
        EXPECT_EQ(to_hex(pkt), k.packet);

        auto dec = AeadDecryptor::create(k.cipher, receiver.recv);
        ASSERT_TRUE(dec);
        auto wire = from_hex(k.packet);
        AeadOpened o;
        ASSERT_EQ(dec->open(wire, hdr.size(), o), AeadStatus::Ok);
        EXPECT_EQ(o.packet_id, k.packet_id);
        EXPECT_EQ(std::string(o.payload.begin(), o.payload.end()), k.payload);
        EXPECT_EQ(o.payload.data(), wire.data() + hdr.size() + kAeadOverhead);  // in place
    }
}

TEST(CryptoAead, EveryBitFlipAndTruncationRefused) {
    auto block = counting_block();
    for (const Kat& k : kKats) {
        SCOPED_TRACE(k.packet);
        auto hdr = from_hex(k.header);
        auto keys = split_key_block(block, k.sender == Role::Client ? Role::Server : Role::Client, k.cipher);
        auto dec = AeadDecryptor::create(k.cipher, keys.recv);
        ASSERT_TRUE(dec);
        const auto good = from_hex(k.packet);
        // DATA_V1's opcode byte is not authenticated (openvpn prepends it after encryption).
        const std::size_t first = hdr.size() == kDataV1HeaderSize ? 1 : 0;
        for (std::size_t i = first; i < good.size(); ++i) {
            for (int bit = 0; bit < 8; bit += 3) {
                auto bad = good;
                bad[i] ^= static_cast<uint8_t>(1u << bit);
                AeadOpened o;
                EXPECT_EQ(dec->open(bad, hdr.size(), o), AeadStatus::AuthFailed) << "byte " << i;
            }
        }
        for (std::size_t len = 0; len < good.size(); ++len) {
            auto cut = std::vector<uint8_t>(good.begin(), good.begin() + static_cast<long>(len));
            AeadOpened o;
            AeadStatus s = dec->open(cut, hdr.size(), o);
            EXPECT_TRUE(s == AeadStatus::TooShort || s == AeadStatus::AuthFailed) << "len " << len;
        }
        // The context still works after failures.
        auto again = good;
        AeadOpened o;
        EXPECT_EQ(dec->open(again, hdr.size(), o), AeadStatus::Ok);
    }
}

TEST(CryptoAead, WrongKeyOrDirectionRefused) {
    auto block = counting_block();
    auto client = split_key_block(block, Role::Client, AeadCipher::Aes256Gcm);
    auto enc = AeadEncryptor::create(AeadCipher::Aes256Gcm, client.send);
    ASSERT_TRUE(enc);
    auto pkt = layout(from_hex("48000001"), "hello");
    ASSERT_EQ(enc->seal(pkt, 4, 9), AeadStatus::Ok);

    // Our own receive key (s2c) must not open our own c2s packet.
    auto own_rx = AeadDecryptor::create(AeadCipher::Aes256Gcm, client.recv);
    ASSERT_TRUE(own_rx);
    AeadOpened o;
    auto copy = pkt;
    EXPECT_EQ(own_rx->open(copy, 4, o), AeadStatus::AuthFailed);

    // Same key, different implicit IV.
    AeadKeys other{client.send.key.clone(), client.send.implicit_iv};
    other.implicit_iv[0] ^= 1;
    auto wrong_iv = AeadDecryptor::create(AeadCipher::Aes256Gcm, other);
    ASSERT_TRUE(wrong_iv);
    copy = pkt;
    EXPECT_EQ(wrong_iv->open(copy, 4, o), AeadStatus::AuthFailed);

    // Reading a V2 packet as V1 changes the AAD.
    auto right = AeadDecryptor::create(AeadCipher::Aes256Gcm, split_key_block(block, Role::Server, AeadCipher::Aes256Gcm).recv);
    ASSERT_TRUE(right);
    copy = pkt;
    EXPECT_NE(right->open(copy, 1, o), AeadStatus::Ok);
    copy = pkt;
    EXPECT_EQ(right->open(copy, 4, o), AeadStatus::Ok);
}

TEST(CryptoAead, RoundTripManyPacketsAllCiphers) {
    std::array<uint8_t, kKeyBlockSize> block{};
    for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<uint8_t>(i * 7 + 3);
    for (AeadCipher c : {AeadCipher::Aes128Gcm, AeadCipher::Aes256Gcm, AeadCipher::Chacha20Poly1305}) {
        auto enc = AeadEncryptor::create(c, split_key_block(block, Role::Server, c).send);
        auto dec = AeadDecryptor::create(c, split_key_block(block, Role::Client, c).recv);
        ASSERT_TRUE(enc && dec);
        std::vector<uint8_t> buf(4 + kAeadOverhead + 1600);
        for (uint32_t pid = 1; pid <= 300; ++pid) {
            const std::size_t len = (pid * 37) % 1600;
            std::vector<uint8_t> pkt(buf.begin(), buf.begin() + static_cast<long>(4 + kAeadOverhead + len));
            pkt[0] = 0x48;
            pkt[1] = 0;
            pkt[2] = 0;
            pkt[3] = static_cast<uint8_t>(pid);
            for (std::size_t i = 0; i < len; ++i) pkt[24 + i] = static_cast<uint8_t>(i ^ pid);
            ASSERT_EQ(enc->seal(pkt, 4, pid), AeadStatus::Ok);
            AeadOpened o;
            ASSERT_EQ(dec->open(pkt, 4, o), AeadStatus::Ok);
            ASSERT_EQ(o.packet_id, pid);
            ASSERT_EQ(o.payload.size(), len);
            for (std::size_t i = 0; i < len; ++i) ASSERT_EQ(o.payload[i], static_cast<uint8_t>(i ^ pid));
        }
    }
}

TEST(CryptoAead, BadArgumentsRefused) {
    auto block = counting_block();
    auto keys = split_key_block(block, Role::Client, AeadCipher::Aes256Gcm);
    auto short_key = AeadEncryptor::create(AeadCipher::Aes128Gcm, keys.send);  // 32-byte key for a 16-byte cipher
    ASSERT_FALSE(short_key);
    EXPECT_NE(short_key.error().message.find("16-byte key"), std::string::npos);
    auto enc = AeadEncryptor::create(AeadCipher::Aes256Gcm, keys.send);
    ASSERT_TRUE(enc);
    std::vector<uint8_t> pkt(30);
    EXPECT_EQ(enc->seal(pkt, 2, 1), AeadStatus::BadHeader);
    std::vector<uint8_t> tiny(10);
    EXPECT_EQ(enc->seal(tiny, 4, 1), AeadStatus::TooShort);
    EXPECT_EQ(aead_status_text(AeadStatus::AuthFailed), "authentication failed");
}

TEST(CryptoAead, MovedContextStillWorks) {
    auto block = counting_block();
    auto enc = AeadEncryptor::create(AeadCipher::Aes256Gcm, split_key_block(block, Role::Client, AeadCipher::Aes256Gcm).send);
    ASSERT_TRUE(enc);
    AeadEncryptor moved = std::move(*enc);
    auto pkt = layout(from_hex("48000001"), "wirebridge AEAD test");
    ASSERT_EQ(moved.seal(pkt, 4, 1), AeadStatus::Ok);
    EXPECT_EQ(to_hex(pkt), kKats[0].packet);
}

}  // namespace
}  // namespace wirebridge::crypto
