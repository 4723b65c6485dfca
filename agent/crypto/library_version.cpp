// The loaded OpenSSL's own version string.
#include "crypto/library_version.hpp"

#include <openssl/crypto.h>

namespace wirebridge::crypto {

std::string openssl_version() { return OpenSSL_version(OPENSSL_VERSION); }

}  // namespace wirebridge::crypto
