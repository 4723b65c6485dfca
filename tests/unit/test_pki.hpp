// Test PKI: a CA, server and client certificates made with OpenSSL at test time (header-only helper).
//
// For any unit or interop test that needs certificates; nothing is checked into the tree. Keys are
// EC P-256 (fast to make; stock openvpn 2.6 accepts them with `dh none`). Certificates carry the
// extensions openvpn's `remote-cert-tls` checks (keyUsage + extendedKeyUsage serverAuth/clientAuth).
//
// Usage (the test must link OpenSSL; every wb_crypto-linked test does, since wb_crypto links it PUBLIC):
//   #include "test_pki.hpp"
//   namespace tp = wirebridge::testpki;
//   tp::Pki pki = tp::make_pki();                          // ca, server ("server"), client ("client")
//   cfg.ca_pem = pki.ca.cert_pem; cfg.cert_pem = pki.server.cert_pem; cfg.key_pem = pki.server.key_pem;
//   tp::CertOptions o("old", tp::Usage::Client);           // CN, usage; then adjust fields:
//   o.not_before = -2 * 86400; o.not_after = -86400;        // seconds relative to now: expired
//   tp::KeyCert expired = tp::make_cert(pki.ca, o);
//   tp::KeyCert foreign = tp::make_cert(tp::make_ca("other CA"), {"x", tp::Usage::Server});
//   tp::TempDir dir;                                        // mkdtemp under $TMPDIR or /tmp; removed at scope end
//   tp::PkiFiles f = tp::write_pki(dir, pki);               // f.ca, f.server_cert, f.server_key, f.client_*
//   std::string p = dir.write("extra.pem", text);           // any other file (mode 0600)
//   std::string fp = tp::fingerprint(pki.server);           // "AB:CD:..." SHA256, for peer-fingerprint
//
// Failures throw std::runtime_error (test set-up only).
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <utility>
#include <vector>

namespace wirebridge::testpki {

enum class Usage { Ca, Server, Client, NoEku };

struct KeyCert {
    std::string cert_pem;
    std::string key_pem;
};

struct CertOptions {
    CertOptions(std::string common_name, Usage u) : cn(std::move(common_name)), usage(u) {}
    std::string cn;
    Usage usage = Usage::Server;
    long not_before = -3600;        // seconds relative to now
    long not_after = 365L * 86400;  // seconds relative to now
    std::vector<std::string> dns_names;  // subjectAltName DNS entries
    bool key_usage = true;          // add the keyUsage extension
};

namespace detail {

struct Free {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
    void operator()(X509* p) const { X509_free(p); }
    void operator()(BIO* p) const { BIO_free(p); }
};
template <typename T>
using Ptr = std::unique_ptr<T, Free>;

inline void check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("test PKI: ") + what);
}

inline std::string bio_string(BIO* b) {
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

inline void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    check(ext != nullptr, "bad extension");
    check(X509_add_ext(cert, ext, -1) == 1, "cannot add extension");
    X509_EXTENSION_free(ext);
}

inline Ptr<EVP_PKEY> read_key(const std::string& pem) {
    Ptr<BIO> b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    Ptr<EVP_PKEY> k(PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr));
    check(k != nullptr, "cannot read key");
    return k;
}

inline Ptr<X509> read_cert(const std::string& pem) {
    Ptr<BIO> b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    Ptr<X509> c(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
    check(c != nullptr, "cannot read certificate");
    return c;
}

// Makes a certificate for a new key; issuer == nullptr means self-signed.
inline KeyCert make(const CertOptions& o, X509* issuer_cert, EVP_PKEY* issuer_key) {
    Ptr<EVP_PKEY> key(EVP_EC_gen("P-256"));
    check(key != nullptr, "cannot generate key");
    Ptr<X509> cert(X509_new());
    check(cert != nullptr, "out of memory");
    X509_set_version(cert.get(), 2);
    unsigned char serial[16];
    check(RAND_bytes(serial, sizeof serial) == 1, "no random");
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), o.not_before);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), o.not_after);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("wirebridge test"),
                               -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(o.cn.c_str()), -1,
                               -1, 0);
    X509_set_issuer_name(cert.get(), issuer_cert ? X509_get_subject_name(issuer_cert) : name);
    X509_set_pubkey(cert.get(), key.get());
    X509* iss = issuer_cert ? issuer_cert : cert.get();
    add_ext(cert.get(), iss, NID_subject_key_identifier, "hash");
    add_ext(cert.get(), iss, NID_authority_key_identifier, "keyid:always");
    switch (o.usage) {
    case Usage::Ca:
        add_ext(cert.get(), iss, NID_basic_constraints, "critical,CA:TRUE");
        if (o.key_usage) add_ext(cert.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
        break;
    case Usage::Server:
        add_ext(cert.get(), iss, NID_basic_constraints, "CA:FALSE");
        if (o.key_usage) add_ext(cert.get(), iss, NID_key_usage, "critical,digitalSignature,keyAgreement");
        add_ext(cert.get(), iss, NID_ext_key_usage, "serverAuth");
        break;
    case Usage::Client:
        add_ext(cert.get(), iss, NID_basic_constraints, "CA:FALSE");
        if (o.key_usage) add_ext(cert.get(), iss, NID_key_usage, "critical,digitalSignature,keyAgreement");
        add_ext(cert.get(), iss, NID_ext_key_usage, "clientAuth");
        break;
    case Usage::NoEku:
        add_ext(cert.get(), iss, NID_basic_constraints, "CA:FALSE");
        if (o.key_usage) add_ext(cert.get(), iss, NID_key_usage, "critical,digitalSignature,keyAgreement");
        break;
    }
    if (!o.dns_names.empty()) {
        std::string san;
        for (const auto& d : o.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + d;
        add_ext(cert.get(), iss, NID_subject_alt_name, san);
    }
    check(X509_sign(cert.get(), issuer_key ? issuer_key : key.get(), EVP_sha256()) > 0, "cannot sign");

    KeyCert kc;
    Ptr<BIO> cb(BIO_new(BIO_s_mem()));
    check(PEM_write_bio_X509(cb.get(), cert.get()) == 1, "cannot write certificate");
    kc.cert_pem = bio_string(cb.get());
    Ptr<BIO> kb(BIO_new(BIO_s_mem()));
    check(PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "cannot write key");
    kc.key_pem = bio_string(kb.get());
    return kc;
}

}  // namespace detail

inline KeyCert make_ca(const std::string& cn = "wirebridge test CA") {
    CertOptions o(cn, Usage::Ca);
    o.not_after = 3650L * 86400;
    return detail::make(o, nullptr, nullptr);
}

inline KeyCert make_cert(const KeyCert& issuer, const CertOptions& o) {
    auto cert = detail::read_cert(issuer.cert_pem);
    auto key = detail::read_key(issuer.key_pem);
    return detail::make(o, cert.get(), key.get());
}

// A self-signed end-entity certificate (for peer-fingerprint without a CA).
inline KeyCert make_self_signed(const CertOptions& o) { return detail::make(o, nullptr, nullptr); }

struct Pki {
    KeyCert ca;
    KeyCert server;
    KeyCert client;
};

inline Pki make_pki() {
    Pki p;
    p.ca = make_ca();
    CertOptions server("server", Usage::Server);
    server.dns_names = {"server.wirebridge.test"};
    p.server = make_cert(p.ca, server);
    p.client = make_cert(p.ca, CertOptions("client", Usage::Client));
    return p;
}

// SHA256 fingerprint of a certificate, "AB:CD:..." as openvpn's peer-fingerprint.
inline std::string fingerprint(const KeyCert& kc) {
    auto cert = detail::read_cert(kc.cert_pem);
    unsigned char md[32];
    unsigned int n = 0;
    detail::check(X509_digest(cert.get(), EVP_sha256(), md, &n) == 1 && n == 32, "cannot digest");
    static const char* digits = "0123456789ABCDEF";
    std::string s;
    for (unsigned i = 0; i < n; ++i) {
        if (i) s += ':';
        s += digits[md[i] >> 4];
        s += digits[md[i] & 15];
    }
    return s;
}

// A private temporary directory, removed with everything in it when the object goes away.
class TempDir {
public:
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string templ = std::string(base && *base ? base : "/tmp") + "/wbtest.XXXXXX";
        std::vector<char> buf(templ.begin(), templ.end());
        buf.push_back('\0');
        detail::check(::mkdtemp(buf.data()) != nullptr, "mkdtemp failed");
        path_ = buf.data();
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

    // Writes `content` to path()/name with mode 0600 and returns the full path.
    std::string write(const std::string& name, const std::string& content) const {
        std::string p = file(name);
        {
            std::ofstream out(p, std::ios::binary | std::ios::trunc);
            out << content;
            detail::check(static_cast<bool>(out), "cannot write test file");
        }
        ::chmod(p.c_str(), 0600);
        return p;
    }

private:
    std::string path_;
};

struct PkiFiles {
    std::string ca, server_cert, server_key, client_cert, client_key;
};

inline PkiFiles write_pki(const TempDir& dir, const Pki& p) {
    return PkiFiles{dir.write("ca.crt", p.ca.cert_pem), dir.write("server.crt", p.server.cert_pem),
                    dir.write("server.key", p.server.key_pem), dir.write("client.crt", p.client.cert_pem),
                    dir.write("client.key", p.client.key_pem)};
}

}  // namespace wirebridge::testpki
