// remote-cert-tls checks on one certificate (cert_usage.hpp).
#include "crypto/cert_usage.hpp"

#include <openssl/x509v3.h>

namespace wirebridge::crypto {

bool cert_has_eku(X509* cert, int nid) {
    auto* eku = static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(cert, NID_ext_key_usage, nullptr, nullptr));
    if (eku == nullptr) return false;
    bool found = false;
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku) && !found; ++i)
        found = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == nid;
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    return found;
}

bool cert_has_key_usage(X509* cert) {
    auto* ku = static_cast<ASN1_BIT_STRING*>(X509_get_ext_d2i(cert, NID_key_usage, nullptr, nullptr));
    if (ku == nullptr) return false;
    ASN1_BIT_STRING_free(ku);
    return true;
}

}  // namespace wirebridge::crypto
