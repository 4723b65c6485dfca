// What a certificate says it may be used for: the checks OpenVPN's remote-cert-tls makes, shared by
// the TLS verify callback (tls_context.cpp) and `wirebridge check`'s report (cert_report.cpp).
#pragma once

#include <openssl/x509.h>

namespace wirebridge::crypto {

// The extended key usage extension lists `nid` (NID_server_auth, NID_client_auth).
bool cert_has_eku(X509* cert, int nid);
// The certificate carries a key usage extension at all.
bool cert_has_key_usage(X509* cert);

}  // namespace wirebridge::crypto
