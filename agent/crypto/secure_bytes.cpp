// Wiping and constant-time comparison of key material, through OpenSSL so the compiler cannot elide it.
#include "crypto/secure_bytes.hpp"

#include <openssl/crypto.h>

#include <cstring>

namespace wirebridge::crypto {

void secure_wipe(void* p, std::size_t n) {
    if (p != nullptr && n != 0) OPENSSL_cleanse(p, n);
}

bool constant_time_equal(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    if (a.size() != b.size()) return false;
    if (a.empty()) return true;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

SecureBytes::SecureBytes(std::size_t n) : p_(n ? new uint8_t[n]() : nullptr), n_(n) {}

SecureBytes::SecureBytes(std::span<const uint8_t> src) : SecureBytes(src.size()) {
    if (n_) std::memcpy(p_, src.data(), n_);
}

SecureBytes::~SecureBytes() {
    secure_wipe(p_, n_);
    delete[] p_;
}

SecureBytes& SecureBytes::operator=(SecureBytes&& o) noexcept {
    if (this != &o) {
        secure_wipe(p_, n_);
        delete[] p_;
        p_ = std::exchange(o.p_, nullptr);
        n_ = std::exchange(o.n_, 0);
    }
    return *this;
}

}  // namespace wirebridge::crypto
