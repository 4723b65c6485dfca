// Fuzz target: ChachaPoly against OpenSSL's own ChaCha20-Poly1305 AEAD. The input is
// [aad length (1)][nonce (12)][aad][body]: both must seal it to the same bytes and tag, ours must
// open it back, and refuse it (leaving the ciphertext as it came) once any one bit is flipped.
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "aead_reference.hpp"
#include "crypto/chacha20_poly1305.hpp"

using wirebridge::crypto::ChachaPoly;

namespace {

constexpr std::array<std::uint8_t, 32> kKey = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                               17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

ChachaPoly& context() {
    static ChachaPoly c = ChachaPoly::create(kKey).value();
    return c;
}

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 13) return 0;
    const std::size_t aad_len = std::min<std::size_t>(data[0] % 64, size - 13);
    std::array<std::uint8_t, 12> nonce{};
    std::memcpy(nonce.data(), data + 1, 12);
    const std::vector<std::uint8_t> aad(data + 13, data + 13 + aad_len);
    const std::vector<std::uint8_t> plain(data + 13 + aad_len, data + size);

    std::vector<std::uint8_t> ours = plain, theirs = plain;
    std::array<std::uint8_t, 16> tag{}, their_tag{};
    check(context().seal(nonce, aad, ours, tag));

    check(wirebridge::fuzz::evp_aead_seal(EVP_chacha20_poly1305(), std::vector<std::uint8_t>{kKey.begin(), kKey.end()}, nonce, aad, theirs, their_tag));
    check(ours == theirs && tag == their_tag);

    // One flipped bit anywhere in ciphertext or tag: refused, bytes untouched.
    std::vector<std::uint8_t> forged = ours;
    std::array<std::uint8_t, 16> forged_tag = tag;
    wirebridge::fuzz::flip_one_bit(data, size, forged, forged_tag);
    const std::vector<std::uint8_t> as_sent = forged;
    check(context().open(nonce, aad, forged, forged_tag) == ChachaPoly::Opened::auth_failed);
    check(forged == as_sent);

    check(context().open(nonce, aad, ours, tag) == ChachaPoly::Opened::ok);
    check(ours == plain);
    return 0;
}
