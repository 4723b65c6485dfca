// TlsSession over SSL with two memory BIOs: the reliability layer is the transport.
#include "crypto/tls_session.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <climits>

#include "crypto/openssl_error.hpp"

namespace wirebridge::crypto {

namespace {

SSL* ssl_of(void* p) { return static_cast<SSL*>(p); }
BIO* bio_of(void* p) { return static_cast<BIO*>(p); }

}  // namespace

Result<std::unique_ptr<TlsSession>> TlsSession::create(std::shared_ptr<const TlsContext> ctx) {
    if (!ctx) return fail("TLS session without a context");
    std::unique_ptr<TlsSession> s(new TlsSession());
    s->ctx_ = std::move(ctx);
    SSL* ssl = SSL_new(static_cast<SSL_CTX*>(s->ctx_->native()));
    if (ssl == nullptr) return fail("cannot create a TLS session: " + drain_openssl_errors());
    s->ssl_ = ssl;
    BIO* rbio = BIO_new(BIO_s_mem());
    BIO* wbio = BIO_new(BIO_s_mem());
    if (rbio == nullptr || wbio == nullptr) {
        BIO_free(rbio);
        BIO_free(wbio);
        return fail("out of memory creating TLS buffers");
    }
    // An empty read BIO means "wait for more", not end of stream.
    BIO_set_mem_eof_return(rbio, -1);
    SSL_set_bio(ssl, rbio, wbio);
    s->rbio_ = rbio;
    s->wbio_ = wbio;
    SSL_set_app_data(ssl, s.get());
    if (s->ctx_->role() == Role::Client) {
        SSL_set_connect_state(ssl);
    } else {
        SSL_set_accept_state(ssl);
    }
    // The client speaks first: produce the ClientHello now so take_ciphertext() has it.
    if (auto r = s->advance(); !r) return fail(r.error());
    return s;
}

TlsSession::~TlsSession() { SSL_free(ssl_of(ssl_)); }

Result<void> TlsSession::fatal(std::string what) {
    failed_ = true;
    std::string detail = verify_error_.empty() ? drain_openssl_errors() : verify_error_;
    ERR_clear_error();
    if (!detail.empty()) what += ": " + detail;
    return fail(std::move(what));
}

Result<void> TlsSession::advance() {
    if (failed_) return fail("TLS session already failed");
    if (SSL_is_init_finished(ssl_of(ssl_))) return {};
    ERR_clear_error();
    const int rc = SSL_do_handshake(ssl_of(ssl_));
    if (rc == 1) return {};
    const int err = SSL_get_error(ssl_of(ssl_), rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return {};
    return fatal("TLS handshake failed");
}

Result<void> TlsSession::feed_ciphertext(std::span<const uint8_t> bytes) {
    if (failed_) return fail("TLS session already failed");
    std::size_t done = 0;
    while (done < bytes.size()) {
        const int chunk = static_cast<int>(std::min<std::size_t>(bytes.size() - done, INT_MAX));
        const int n = BIO_write(bio_of(rbio_), bytes.data() + done, chunk);
        if (n <= 0) return fatal("cannot buffer TLS input");
        done += static_cast<std::size_t>(n);
    }
    return advance();
}

std::vector<uint8_t> TlsSession::take_ciphertext() {
    std::vector<uint8_t> out;
    const std::size_t pending = BIO_ctrl_pending(bio_of(wbio_));
    if (pending == 0) return out;
    out.resize(pending);
    const int n = BIO_read(bio_of(wbio_), out.data(), static_cast<int>(std::min<std::size_t>(pending, INT_MAX)));
    out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return out;
}

Result<void> TlsSession::write_plaintext(std::span<const uint8_t> bytes) {
    if (failed_) return fail("TLS session already failed");
    if (!handshake_done()) return fail("TLS write before the handshake finished");
    std::size_t done = 0;
    while (done < bytes.size()) {
        ERR_clear_error();
        std::size_t n = 0;
        // Memory BIOs grow as needed, so a write never waits for the peer.
        if (SSL_write_ex(ssl_of(ssl_), bytes.data() + done, bytes.size() - done, &n) != 1)
            return fatal("TLS write failed");
        done += n;
    }
    return {};
}

Result<std::vector<uint8_t>> TlsSession::read_plaintext() {
    if (failed_) return fail("TLS session already failed");
    std::vector<uint8_t> out;
    if (!SSL_is_init_finished(ssl_of(ssl_))) return out;
    uint8_t buf[4096];
    for (;;) {
        ERR_clear_error();
        std::size_t n = 0;
        if (SSL_read_ex(ssl_of(ssl_), buf, sizeof buf, &n) == 1) {
            out.insert(out.end(), buf, buf + n);
            continue;
        }
        const int err = SSL_get_error(ssl_of(ssl_), 0);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
        if (err == SSL_ERROR_ZERO_RETURN) {
            failed_ = true;
            return fail("the peer closed the TLS session");
        }
        secure_wipe(buf, sizeof buf);
        return fail(fatal("TLS read failed").error());
    }
    secure_wipe(buf, sizeof buf);
    return out;
}

bool TlsSession::handshake_done() const { return !failed_ && SSL_is_init_finished(ssl_of(ssl_)); }

Result<SecureBytes> TlsSession::export_keying_material(std::string_view label, std::size_t length) const {
    if (!handshake_done()) return fail("keying material export before the handshake finished");
    SecureBytes out(length);
    const std::string l(label);
    if (SSL_export_keying_material(ssl_of(ssl_), out.data(), out.size(), l.c_str(), l.size(), nullptr, 0, 0) != 1) {
        ERR_clear_error();
        return fail("TLS keying material export (" + l + ") failed");
    }
    return out;
}

std::optional<PeerCertSummary> TlsSession::peer_certificate() const {
    X509* cert = SSL_get0_peer_certificate(ssl_of(ssl_));
    if (cert == nullptr) return std::nullopt;
    PeerCertSummary p;
    X509_NAME* name = X509_get_subject_name(cert);
    int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (i >= 0) {
        unsigned char* utf8 = nullptr;
        int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
        if (n >= 0) {
            p.common_name.assign(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
            OPENSSL_free(utf8);
        }
    }
    if (BIO* b = BIO_new(BIO_s_mem())) {
        X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253);
        char* data = nullptr;
        long len = BIO_get_mem_data(b, &data);
        if (len > 0) p.subject.assign(data, static_cast<std::size_t>(len));
        BIO_free(b);
    }
    unsigned int n = 0;
    X509_digest(cert, EVP_sha256(), p.sha256.data(), &n);
    return p;
}

std::string TlsSession::description() const {
    const SSL_CIPHER* c = SSL_get_current_cipher(ssl_of(ssl_));
    std::string d = SSL_get_version(ssl_of(ssl_));
    if (c != nullptr) d += std::string(" ") + SSL_CIPHER_get_name(c);
    return d;
}

}  // namespace wirebridge::crypto
