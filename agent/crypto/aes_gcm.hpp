// AesGcm: AES-GCM (128 or 256-bit key, 96-bit nonce, 16-byte tag) for the data channel's packets,
// called through the functions of the OpenSSL provider that implements it.
//
// Why not EVP_EncryptInit_ex/Update/Final per packet: OpenSSL 3.0's EVP layer looks the context's
// parameters up by name on every call that sets a nonce (8 string compares for the IV length it
// already knows), and wraps each step in checks the data path does not need; for a 64-byte packet
// that is ~40 % of the seal (255 against 160 ns here). The provider's own functions (its
// OSSL_DISPATCH table: newctx, encrypt_init, update, final, get/set_ctx_params, freectx) are
// public API, found once per process through OSSL_PROVIDER_query_operation for the cipher that
// EVP_CIPHER_fetch picks (default or FIPS provider alike), and do the same work: the AES key
// schedule and GHASH key once per context, the nonce, data and tag per packet. The tag still
// goes through the provider's parameters (it has no other way), and the provider compares it in
// constant time (CRYPTO_memcmp in its GCM finish).
//
// One object per key and direction and thread; nothing is allocated per packet. The provider
// wipes its context (key schedule included) when it is freed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.hpp"

namespace wirebridge::crypto {

struct AesGcmFunctions;  // the provider's functions for one key size (aes_gcm.cpp)

class AesGcm {
public:
    static constexpr std::size_t kNonceSize = 12;
    static constexpr std::size_t kTagSize = 16;

    // key: 16 bytes (AES-128-GCM) or 32 (AES-256-GCM); encrypt: the direction this context serves.
    static Result<AesGcm> create(std::span<const std::uint8_t> key, bool encrypt);

    ~AesGcm();
    AesGcm(AesGcm&& o) noexcept;
    AesGcm& operator=(AesGcm&& o) noexcept;
    AesGcm(const AesGcm&) = delete;
    AesGcm& operator=(const AesGcm&) = delete;

    // Encrypts `body` in place and writes its tag; false only if the provider refused a call.
    // An encrypting context only.
    bool seal(std::span<const std::uint8_t, kNonceSize> nonce, std::span<const std::uint8_t> aad,
              std::span<std::uint8_t> body, std::span<std::uint8_t, kTagSize> tag);

    enum class Opened : std::uint8_t { ok, auth_failed, crypto_error };
    // Decrypts `body` in place and checks the tag (on auth_failed the bytes are unspecified: do
    // not forward them). A decrypting context only.
    Opened open(std::span<const std::uint8_t, kNonceSize> nonce, std::span<const std::uint8_t> aad,
                std::span<std::uint8_t> body, std::span<const std::uint8_t, kTagSize> tag);

private:
    AesGcm(const AesGcmFunctions* fns, void* ctx, bool encrypt) : fns_(fns), ctx_(ctx), encrypt_(encrypt) {}
    void release();

    const AesGcmFunctions* fns_;
    void* ctx_;  // the provider's own cipher context
    bool encrypt_;
};

}  // namespace wirebridge::crypto
