// AesGcm: see aes_gcm.hpp.
#include "crypto/aes_gcm.hpp"

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <strings.h>

#include <array>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace wirebridge::crypto {

struct AesGcmFunctions {
    EVP_CIPHER* fetched = nullptr;  // held for the life of the process: it keeps the provider loaded
    void* provctx = nullptr;
    OSSL_FUNC_cipher_newctx_fn* newctx = nullptr;
    OSSL_FUNC_cipher_freectx_fn* freectx = nullptr;
    OSSL_FUNC_cipher_encrypt_init_fn* einit = nullptr;
    OSSL_FUNC_cipher_decrypt_init_fn* dinit = nullptr;
    OSSL_FUNC_cipher_update_fn* update = nullptr;
    OSSL_FUNC_cipher_final_fn* final = nullptr;
    OSSL_FUNC_cipher_get_ctx_params_fn* get_ctx_params = nullptr;
    OSSL_FUNC_cipher_set_ctx_params_fn* set_ctx_params = nullptr;
    std::string error;  // empty when every function above was found and checked
};

namespace {

// Is `name` one of the ':'-separated names of an algorithm (case-insensitive, as OpenSSL's)?
bool has_name(const char* names, std::string_view name) {
    std::string_view all(names);
    while (!all.empty()) {
        const std::size_t colon = all.find(':');
        const std::string_view one = all.substr(0, colon);
        if (one.size() == name.size() && strncasecmp(one.data(), name.data(), name.size()) == 0) return true;
        if (colon == std::string_view::npos) break;
        all.remove_prefix(colon + 1);
    }
    return false;
}

void take(const OSSL_DISPATCH* d, AesGcmFunctions& f) {
    for (; d->function_id != 0; ++d) {
        switch (d->function_id) {
        case OSSL_FUNC_CIPHER_NEWCTX: f.newctx = OSSL_FUNC_cipher_newctx(d); break;
        case OSSL_FUNC_CIPHER_FREECTX: f.freectx = OSSL_FUNC_cipher_freectx(d); break;
        case OSSL_FUNC_CIPHER_ENCRYPT_INIT: f.einit = OSSL_FUNC_cipher_encrypt_init(d); break;
        case OSSL_FUNC_CIPHER_DECRYPT_INIT: f.dinit = OSSL_FUNC_cipher_decrypt_init(d); break;
        case OSSL_FUNC_CIPHER_UPDATE: f.update = OSSL_FUNC_cipher_update(d); break;
        case OSSL_FUNC_CIPHER_FINAL: f.final = OSSL_FUNC_cipher_final(d); break;
        case OSSL_FUNC_CIPHER_GET_CTX_PARAMS: f.get_ctx_params = OSSL_FUNC_cipher_get_ctx_params(d); break;
        case OSSL_FUNC_CIPHER_SET_CTX_PARAMS: f.set_ctx_params = OSSL_FUNC_cipher_set_ctx_params(d); break;
        default: break;
        }
    }
}

// One message sealed through the functions found and through EVP must agree, byte for byte: the
// table is the one EVP itself would use, so anything else means we took the wrong entry.
bool agrees_with_evp(const AesGcmFunctions& f, std::size_t key_size) {
    std::array<std::uint8_t, 32> key{};
    std::array<std::uint8_t, 12> nonce{};
    std::array<std::uint8_t, 8> aad{};
    std::array<std::uint8_t, 37> a{}, b{};
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i * 7 + 1);
    for (std::size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<std::uint8_t>(i * 5 + 3);
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = b[i] = static_cast<std::uint8_t>(i * 13);
    std::array<std::uint8_t, 16> tag_a{}, tag_b{};

    bool ok = false;
    if (void* ctx = f.newctx(f.provctx)) {
        std::size_t n = 0;
        OSSL_PARAM p[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag_a.data(), tag_a.size()),
                           OSSL_PARAM_construct_end()};
        ok = f.einit(ctx, key.data(), key_size, nullptr, 0, nullptr) == 1 &&
             f.einit(ctx, nullptr, 0, nonce.data(), nonce.size(), nullptr) == 1 &&
             f.update(ctx, nullptr, &n, aad.size(), aad.data(), aad.size()) == 1 &&
             f.update(ctx, a.data(), &n, a.size(), a.data(), a.size()) == 1 && f.final(ctx, nullptr, &n, 0) == 1 &&
             f.get_ctx_params(ctx, p) == 1;
        f.freectx(ctx);
    }
    EVP_CIPHER_CTX* e = EVP_CIPHER_CTX_new();
    int m = 0;
    ok = ok && e != nullptr && EVP_EncryptInit_ex(e, f.fetched, nullptr, key.data(), nonce.data()) == 1 &&
         EVP_EncryptUpdate(e, nullptr, &m, aad.data(), static_cast<int>(aad.size())) == 1 &&
         EVP_EncryptUpdate(e, b.data(), &m, b.data(), static_cast<int>(b.size())) == 1 &&
         EVP_EncryptFinal_ex(e, b.data() + b.size(), &m) == 1 &&
         EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(tag_b.size()), tag_b.data()) == 1;
    EVP_CIPHER_CTX_free(e);
    return ok && a == b && tag_a == tag_b;
}

AesGcmFunctions find(const char* name, std::size_t key_size) {
    AesGcmFunctions f;
    f.fetched = EVP_CIPHER_fetch(nullptr, name, nullptr);
    if (f.fetched == nullptr) {
        f.error = std::string("OpenSSL offers no ") + name;
        return f;
    }
    const OSSL_PROVIDER* prov = EVP_CIPHER_get0_provider(f.fetched);
    f.provctx = OSSL_PROVIDER_get0_provider_ctx(prov);
    int no_store = 0;
    const OSSL_ALGORITHM* algs = OSSL_PROVIDER_query_operation(prov, OSSL_OP_CIPHER, &no_store);
    for (const OSSL_ALGORITHM* a = algs; a != nullptr && a->algorithm_names != nullptr; ++a) {
        if (has_name(a->algorithm_names, name)) {
            take(a->implementation, f);
            break;
        }
    }
    if (algs != nullptr) OSSL_PROVIDER_unquery_operation(prov, OSSL_OP_CIPHER, algs);
    const std::string where = std::string(name) + " of OpenSSL's provider '" + OSSL_PROVIDER_get0_name(prov) + "'";
    if (f.newctx == nullptr || f.freectx == nullptr || f.einit == nullptr || f.dinit == nullptr || f.update == nullptr ||
        f.final == nullptr || f.get_ctx_params == nullptr || f.set_ctx_params == nullptr) {
        f.error = where + " lacks a function the data path calls";
    } else if (!agrees_with_evp(f, key_size)) {
        f.error = where + ": its functions and EVP disagree on a test message";
    }
    return f;
}

// Found once per process (thread-safe static initialisation) for each key size.
const AesGcmFunctions* functions_for(std::size_t key_size) {
    if (key_size == 16) {
        static const AesGcmFunctions aes128 = find("AES-128-GCM", 16);
        return &aes128;
    }
    if (key_size == 32) {
        static const AesGcmFunctions aes256 = find("AES-256-GCM", 32);
        return &aes256;
    }
    return nullptr;
}

}  // namespace

Result<AesGcm> AesGcm::create(std::span<const std::uint8_t> key, bool encrypt) {
    const AesGcmFunctions* f = functions_for(key.size());
    if (f == nullptr) return fail("AES-GCM needs a 16- or 32-byte key, got " + std::to_string(key.size()));
    if (!f->error.empty()) return fail(f->error);
    void* ctx = f->newctx(f->provctx);
    if (ctx == nullptr) return fail("out of memory creating an AES-GCM context");
    // The key schedule once; GCM's nonce length is 12 until told otherwise.
    const int ok = encrypt ? f->einit(ctx, key.data(), key.size(), nullptr, 0, nullptr)
                           : f->dinit(ctx, key.data(), key.size(), nullptr, 0, nullptr);
    if (ok != 1) {
        f->freectx(ctx);
        return fail("cannot key AES-GCM");
    }
    return AesGcm(f, ctx, encrypt);
}

void AesGcm::release() {
    if (ctx_ != nullptr) fns_->freectx(ctx_);  // the provider wipes the context, key schedule included
    ctx_ = nullptr;
}

AesGcm::~AesGcm() { release(); }

AesGcm::AesGcm(AesGcm&& o) noexcept
    : fns_(o.fns_), ctx_(std::exchange(o.ctx_, nullptr)), encrypt_(o.encrypt_) {}

AesGcm& AesGcm::operator=(AesGcm&& o) noexcept {
    if (this != &o) {
        release();
        fns_ = o.fns_;
        ctx_ = std::exchange(o.ctx_, nullptr);
        encrypt_ = o.encrypt_;
    }
    return *this;
}

bool AesGcm::seal(std::span<const std::uint8_t, kNonceSize> nonce, std::span<const std::uint8_t> aad,
                  std::span<std::uint8_t> body, std::span<std::uint8_t, kTagSize> tag) {
    if (!encrypt_) return false;
    std::size_t n = 0;
    OSSL_PARAM p[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag.data(), kTagSize),
                       OSSL_PARAM_construct_end()};
    // GCM is a stream mode: in place is allowed and nothing is held back, so final writes nothing.
    return fns_->einit(ctx_, nullptr, 0, nonce.data(), kNonceSize, nullptr) == 1 &&
           (aad.empty() || fns_->update(ctx_, nullptr, &n, aad.size(), aad.data(), aad.size()) == 1) &&
           (body.empty() || fns_->update(ctx_, body.data(), &n, body.size(), body.data(), body.size()) == 1) &&
           fns_->final(ctx_, nullptr, &n, 0) == 1 && fns_->get_ctx_params(ctx_, p) == 1;
}

AesGcm::Opened AesGcm::open(std::span<const std::uint8_t, kNonceSize> nonce, std::span<const std::uint8_t> aad,
                            std::span<std::uint8_t> body, std::span<const std::uint8_t, kTagSize> tag) {
    if (encrypt_) return Opened::crypto_error;
    std::size_t n = 0;
    // The provider copies the expected tag; it never writes through this pointer.
    OSSL_PARAM p[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, const_cast<std::uint8_t*>(tag.data()), kTagSize),
                       OSSL_PARAM_construct_end()};
    if (fns_->dinit(ctx_, nullptr, 0, nonce.data(), kNonceSize, nullptr) != 1 || fns_->set_ctx_params(ctx_, p) != 1 ||
        (!aad.empty() && fns_->update(ctx_, nullptr, &n, aad.size(), aad.data(), aad.size()) != 1) ||
        (!body.empty() && fns_->update(ctx_, body.data(), &n, body.size(), body.data(), body.size()) != 1))
        return Opened::crypto_error;
    // Final compares the tag (CRYPTO_memcmp, constant time).
    return fns_->final(ctx_, nullptr, &n, 0) == 1 ? Opened::ok : Opened::auth_failed;
}

}  // namespace wirebridge::crypto
