// TLS1-PRF through OpenSSL 3's EVP_KDF with the MD5-SHA1 digest.
#include "crypto/prf.hpp"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <string_view>
#include <vector>

namespace wirebridge::crypto {

Result<void> tls1_prf(std::span<const uint8_t> secret, std::span<const uint8_t> seed, std::span<uint8_t> out) {
    EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "TLS1-PRF", nullptr);
    if (kdf == nullptr) return fail("TLS1-PRF is not available in this OpenSSL");
    EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (ctx == nullptr) return fail("out of memory creating a TLS1-PRF context");
    static uint8_t empty = 0;
    OSSL_PARAM params[4] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("MD5-SHA1"), 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET,
                                          secret.empty() ? &empty : const_cast<uint8_t*>(secret.data()),
                                          secret.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED,
                                          seed.empty() ? &empty : const_cast<uint8_t*>(seed.data()), seed.size()),
        OSSL_PARAM_construct_end(),
    };
    const int ok = EVP_KDF_derive(ctx, out.data(), out.size(), params);
    EVP_KDF_CTX_free(ctx);
    if (ok != 1) {
        secure_wipe(out.data(), out.size());
        return fail("TLS1-PRF (MD5-SHA1) failed; MD5 may be disabled (FIPS mode)");
    }
    return {};
}

Result<SecureArray<kKeyBlockSize>> openvpn_prf_key_block(const PrfInputs& in) {
    auto append = [](std::vector<uint8_t>& v, std::span<const uint8_t> s) { v.insert(v.end(), s.begin(), s.end()); };
    constexpr std::string_view master_label = "OpenVPN master secret";
    constexpr std::string_view expansion_label = "OpenVPN key expansion";

    std::vector<uint8_t> seed;
    append(seed, {reinterpret_cast<const uint8_t*>(master_label.data()), master_label.size()});
    append(seed, in.client_random1);
    append(seed, in.server_random1);
    SecureArray<48> master;
    auto r = tls1_prf(in.client_pre_master, seed, master.span());
    secure_wipe(seed.data(), seed.size());
    if (!r) return fail(r.error());

    seed.clear();
    append(seed, {reinterpret_cast<const uint8_t*>(expansion_label.data()), expansion_label.size()});
    append(seed, in.client_random2);
    append(seed, in.server_random2);
    append(seed, in.client_session_id);
    append(seed, in.server_session_id);
    SecureArray<kKeyBlockSize> block;
    r = tls1_prf(master.span(), seed, block.span());
    secure_wipe(seed.data(), seed.size());
    if (!r) return fail(r.error());
    return block;
}

}  // namespace wirebridge::crypto
