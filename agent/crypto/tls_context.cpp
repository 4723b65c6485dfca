// TlsContext over SSL_CTX: PEM loading with per-file errors, verification policy in the verify callback.
#include "crypto/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <cerrno>
#include <fstream>
#include <iterator>
#include <sstream>

#include "crypto/cert_usage.hpp"
#include "crypto/openssl_error.hpp"
#include "crypto/secure_bytes.hpp"
#include "crypto/tls_session.hpp"

namespace wirebridge::crypto {

namespace {

int context_index() {
    static const int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return idx;
}

std::string openssl_errors() {
    std::string out = drain_openssl_errors();
    return out.empty() ? "unknown OpenSSL error" : out;
}

// The PEM text of a config item: the inline value, or the file's content.
Result<std::string> load_pem(const std::string& inline_pem, const std::string& file, const char* what) {
    if (!inline_pem.empty()) return inline_pem;
    if (file.empty()) return fail(std::string("no ") + what + " configured");
    std::ifstream in(file, std::ios::binary);
    if (!in) return fail_errno(file + ": cannot open " + what);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return fail_errno(file + ": cannot read " + what);
    return s;
}

std::string label(const std::string& inline_pem, const std::string& file, const char* what) {
    return inline_pem.empty() ? file : std::string("inline ") + what;
}

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr mem_bio(const std::string& s) { return BioPtr(BIO_new_mem_buf(s.data(), static_cast<int>(s.size()))); }

std::string common_name(X509* cert) {
    X509_NAME* name = X509_get_subject_name(cert);
    int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (i < 0) return {};
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (n < 0) return {};
    std::string cn(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
    OPENSSL_free(utf8);
    return cn;
}

bool name_matches(X509* cert, const std::string& want) {
    if (common_name(cert) == want) return true;
    auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (sans == nullptr) return false;
    bool found = false;
    for (int i = 0; i < sk_GENERAL_NAME_num(sans) && !found; ++i) {
        GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
        if (g->type != GEN_DNS) continue;
        const ASN1_STRING* s = g->d.dNSName;
        found = std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                 static_cast<std::size_t>(ASN1_STRING_length(s))) == want;
    }
    GENERAL_NAMES_free(sans);
    return found;
}

int verify_callback(int preverify_ok, X509_STORE_CTX* store) {
    SSL* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    if (ssl == nullptr) return 0;
    auto* self = static_cast<const TlsContext*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), context_index()));
    auto* session = static_cast<TlsSession*>(SSL_get_app_data(ssl));
    if (self == nullptr) return 0;
    const int depth = X509_STORE_CTX_get_error_depth(store);
    X509* cert = X509_STORE_CTX_get_current_cert(store);

    auto refuse = [&](std::string why) {
        if (session) session->set_verify_error("peer certificate (" + common_name(cert) + "): " + why);
        X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
        return 0;
    };

    // peer-fingerprint without a CA: the chain is not verified, only the leaf's fingerprint.
    const bool fingerprint_only = !self->has_ca() && !self->peer_fingerprints().empty();
    if (!preverify_ok && !fingerprint_only) {
        const int err = X509_STORE_CTX_get_error(store);
        return refuse(X509_verify_cert_error_string(err));
    }
    if (depth > 0) return 1;

    if (!self->peer_fingerprints().empty()) {
        Fingerprint fp{};
        unsigned int n = 0;
        if (X509_digest(cert, EVP_sha256(), fp.data(), &n) != 1 || n != fp.size())
            return refuse("cannot compute its fingerprint");
        bool match = false;
        for (const auto& want : self->peer_fingerprints()) match |= constant_time_equal(fp, want);
        if (!match) return refuse("SHA256 fingerprint " + format_fingerprint(fp) + " is not a configured peer-fingerprint");
    }
    if (self->remote_cert_tls() != RemoteCertTls::None) {
        const bool server = self->remote_cert_tls() == RemoteCertTls::Server;
        if (!cert_has_key_usage(cert)) return refuse("no key usage extension (remote-cert-tls)");
        if (!cert_has_eku(cert, server ? NID_server_auth : NID_client_auth))
            return refuse(server ? "no TLS Web Server Authentication extended key usage (remote-cert-tls server)"
                                 : "no TLS Web Client Authentication extended key usage (remote-cert-tls client)");
    }
    if (!self->verify_name().empty()) {
        const std::string& want = self->verify_name();
        switch (self->verify_name_type()) {
            case VerifyNameType::Name:
                if (!name_matches(cert, want)) return refuse("neither its CN nor a DNS name is \"" + want + "\" (verify-x509-name)");
                break;
            case VerifyNameType::NamePrefix:
                if (common_name(cert).compare(0, want.size(), want) != 0)
                    return refuse("its CN does not start with \"" + want + "\" (verify-x509-name name-prefix)");
                break;
            case VerifyNameType::Subject:
                if (const std::string s = x509_subject_text(cert); s != want)
                    return refuse("its subject \"" + s + "\" is not \"" + want + "\" (verify-x509-name subject)");
                break;
        }
    }
    return 1;
}

// An encrypted key's passphrase from TlsConfig::key_password; never a terminal prompt (the
// default callback would read from the controlling terminal of a daemon).
int password_callback(char* buf, int size, int /*rwflag*/, void* u) {
    const auto* pw = static_cast<const std::string*>(u);
    if (pw == nullptr || pw->empty() || size <= 0) return -1;
    const int n = static_cast<int>(std::min<std::size_t>(pw->size(), static_cast<std::size_t>(size)));
    std::memcpy(buf, pw->data(), static_cast<std::size_t>(n));
    return n;
}

}  // namespace

std::string x509_subject_text(void* x509) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio) return {};
    X509_NAME_print_ex(bio.get(), X509_get_subject_name(static_cast<X509*>(x509)), 0,
                       XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN | ASN1_STRFLGS_UTF8_CONVERT | ASN1_STRFLGS_ESC_CTRL);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

std::optional<Fingerprint> parse_fingerprint(std::string_view text) {
    Fingerprint fp{};
    std::size_t n = 0;
    int hi = -1;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == ':') {
            if (hi >= 0 || i == 0) return std::nullopt;
            continue;
        }
        int v = std::isxdigit(static_cast<unsigned char>(c))
                    ? (std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10))
                    : -1;
        if (v < 0 || n == fp.size()) return std::nullopt;
        if (hi < 0) {
            hi = v;
        } else {
            fp[n++] = static_cast<uint8_t>(hi << 4 | v);
            hi = -1;
        }
    }
    if (n != fp.size() || hi >= 0) return std::nullopt;
    return fp;
}

std::string format_fingerprint(const Fingerprint& fp) {
    static const char* digits = "0123456789ABCDEF";
    std::string s;
    for (std::size_t i = 0; i < fp.size(); ++i) {
        if (i) s += ':';
        s += digits[fp[i] >> 4];
        s += digits[fp[i] & 15];
    }
    return s;
}

Result<std::shared_ptr<const TlsContext>> TlsContext::create(const TlsConfig& cfg) {
    ERR_clear_error();
    std::shared_ptr<TlsContext> self(new TlsContext());
    self->role_ = cfg.role;
    self->remote_cert_tls_ = cfg.remote_cert_tls;
    self->verify_name_ = cfg.verify_name;
    self->verify_name_type_ = cfg.verify_name_type;
    self->fingerprints_ = cfg.peer_fingerprints;
    self->has_ca_ = !cfg.ca_pem.empty() || !cfg.ca_file.empty();
    if (!self->has_ca_ && self->fingerprints_.empty())
        return fail("TLS needs a CA or at least one peer fingerprint to verify the peer");

    SSL_CTX* ctx = SSL_CTX_new(cfg.role == Role::Client ? TLS_client_method() : TLS_server_method());
    if (ctx == nullptr) return fail("cannot create a TLS context: " + openssl_errors());
    self->ssl_ctx_ = ctx;
    SSL_CTX_set_ex_data(ctx, context_index(), self.get());
    SSL_CTX_set_min_proto_version(ctx, cfg.tls_version_min == TLS1_3_VERSION ? TLS1_3_VERSION : TLS1_2_VERSION);
    // OpenVPN renegotiates with its own SOFT_RESET and a fresh session; TLS-level renegotiation,
    // tickets and resumption are not used.
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_callback);

    // CA: every certificate in the PEM goes into the trust store.
    if (self->has_ca_) {
        auto pem = load_pem(cfg.ca_pem, cfg.ca_file, "CA certificate");
        if (!pem) return fail(pem.error());
        const std::string where = label(cfg.ca_pem, cfg.ca_file, "CA certificate");
        auto bio = mem_bio(*pem);
        X509_STORE* store = SSL_CTX_get_cert_store(ctx);
        int count = 0;
        while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
            const int ok = X509_STORE_add_cert(store, c);
            X509_free(c);
            if (ok != 1) return fail(where + ": cannot add CA certificate: " + openssl_errors());
            ++count;
        }
        ERR_clear_error();  // the loop ends on a "no start line" error
        if (count == 0) return fail(where + ": no PEM certificate found");
    }

    // crl-verify: every CRL in the PEM; as OpenVPN, the whole chain is checked against them.
    if (!cfg.crl_pem.empty() || !cfg.crl_file.empty()) {
        auto pem = load_pem(cfg.crl_pem, cfg.crl_file, "CRL");
        if (!pem) return fail(pem.error());
        const std::string where = label(cfg.crl_pem, cfg.crl_file, "CRL");
        auto bio = mem_bio(*pem);
        X509_STORE* store = SSL_CTX_get_cert_store(ctx);
        int count = 0;
        while (X509_CRL* c = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
            const int ok = X509_STORE_add_crl(store, c);
            X509_CRL_free(c);
            if (ok != 1) return fail(where + ": cannot add the CRL: " + openssl_errors());
            ++count;
        }
        ERR_clear_error();
        if (count == 0) return fail(where + ": no PEM CRL (-----BEGIN X509 CRL-----) found");
        X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    }

    // dh FILE: DHE for TLS 1.2 clients that offer only DHE suites (OpenSSL uses ECDHE when it can).
    if (!cfg.dh_pem.empty() || !cfg.dh_file.empty()) {
        auto pem = load_pem(cfg.dh_pem, cfg.dh_file, "DH parameters");
        if (!pem) return fail(pem.error());
        const std::string where = label(cfg.dh_pem, cfg.dh_file, "DH parameters");
        auto bio = mem_bio(*pem);
        EVP_PKEY* dh = PEM_read_bio_Parameters(bio.get(), nullptr);
        if (dh == nullptr || EVP_PKEY_get_base_id(dh) != EVP_PKEY_DH) {
            EVP_PKEY_free(dh);
            ERR_clear_error();
            return fail(where + ": no PEM DH parameters (-----BEGIN DH PARAMETERS-----) found");
        }
        if (EVP_PKEY_get_bits(dh) < 2048) {
            const int bits = EVP_PKEY_get_bits(dh);
            EVP_PKEY_free(dh);
            return fail(where + ": DH parameters of " + std::to_string(bits) + " bits are too weak (2048 or more)");
        }
        if (SSL_CTX_set0_tmp_dh_pkey(ctx, dh) != 1) {  // takes dh on success
            EVP_PKEY_free(dh);
            return fail(where + ": DH parameters refused: " + openssl_errors());
        }
    }

    // Certificate: the leaf, then any intermediates.
    {
        auto pem = load_pem(cfg.cert_pem, cfg.cert_file, "certificate");
        if (!pem) return fail(pem.error());
        const std::string where = label(cfg.cert_pem, cfg.cert_file, "certificate");
        auto bio = mem_bio(*pem);
        X509* leaf = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
        if (leaf == nullptr) return fail(where + ": no PEM certificate found");
        const int ok = SSL_CTX_use_certificate(ctx, leaf);
        X509_free(leaf);
        if (ok != 1) return fail(where + ": certificate refused: " + openssl_errors());
        while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
            if (SSL_CTX_add0_chain_cert(ctx, c) != 1) {
                X509_free(c);
                return fail(where + ": cannot add chain certificate: " + openssl_errors());
            }
        }
        ERR_clear_error();
    }

    // Private key.
    {
        auto pem = load_pem(cfg.key_pem, cfg.key_file, "private key");
        if (!pem) return fail(pem.error());
        const std::string where = label(cfg.key_pem, cfg.key_file, "private key");
        auto bio = mem_bio(*pem);
        std::string password = cfg.key_password;
        const bool encrypted = pem->find("ENCRYPTED") != std::string::npos;
        EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, password_callback, &password);
        secure_wipe(pem->data(), pem->size());
        secure_wipe(password.data(), password.size());
        if (key == nullptr) {
            ERR_clear_error();
            if (encrypted && cfg.key_password.empty())
                return fail(where + ": the private key is encrypted; give its passphrase in an askpass file");
            if (encrypted) return fail(where + ": cannot decrypt the private key with the askpass passphrase");
            return fail(where + ": no usable PEM private key found");
        }
        if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), key) != 1) {
            EVP_PKEY_free(key);
            ERR_clear_error();
            return fail(where + ": private key does not match certificate " +
                        label(cfg.cert_pem, cfg.cert_file, "certificate"));
        }
        const int ok = SSL_CTX_use_PrivateKey(ctx, key);
        EVP_PKEY_free(key);
        if (ok != 1) return fail(where + ": private key refused: " + openssl_errors());
    }
    return std::shared_ptr<const TlsContext>(std::move(self));
}

TlsContext::~TlsContext() { SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_)); }

}  // namespace wirebridge::crypto
