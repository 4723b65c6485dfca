// Small helpers shared by the crypto unit tests (hex conversion, test patterns, OpenSSL's own
// AEAD as the reference the data channel's ciphers are held to).
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace wirebridge::crypto::test {

inline std::vector<uint8_t> from_hex(std::string_view s) {
    std::vector<uint8_t> out;
    int hi = -1;
    for (char c : s) {
        int v;
        if (c >= '0' && c <= '9') v = c - '0';
        else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
        else if (c == ' ' || c == '\n' || c == ':') continue;
        else throw std::invalid_argument("bad hex");
        if (hi < 0) {
            hi = v;
        } else {
            out.push_back(static_cast<uint8_t>(hi << 4 | v));
            hi = -1;
        }
    }
    return out;
}

inline std::string to_hex(const uint8_t* p, std::size_t n) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
        s += d[p[i] >> 4];
        s += d[p[i] & 15];
    }
    return s;
}

template <typename C>
std::string to_hex(const C& c) {
    return to_hex(c.data(), c.size());
}

// n bytes that differ from one seed to another and do not repeat within a block.
inline std::vector<std::uint8_t> pattern(std::size_t n, unsigned seed) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i * 131 + seed * 17 + (i >> 8));
    return v;
}

// Seals body in place with OpenSSL's EVP AEAD `cipher` (one fresh context per call) and writes
// its 16-byte tag; false if OpenSSL refused a step.
inline bool evp_aead_seal(const EVP_CIPHER* cipher, const std::vector<std::uint8_t>& key,
                          const std::array<std::uint8_t, 12>& nonce, const std::vector<std::uint8_t>& aad,
                          std::vector<std::uint8_t>& body, std::array<std::uint8_t, 16>& tag) {
    EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
    int n = 0;
    const bool ok = c != nullptr && EVP_EncryptInit_ex(c, cipher, nullptr, key.data(), nonce.data()) == 1 &&
                    (aad.empty() || EVP_EncryptUpdate(c, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1) &&
                    (body.empty() ||
                     EVP_EncryptUpdate(c, body.data(), &n, body.data(), static_cast<int>(body.size())) == 1) &&
                    EVP_EncryptFinal_ex(c, body.data() + body.size(), &n) == 1 &&
                    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag.data()) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok;
}

}  // namespace wirebridge::crypto::test
