// Certificate warnings for `wirebridge check`: what the TLS context accepts today but that will
// stop a tunnel soon (expiry) or that the peer refuses (remote-cert-tls key usage).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crypto/tls_context.hpp"

namespace wirebridge::crypto {

struct CertCheck {
    std::string cert_file;                         // our certificate (leaf first, then chain)
    std::string ca_file;                           // may be empty
    RemoteCertTls peer_requires = RemoteCertTls::None;  // what the peer checks of our certificate
    std::int64_t now = 0;                          // seconds since the epoch
    std::int64_t horizon_seconds = 30 * 86400;     // warn when a certificate ends within this
};

// One plain sentence per problem, naming the file; empty when there is nothing to say. Files that
// cannot be read or parsed are TlsContext::create's to report, not these.
std::vector<std::string> certificate_warnings(const CertCheck& c);

}  // namespace wirebridge::crypto
