// Cryptographically secure random bytes (OpenSSL's DRBG), for session ids, keys and nonces.
//
// Usage:
//   if (auto r = crypto::random_bytes(sid); !r) return fail(r.error());
//   uint64_t x = crypto::random_u64();   // aborts the process if the DRBG is broken
#pragma once

#include <cstdint>
#include <span>

#include "common/result.hpp"

namespace wirebridge::crypto {

Result<void> random_bytes(std::span<uint8_t> out);

// For callers that cannot do anything sensible without randomness: a DRBG failure is fatal.
uint64_t random_u64();

}  // namespace wirebridge::crypto
