// Fuzz target: AesGcm (AES-GCM through its provider's own functions) against OpenSSL's EVP
// interface. The input is [key size and aad length (1)][nonce (12)][aad][body]: both must seal it
// to the same bytes and tag with either key size, ours must open it back, and refuse it once any
// one bit of ciphertext or tag is flipped (then still open the real packet on the same context).
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "aead_reference.hpp"
#include "crypto/aes_gcm.hpp"

using wirebridge::crypto::AesGcm;

namespace {

constexpr std::array<std::uint8_t, 32> kKey = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11, 12, 13, 14, 15, 16,
                                               17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

struct Pair {
    AesGcm enc;
    AesGcm dec;
};

Pair& contexts(bool aes256) {
    const std::span<const std::uint8_t> key(kKey.data(), aes256 ? 32 : 16);
    static Pair p128{AesGcm::create(key.first(16), true).value(), AesGcm::create(key.first(16), false).value()};
    static Pair p256{AesGcm::create(kKey, true).value(), AesGcm::create(kKey, false).value()};
    return aes256 ? p256 : p128;
}

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 13) return 0;
    const bool aes256 = (data[0] & 0x80) != 0;
    const std::size_t aad_len = std::min<std::size_t>(data[0] % 64, size - 13);
    std::array<std::uint8_t, 12> nonce{};
    std::memcpy(nonce.data(), data + 1, 12);
    const std::vector<std::uint8_t> aad(data + 13, data + 13 + aad_len);
    const std::vector<std::uint8_t> plain(data + 13 + aad_len, data + size);
    Pair& ctx = contexts(aes256);

    std::vector<std::uint8_t> ours = plain, theirs = plain;
    std::array<std::uint8_t, 16> tag{}, their_tag{};
    check(ctx.enc.seal(nonce, aad, ours, tag));

    check(wirebridge::fuzz::evp_aead_seal(aes256 ? EVP_aes_256_gcm() : EVP_aes_128_gcm(), std::vector<std::uint8_t>{kKey.begin(), kKey.begin() + (aes256 ? 32 : 16)}, nonce, aad, theirs, their_tag));
    check(ours == theirs && tag == their_tag);

    // One flipped bit anywhere in ciphertext or tag: refused.
    std::vector<std::uint8_t> forged = ours;
    std::array<std::uint8_t, 16> forged_tag = tag;
    wirebridge::fuzz::flip_one_bit(data, size, forged, forged_tag);
    check(ctx.dec.open(nonce, aad, forged, forged_tag) == AesGcm::Opened::auth_failed);

    check(ctx.dec.open(nonce, aad, ours, tag) == AesGcm::Opened::ok);
    check(ours == plain);
    return 0;
}
