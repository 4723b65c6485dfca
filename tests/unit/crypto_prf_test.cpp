// TLS1-PRF and OpenVPN's legacy key expansion: openvpn's test_crypto.c known answer, plus the
// structure of the two-step derivation (labels, seeds, secret of the second step).
#include "crypto/prf.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "crypto_test_util.hpp"

namespace wirebridge::crypto {
namespace {

using test::to_hex;

std::span<const uint8_t> str(const char* s) { return {reinterpret_cast<const uint8_t*>(s), std::strlen(s)}; }

TEST(CryptoPrf, OpenvpnKnownAnswer) {
    // tests/unit_tests/openvpn/test_crypto.c crypto_test_tls_prf
    const char* secret = "Lorem ipsum dolor sit amet, consectetur adipisici elit, sed eiusmod tempor incidunt "
                         "ut labore et dolore magna aliqua.";
    const char* seed = "Quis aute iure reprehenderit in voluptate velit esse cillum dolore";
    std::array<uint8_t, 32> out{};
    ASSERT_TRUE(tls1_prf(str(secret), str(seed), out));
    EXPECT_EQ(to_hex(out), "d98c8518c85e946927916acfc2d592fbb1567e4b4b1459e6a904ac2ddab72d67");
}

TEST(CryptoPrf, KeyBlockIsTwoStepDerivation) {
    std::array<uint8_t, 48> pre{};
    std::array<uint8_t, 32> cr1{}, sr1{}, cr2{}, sr2{};
    std::array<uint8_t, 8> csid{}, ssid{};
    for (int i = 0; i < 48; ++i) pre[i] = static_cast<uint8_t>(i);
    for (int i = 0; i < 32; ++i) {
        cr1[i] = static_cast<uint8_t>(0x10 + i);
        sr1[i] = static_cast<uint8_t>(0x40 + i);
        cr2[i] = static_cast<uint8_t>(0x70 + i);
        sr2[i] = static_cast<uint8_t>(0xa0 + i);
    }
    for (int i = 0; i < 8; ++i) {
        csid[i] = static_cast<uint8_t>(0xc0 + i);
        ssid[i] = static_cast<uint8_t>(0xe0 + i);
    }
    PrfInputs in{pre, cr1, sr1, cr2, sr2, csid, ssid};
    auto block = openvpn_prf_key_block(in);
    ASSERT_TRUE(block) << block.error().message;

    // Recompute by hand with the primitive (ssl.c generate_key_expansion_openvpn_prf).
    std::vector<uint8_t> seed1(str("OpenVPN master secret").begin(), str("OpenVPN master secret").end());
    seed1.insert(seed1.end(), cr1.begin(), cr1.end());
    seed1.insert(seed1.end(), sr1.begin(), sr1.end());
    std::array<uint8_t, 48> master{};
    ASSERT_TRUE(tls1_prf(pre, seed1, master));
    std::vector<uint8_t> seed2(str("OpenVPN key expansion").begin(), str("OpenVPN key expansion").end());
    for (auto* part : {&cr2, &sr2}) seed2.insert(seed2.end(), part->begin(), part->end());
    seed2.insert(seed2.end(), csid.begin(), csid.end());
    seed2.insert(seed2.end(), ssid.begin(), ssid.end());
    std::array<uint8_t, 256> expect{};
    ASSERT_TRUE(tls1_prf(master, seed2, expect));
    EXPECT_EQ(to_hex(block->span()), to_hex(expect));

    // Swapping the session ids changes everything (they are part of the seed).
    PrfInputs swapped{pre, cr1, sr1, cr2, sr2, ssid, csid};
    auto other = openvpn_prf_key_block(swapped);
    ASSERT_TRUE(other);
    EXPECT_NE(to_hex(other->span()), to_hex(block->span()));
}

}  // namespace
}  // namespace wirebridge::crypto
