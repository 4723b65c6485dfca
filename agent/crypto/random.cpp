// Random bytes from OpenSSL's DRBG.
#include "crypto/random.hpp"

#include <openssl/rand.h>

#include <climits>
#include <cstdio>
#include <cstdlib>

namespace wirebridge::crypto {

Result<void> random_bytes(std::span<uint8_t> out) {
    std::size_t done = 0;
    while (done < out.size()) {
        std::size_t chunk = std::min<std::size_t>(out.size() - done, INT_MAX);
        if (RAND_bytes(out.data() + done, static_cast<int>(chunk)) != 1)
            return fail("the random number generator failed (RAND_bytes)");
        done += chunk;
    }
    return {};
}

uint64_t random_u64() {
    uint64_t v = 0;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1) {
        std::fputs("wirebridge: the random number generator failed (RAND_bytes)\n", stderr);
        std::abort();
    }
    return v;
}

}  // namespace wirebridge::crypto
