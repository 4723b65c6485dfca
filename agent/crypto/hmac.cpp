// HMAC over OpenSSL 3's EVP_MAC; the fetched algorithm is shared, contexts are per owner.
#include "crypto/hmac.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>
#include <utility>

namespace wirebridge::crypto {

namespace {

EVP_MAC* hmac_algorithm() {
    // Fetched once: fetching per context would cost a provider lookup every time.
    static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    return mac;
}

const char* ossl_digest_name(Digest d) {
    switch (d) {
    case Digest::Sha1: return "SHA1";
    case Digest::Sha256: return "SHA256";
    case Digest::Sha384: return "SHA384";
    case Digest::Sha512: return "SHA512";
    }
    return "SHA1";
}

EVP_MAC_CTX* ctx_of(void* p) { return static_cast<EVP_MAC_CTX*>(p); }

}  // namespace

std::optional<Digest> parse_digest(std::string_view name) {
    std::string n;
    for (char c : name)
        if (c != '-') n.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    if (n == "SHA1") return Digest::Sha1;
    if (n == "SHA256") return Digest::Sha256;
    if (n == "SHA384") return Digest::Sha384;
    if (n == "SHA512") return Digest::Sha512;
    return std::nullopt;
}

std::string_view digest_name(Digest d) { return ossl_digest_name(d); }

Result<Hmac> Hmac::create(Digest d, std::span<const uint8_t> key) {
    EVP_MAC* mac = hmac_algorithm();
    if (mac == nullptr) return fail("HMAC is not available in this OpenSSL");
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
    if (ctx == nullptr) return fail("out of memory creating an HMAC context");
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(ossl_digest_name(d)), 0),
        OSSL_PARAM_construct_end(),
    };
    static const uint8_t empty = 0;
    if (EVP_MAC_init(ctx, key.empty() ? &empty : key.data(), key.size(), params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return fail(std::string("cannot initialise HMAC-") + ossl_digest_name(d));
    }
    return Hmac(d, ctx);
}

Hmac::~Hmac() { EVP_MAC_CTX_free(ctx_of(ctx_)); }

Hmac::Hmac(Hmac&& o) noexcept : digest_(o.digest_), ctx_(std::exchange(o.ctx_, nullptr)) {}

Hmac& Hmac::operator=(Hmac&& o) noexcept {
    if (this != &o) {
        EVP_MAC_CTX_free(ctx_of(ctx_));
        digest_ = o.digest_;
        ctx_ = std::exchange(o.ctx_, nullptr);
    }
    return *this;
}

void Hmac::reset() {
    // A NULL key re-initialises with the key already set, without allocating.
    if (EVP_MAC_init(ctx_of(ctx_), nullptr, 0, nullptr) != 1) std::abort();
}

void Hmac::update(std::span<const uint8_t> data) {
    if (data.empty()) return;
    if (EVP_MAC_update(ctx_of(ctx_), data.data(), data.size()) != 1) std::abort();
}

std::size_t Hmac::final(std::span<uint8_t> out) {
    std::size_t n = 0;
    if (out.size() < size() || EVP_MAC_final(ctx_of(ctx_), out.data(), &n, out.size()) != 1) std::abort();
    return n;
}

bool hmac(Digest d, std::span<const uint8_t> key, std::span<const uint8_t> data, std::span<uint8_t> out) {
    if (out.size() < digest_size(d)) return false;
    std::size_t n = 0;
    static const uint8_t empty = 0;
    return EVP_Q_mac(nullptr, "HMAC", nullptr, ossl_digest_name(d), nullptr, key.empty() ? &empty : key.data(),
                     key.size(), data.empty() ? &empty : data.data(), data.size(), out.data(), out.size(),
                     &n) != nullptr &&
           n == digest_size(d);
}

}  // namespace wirebridge::crypto
