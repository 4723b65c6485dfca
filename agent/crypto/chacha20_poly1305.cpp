// ChachaPoly: RFC 8439's AEAD over OpenSSL's ChaCha20 (EVP_chacha20) and Poly1305 (EVP_MAC).
#include "crypto/chacha20_poly1305.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

namespace wirebridge::crypto {

namespace {

EVP_CIPHER_CTX* cipher_of(void* p) { return static_cast<EVP_CIPHER_CTX*>(p); }
EVP_MAC_CTX* mac_of(void* p) { return static_cast<EVP_MAC_CTX*>(p); }

constexpr std::size_t kBlock = 64;  // one ChaCha20 block; block 0 keys Poly1305
constexpr std::size_t kPolyKeySize = 32;

// The stream cipher's input: its output is then the keystream itself.
constexpr std::array<std::uint8_t, ChachaPoly::kKeystreamChunk> kZeros{};

constexpr std::size_t round_up_block(std::size_t n) { return (n + kBlock - 1) / kBlock * kBlock; }

// out ^= keystream, eight bytes at a time where it can.
void xor_into(std::uint8_t* out, const std::uint8_t* keystream, std::size_t n) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t a, b;
        std::memcpy(&a, out + i, 8);
        std::memcpy(&b, keystream + i, 8);
        a ^= b;
        std::memcpy(out + i, &a, 8);
    }
    for (; i < n; ++i) out[i] ^= keystream[i];
}

void put_le64(std::uint8_t* p, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

}  // namespace

Result<ChachaPoly> ChachaPoly::create(std::span<const std::uint8_t> key) {
    if (key.size() != kKeySize) return fail("CHACHA20-POLY1305 needs a 32-byte key, got " + std::to_string(key.size()));
    EVP_CIPHER_CTX* cipher = EVP_CIPHER_CTX_new();
    EVP_MAC* poly = EVP_MAC_fetch(nullptr, "POLY1305", nullptr);
    EVP_MAC_CTX* mac = poly != nullptr ? EVP_MAC_CTX_new(poly) : nullptr;
    EVP_MAC_free(poly);  // the context holds its own reference
    ChachaPoly c(cipher, mac);
    if (cipher == nullptr || mac == nullptr) return fail("cannot create ChaCha20 and Poly1305 contexts");
    if (EVP_EncryptInit_ex(cipher, EVP_chacha20(), nullptr, key.data(), nullptr) != 1)
        return fail("cannot initialise ChaCha20");
    return c;
}

ChachaPoly::~ChachaPoly() { release(); }

void ChachaPoly::release() {
    EVP_CIPHER_CTX_free(cipher_of(cipher_));  // frees and cleanses the key schedule
    EVP_MAC_CTX_free(mac_of(mac_));
    cipher_ = mac_ = nullptr;
}

ChachaPoly::ChachaPoly(ChachaPoly&& o) noexcept
    : cipher_(std::exchange(o.cipher_, nullptr)), mac_(std::exchange(o.mac_, nullptr)) {}

ChachaPoly& ChachaPoly::operator=(ChachaPoly&& o) noexcept {
    if (this != &o) {
        release();
        cipher_ = std::exchange(o.cipher_, nullptr);
        mac_ = std::exchange(o.mac_, nullptr);
    }
    return *this;
}

bool ChachaPoly::start(std::span<const std::uint8_t, kNonceSize> nonce, std::size_t body_len, std::uint8_t* keystream,
                       std::size_t& covered) {
    // OpenSSL's ChaCha20 IV: a 32-bit little-endian block counter, then the 96-bit nonce.
    std::uint8_t iv[16] = {};
    std::memcpy(iv + 4, nonce.data(), kNonceSize);
    covered = std::min(body_len, kKeystreamChunk - kBlock);
    const std::size_t want = kBlock + round_up_block(covered);
    int n = 0;
    return EVP_EncryptInit_ex(cipher_of(cipher_), nullptr, nullptr, nullptr, iv) == 1 &&
           EVP_EncryptUpdate(cipher_of(cipher_), keystream, &n, kZeros.data(), static_cast<int>(want)) == 1 &&
           static_cast<std::size_t>(n) == want;
}

bool ChachaPoly::apply(std::span<std::uint8_t> body, const std::uint8_t* keystream, std::size_t covered) {
    xor_into(body.data(), keystream + kBlock, covered);
    // Bodies longer than one chunk: the cipher's counter runs on from where the first chunk ended
    // (every chunk but the last is whole blocks).
    std::array<std::uint8_t, kKeystreamChunk> more;
    for (std::size_t at = covered; at < body.size();) {
        const std::size_t len = std::min(body.size() - at, kKeystreamChunk);
        const std::size_t want = round_up_block(len);
        int n = 0;
        if (EVP_EncryptUpdate(cipher_of(cipher_), more.data(), &n, kZeros.data(), static_cast<int>(want)) != 1 ||
            static_cast<std::size_t>(n) != want)
            return false;
        xor_into(body.data() + at, more.data(), len);
        at += len;
    }
    return true;
}

bool ChachaPoly::tag_of(const std::uint8_t* poly_key, std::span<const std::uint8_t> aad,
                        std::span<const std::uint8_t> ciphertext, std::uint8_t out[kTagSize]) {
    static constexpr std::uint8_t kPad[16] = {};
    // The ciphertext's padding and the two lengths go in as one update.
    std::uint8_t tail[32] = {};
    put_le64(tail + 16, aad.size());
    put_le64(tail + 24, ciphertext.size());
    const std::size_t aad_pad = (16 - aad.size() % 16) % 16;
    const std::size_t ct_pad = (16 - ciphertext.size() % 16) % 16;
    EVP_MAC_CTX* mac = mac_of(mac_);
    std::size_t len = 0;
    return EVP_MAC_init(mac, poly_key, kPolyKeySize, nullptr) == 1 &&
           (aad.empty() || EVP_MAC_update(mac, aad.data(), aad.size()) == 1) &&
           (aad_pad == 0 || EVP_MAC_update(mac, kPad, aad_pad) == 1) &&
           (ciphertext.empty() || EVP_MAC_update(mac, ciphertext.data(), ciphertext.size()) == 1) &&
           EVP_MAC_update(mac, tail + 16 - ct_pad, ct_pad + 16) == 1 && EVP_MAC_final(mac, out, &len, kTagSize) == 1 &&
           len == kTagSize;
}

bool ChachaPoly::seal(std::span<const std::uint8_t, kNonceSize> nonce, std::span<const std::uint8_t> aad,
                      std::span<std::uint8_t> body, std::span<std::uint8_t, kTagSize> tag) {
    std::array<std::uint8_t, kKeystreamChunk> keystream;
    std::uint8_t poly_key[kPolyKeySize];
    std::size_t covered = 0;
    bool ok = start(nonce, body.size(), keystream.data(), covered);
    if (ok) {
        std::memcpy(poly_key, keystream.data(), kPolyKeySize);  // later chunks reuse the buffer
        ok = apply(body, keystream.data(), covered) && tag_of(poly_key, aad, body, tag.data());
    }
    OPENSSL_cleanse(poly_key, sizeof poly_key);
    OPENSSL_cleanse(keystream.data(), kBlock);
    return ok;
}

ChachaPoly::Opened ChachaPoly::open(std::span<const std::uint8_t, kNonceSize> nonce, std::span<const std::uint8_t> aad,
                                    std::span<std::uint8_t> body, std::span<const std::uint8_t, kTagSize> tag) {
    std::array<std::uint8_t, kKeystreamChunk> keystream;
    std::uint8_t expected[kTagSize];
    std::size_t covered = 0;
    Opened result = Opened::crypto_error;
    if (start(nonce, body.size(), keystream.data(), covered) && tag_of(keystream.data(), aad, body, expected)) {
        if (CRYPTO_memcmp(expected, tag.data(), kTagSize) != 0) result = Opened::auth_failed;
        else if (apply(body, keystream.data(), covered)) result = Opened::ok;
    }
    OPENSSL_cleanse(keystream.data(), kBlock);
    return result;
}

}  // namespace wirebridge::crypto
