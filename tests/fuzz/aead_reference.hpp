// What the AEAD fuzz targets share: OpenSSL's EVP AEAD as the reference the data channel's
// ciphers are held to, and the one-bit forgery each target makes of a sealed packet.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../unit/crypto_test_util.hpp"

namespace wirebridge::fuzz {

// The reference seal: the unit tests' (OpenSSL's EVP AEAD, a fresh context per call).
using crypto::test::evp_aead_seal;

// Flips one bit of ciphertext or tag, chosen by the input's last byte and its size.
inline void flip_one_bit(const std::uint8_t* data, std::size_t size, std::vector<std::uint8_t>& body,
                         std::array<std::uint8_t, 16>& tag) {
    const std::size_t bits = (body.size() + tag.size()) * 8;
    const std::size_t bit = (static_cast<std::size_t>(data[size - 1]) * 131 + size) % bits;
    const auto mask = static_cast<std::uint8_t>(1u << (bit % 8));
    if (bit / 8 < body.size()) body[bit / 8] ^= mask;
    else tag[bit / 8 - body.size()] ^= mask;
}

}  // namespace wirebridge::fuzz
