// Turns OpenSSL's thread-local error queue into one line of text.
#include "crypto/openssl_error.hpp"

#include <openssl/err.h>

namespace wirebridge::crypto {

std::string drain_openssl_errors() {
    std::string out;
    unsigned long e;
    char buf[256];
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out;
}

}  // namespace wirebridge::crypto
