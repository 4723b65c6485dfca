// The OpenSSL the agent runs with (for `wirebridge --version`), kept behind crypto/.
#pragma once

#include <string>

namespace wirebridge::crypto {

std::string openssl_version();  // "OpenSSL 3.0.17 1 Jul 2025" (the library loaded, not the headers)

}  // namespace wirebridge::crypto
