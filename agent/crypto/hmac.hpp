// Hmac: a reusable keyed HMAC context (SHA1/SHA256/SHA384/SHA512) for tls-auth, tls-crypt and cookies.
//
// Usage:
//   auto h = crypto::Hmac::create(crypto::Digest::Sha256, key);   // key copied into OpenSSL
//   if (!h) ...;
//   h->reset(); h->update(a); h->update(b);
//   uint8_t out[crypto::kMaxDigestSize]; size_t n = h->final(out);
//   // one-shot: crypto::hmac(Digest::Sha1, key, data, out)
//
// A context is not thread-safe; each thread keeps its own. reset() does not allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "common/result.hpp"

namespace wirebridge::crypto {

enum class Digest { Sha1, Sha256, Sha384, Sha512 };

inline constexpr std::size_t kMaxDigestSize = 64;

constexpr std::size_t digest_size(Digest d) {
    switch (d) {
    case Digest::Sha1: return 20;
    case Digest::Sha256: return 32;
    case Digest::Sha384: return 48;
    case Digest::Sha512: return 64;
    }
    return 0;
}

// OpenVPN's `--auth` spelling, case-insensitive: "SHA1", "SHA256", "SHA384", "SHA512" (also "SHA-256" etc.).
std::optional<Digest> parse_digest(std::string_view name);
std::string_view digest_name(Digest d);

class Hmac {
public:
    static Result<Hmac> create(Digest d, std::span<const uint8_t> key);
    ~Hmac();
    Hmac(Hmac&& o) noexcept;
    Hmac& operator=(Hmac&& o) noexcept;
    Hmac(const Hmac&) = delete;
    Hmac& operator=(const Hmac&) = delete;

    Digest digest() const { return digest_; }
    std::size_t size() const { return digest_size(digest_); }

    // Start a new MAC with the same key.
    void reset();
    void update(std::span<const uint8_t> data);
    // Writes size() bytes to out (which must have room for them); returns size().
    std::size_t final(std::span<uint8_t> out);

private:
    Hmac(Digest d, void* ctx) : digest_(d), ctx_(ctx) {}
    Digest digest_;
    void* ctx_;  // EVP_MAC_CTX*
};

// One-shot HMAC; out must hold digest_size(d) bytes. Returns false only if OpenSSL fails.
bool hmac(Digest d, std::span<const uint8_t> key, std::span<const uint8_t> data, std::span<uint8_t> out);

}  // namespace wirebridge::crypto
