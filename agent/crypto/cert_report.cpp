// Expiry and key-usage warnings about the certificates a config names (see cert_report.hpp).
#include "crypto/cert_report.hpp"
#include "crypto/cert_usage.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>

namespace wirebridge::crypto {

namespace {

struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

std::vector<X509Ptr> read_certs(const std::string& file) {
    std::vector<X509Ptr> out;
    std::ifstream in(file, std::ios::binary);
    const std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    if (bio == nullptr) return out;
    while (X509* c = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) out.emplace_back(c);
    BIO_free(bio);
    ERR_clear_error();  // the loop ends on "no start line"
    return out;
}

std::string subject_cn(X509* cert) {
    char buf[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
    return buf;
}

// Seconds from `now` until the certificate's notAfter (negative: expired).
bool seconds_left(X509* cert, std::int64_t now, std::int64_t& left) {
    ASN1_TIME* t = ASN1_TIME_set(nullptr, static_cast<time_t>(now));
    if (t == nullptr) return false;
    int days = 0, secs = 0;
    const bool ok = ASN1_TIME_diff(&days, &secs, t, X509_get0_notAfter(cert)) == 1;
    ASN1_TIME_free(t);
    left = std::int64_t{days} * 86400 + secs;
    return ok;
}

std::string when(std::int64_t left) {
    if (left < 0) return "expired " + std::to_string(-left / 86400) + " day(s) ago";
    if (left < 86400) return "expires in " + std::to_string(left / 3600) + " hour(s)";
    return "expires in " + std::to_string(left / 86400) + " day(s)";
}

void check_expiry(const std::string& file, const char* what, X509* cert, const CertCheck& c,
                  std::vector<std::string>& out) {
    std::int64_t left = 0;
    if (!seconds_left(cert, c.now, left) || left >= c.horizon_seconds) return;
    out.push_back(file + ": " + what + " '" + subject_cn(cert) + "' " + when(left) +
                  (left < 0 ? "; peers refuse it" : "; renew it before peers refuse it"));
}

}  // namespace

std::vector<std::string> certificate_warnings(const CertCheck& c) {
    std::vector<std::string> out;
    auto mine = read_certs(c.cert_file);
    for (std::size_t i = 0; i < mine.size(); ++i)
        check_expiry(c.cert_file, i == 0 ? "certificate" : "chain certificate", mine[i].get(), c, out);
    if (!c.ca_file.empty())
        for (const auto& ca : read_certs(c.ca_file)) check_expiry(c.ca_file, "CA certificate", ca.get(), c, out);
    if (!mine.empty() && c.peer_requires != RemoteCertTls::None) {
        X509* leaf = mine.front().get();
        const bool server = c.peer_requires == RemoteCertTls::Server;
        const char* option = server ? "remote-cert-tls server" : "remote-cert-tls client";
        if (!cert_has_key_usage(leaf))
            out.push_back(c.cert_file + ": certificate has no key usage extension; peers with " + option +
                          " (wirebridge, and openvpn configured so) refuse it");
        if (!cert_has_eku(leaf, server ? NID_server_auth : NID_client_auth))
            out.push_back(c.cert_file + ": certificate lacks the " +
                          (server ? std::string("TLS Web Server Authentication (serverAuth)")
                                  : std::string("TLS Web Client Authentication (clientAuth)")) +
                          " extended key usage; peers with " + option + " refuse it");
    }
    return out;
}

}  // namespace wirebridge::crypto
