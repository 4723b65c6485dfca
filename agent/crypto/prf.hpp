// The OpenVPN legacy key derivation: TLS 1.0/1.1 PRF (MD5 xor SHA1) over key-method-2 randoms.
//
//   master (48)  = PRF(client pre_master (48), "OpenVPN master secret"
//                      || client random1 (32) || server random1 (32))
//   block  (256) = PRF(master, "OpenVPN key expansion"
//                      || client random2 (32) || server random2 (32) || client sid (8) || server sid (8))
//
// (ssl.c generate_key_expansion_openvpn_prf; the RFC draft's pseudo-code is wrong on the second
// secret, the session ids and a trailing space.) Only needed for peers without TLS EKM (< 2.6 or
// IV_PROTO bit 3 clear); fails where MD5 is unavailable (FIPS).
//
// Usage:
//   uint8_t out[32];
//   crypto::tls1_prf(secret, seed, out);                          // Result<void>
//   auto block = crypto::openvpn_prf_key_block(inputs);           // Result<SecureArray<256>>
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.hpp"
#include "crypto/aead.hpp"
#include "crypto/secure_bytes.hpp"

namespace wirebridge::crypto {

Result<void> tls1_prf(std::span<const uint8_t> secret, std::span<const uint8_t> seed, std::span<uint8_t> out);

struct PrfInputs {
    std::span<const uint8_t, 48> client_pre_master;
    std::span<const uint8_t, 32> client_random1;
    std::span<const uint8_t, 32> server_random1;
    std::span<const uint8_t, 32> client_random2;
    std::span<const uint8_t, 32> server_random2;
    std::span<const uint8_t, 8> client_session_id;
    std::span<const uint8_t, 8> server_session_id;
};

Result<SecureArray<kKeyBlockSize>> openvpn_prf_key_block(const PrfInputs& in);

}  // namespace wirebridge::crypto
