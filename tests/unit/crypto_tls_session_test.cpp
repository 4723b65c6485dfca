// TLS over memory: client and server handshake through the real code with a test PKI; EKM equal on
// both sides; expired, foreign-CA, wrong-EKU, wrong-name and wrong-fingerprint peers refused.
#include "crypto/tls_session.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <ctime>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "crypto_test_util.hpp"
#include "test_pki.hpp"

namespace wirebridge::crypto {
namespace {

namespace tp = wirebridge::testpki;
using test::to_hex;

const tp::Pki& pki() {
    static const tp::Pki p = tp::make_pki();
    return p;
}

TlsConfig config(Role role, const tp::KeyCert& own, const tp::KeyCert& ca) {
    TlsConfig c;
    c.role = role;
    c.ca_pem = ca.cert_pem;
    c.cert_pem = own.cert_pem;
    c.key_pem = own.key_pem;
    c.remote_cert_tls = role == Role::Client ? RemoteCertTls::Server : RemoteCertTls::Client;
    return c;
}

struct Pair {
    std::unique_ptr<TlsSession> client, server;
    std::string client_error, server_error;
};

// Shuttles records both ways until both finish, one fails, or nothing moves (bounded).
Pair handshake(const TlsConfig& ccfg, const TlsConfig& scfg) {
    Pair p;
    auto cctx = TlsContext::create(ccfg);
    auto sctx = TlsContext::create(scfg);
    EXPECT_TRUE(cctx) << (cctx ? "" : cctx.error().message);
    EXPECT_TRUE(sctx) << (sctx ? "" : sctx.error().message);
    if (!cctx || !sctx) return p;
    auto c = TlsSession::create(*cctx);
    auto s = TlsSession::create(*sctx);
    EXPECT_TRUE(c && s);
    if (!c || !s) return p;
    p.client = std::move(*c);
    p.server = std::move(*s);
    for (int round = 0; round < 20; ++round) {
        auto to_server = p.client->take_ciphertext();
        if (!to_server.empty() && !p.server->failed()) {
            auto r = p.server->feed_ciphertext(to_server);
            if (!r) p.server_error = r.error().message;
            (void)p.server->read_plaintext();
        }
        auto to_client = p.server->take_ciphertext();
        if (!to_client.empty() && !p.client->failed()) {
            auto r = p.client->feed_ciphertext(to_client);
            if (!r) p.client_error = r.error().message;
            // A TLS 1.3 client learns of a refused client certificate only from the next read.
            auto rd = p.client->read_plaintext();
            if (!rd && p.client_error.empty()) p.client_error = rd.error().message;
        }
        if (to_server.empty() && to_client.empty()) break;
    }
    return p;
}

std::string join(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

TEST(CryptoTlsSession, HandshakeDataAndEkm) {
    auto p = handshake(config(Role::Client, pki().client, pki().ca), config(Role::Server, pki().server, pki().ca));
    ASSERT_TRUE(p.client && p.server);
    ASSERT_TRUE(p.client->handshake_done()) << p.client_error;
    ASSERT_TRUE(p.server->handshake_done()) << p.server_error;
    EXPECT_EQ(p.client->description().rfind("TLSv1.3", 0), 0u) << p.client->description();

    // Application data both ways (the key-method-2 message, then text control messages).
    std::string km2(300, 'k');
    ASSERT_TRUE(p.client->write_plaintext({reinterpret_cast<const uint8_t*>(km2.data()), km2.size()}));
    ASSERT_TRUE(p.server->feed_ciphertext(p.client->take_ciphertext()));
    auto got = p.server->read_plaintext();
    ASSERT_TRUE(got);
    EXPECT_EQ(join(*got), km2);
    std::string push = std::string("PUSH_REPLY,ping 10") + '\0';
    ASSERT_TRUE(p.server->write_plaintext({reinterpret_cast<const uint8_t*>(push.data()), push.size()}));
    ASSERT_TRUE(p.client->feed_ciphertext(p.server->take_ciphertext()));
    got = p.client->read_plaintext();
    ASSERT_TRUE(got);
    EXPECT_EQ(join(*got), push);
    // Nothing more to read is an empty result, not an error.
    got = p.client->read_plaintext();
    ASSERT_TRUE(got);
    EXPECT_TRUE(got->empty());

    for (auto label : {kEkmDataKeysLabel, kEkmP2pPeerIdLabel, kEkmDynamicTlsCryptLabel}) {
        auto a = p.client->export_keying_material(label, 256);
        auto b = p.server->export_keying_material(label, 256);
        ASSERT_TRUE(a && b);
        EXPECT_EQ(to_hex(a->span()), to_hex(b->span())) << label;
    }
    auto k1 = p.client->export_keying_material(kEkmDataKeysLabel, 256);
    auto k2 = p.client->export_keying_material(kEkmP2pPeerIdLabel, 3);
    ASSERT_TRUE(k1 && k2);
    EXPECT_EQ(k2->size(), 3u);
    EXPECT_NE(to_hex(k1->span().first(3)), to_hex(k2->span()));

    auto peer = p.client->peer_certificate();
    ASSERT_TRUE(peer);
    EXPECT_EQ(peer->common_name, "server");
    EXPECT_NE(peer->subject.find("CN=server"), std::string::npos) << peer->subject;
    EXPECT_EQ(format_fingerprint(peer->sha256), tp::fingerprint(pki().server));
    auto cpeer = p.server->peer_certificate();
    ASSERT_TRUE(cpeer);
    EXPECT_EQ(cpeer->common_name, "client");
}

TEST(CryptoTlsSession, SeparateHandshakesHaveDifferentEkm) {
    auto a = handshake(config(Role::Client, pki().client, pki().ca), config(Role::Server, pki().server, pki().ca));
    auto b = handshake(config(Role::Client, pki().client, pki().ca), config(Role::Server, pki().server, pki().ca));
    ASSERT_TRUE(a.client && b.client && a.client->handshake_done() && b.client->handshake_done());
    auto ka = a.client->export_keying_material(kEkmDataKeysLabel, 256);
    auto kb = b.client->export_keying_material(kEkmDataKeysLabel, 256);
    ASSERT_TRUE(ka && kb);
    EXPECT_NE(to_hex(ka->span()), to_hex(kb->span()));
}

TEST(CryptoTlsSession, ExpiredServerCertRefused) {
    tp::CertOptions o("server", tp::Usage::Server);
    o.not_before = -2 * 86400;
    o.not_after = -86400;
    auto expired = tp::make_cert(pki().ca, o);
    auto p = handshake(config(Role::Client, pki().client, pki().ca), config(Role::Server, expired, pki().ca));
    ASSERT_TRUE(p.client);
    EXPECT_FALSE(p.client->handshake_done());
    EXPECT_TRUE(p.client->failed());
    EXPECT_NE(p.client_error.find("expired"), std::string::npos) << p.client_error;
    EXPECT_FALSE(p.client->export_keying_material(kEkmDataKeysLabel, 256));
}

TEST(CryptoTlsSession, ExpiredClientCertRefusedByServer) {
    tp::CertOptions o("client", tp::Usage::Client);
    o.not_before = -2 * 86400;
    o.not_after = -86400;
    auto expired = tp::make_cert(pki().ca, o);
    auto p = handshake(config(Role::Client, expired, pki().ca), config(Role::Server, pki().server, pki().ca));
    ASSERT_TRUE(p.server);
    EXPECT_FALSE(p.server->handshake_done());
    EXPECT_NE(p.server_error.find("expired"), std::string::npos) << p.server_error;
    // The client learns through the server's alert.
    EXPECT_FALSE(p.client_error.empty());
}

TEST(CryptoTlsSession, ForeignCaRefused) {
    auto other_ca = tp::make_ca("other CA");
    auto foreign = tp::make_cert(other_ca, tp::CertOptions("server", tp::Usage::Server));
    auto p = handshake(config(Role::Client, pki().client, pki().ca), config(Role::Server, foreign, other_ca));
    ASSERT_TRUE(p.client);
    EXPECT_FALSE(p.client->handshake_done());
    // The server sends its chain up to its own root, which the client does not trust.
    EXPECT_NE(p.client_error.find("self-signed certificate in certificate chain"), std::string::npos)
        << p.client_error;
    EXPECT_FALSE(p.server->handshake_done());
}

TEST(CryptoTlsSession, RemoteCertTlsChecksEku) {
    // A certificate without any EKU passes OpenSSL's purpose check; remote-cert-tls refuses it.
    auto no_eku = tp::make_cert(pki().ca, tp::CertOptions("server", tp::Usage::NoEku));
    auto p = handshake(config(Role::Client, pki().client, pki().ca), config(Role::Server, no_eku, pki().ca));
    ASSERT_TRUE(p.client);
    EXPECT_FALSE(p.client->handshake_done());
    EXPECT_NE(p.client_error.find("remote-cert-tls server"), std::string::npos) << p.client_error;

    // Without remote-cert-tls the same certificate passes.
    auto lax = config(Role::Client, pki().client, pki().ca);
    lax.remote_cert_tls = RemoteCertTls::None;
    p = handshake(lax, config(Role::Server, no_eku, pki().ca));
    ASSERT_TRUE(p.client);
    EXPECT_TRUE(p.client->handshake_done()) << p.client_error;

    // No key usage extension at all is refused too.
    tp::CertOptions nk("server", tp::Usage::Server);
    nk.key_usage = false;
    auto no_ku = tp::make_cert(pki().ca, nk);
    p = handshake(config(Role::Client, pki().client, pki().ca), config(Role::Server, no_ku, pki().ca));
    EXPECT_NE(p.client_error.find("no key usage"), std::string::npos) << p.client_error;

    // The server requires clientAuth from the client.
    auto client_no_eku = tp::make_cert(pki().ca, tp::CertOptions("client", tp::Usage::NoEku));
    p = handshake(config(Role::Client, client_no_eku, pki().ca), config(Role::Server, pki().server, pki().ca));
    EXPECT_NE(p.server_error.find("remote-cert-tls client"), std::string::npos) << p.server_error;

    // A certificate whose EKU says client is refused as a server even by OpenSSL's purpose check.
    p = handshake(lax, config(Role::Server, pki().client, pki().ca));
    ASSERT_TRUE(p.client);
    EXPECT_FALSE(p.client->handshake_done());
    EXPECT_NE(p.client_error.find("purpose"), std::string::npos) << p.client_error;
}

TEST(CryptoTlsSession, NameCheck) {
    auto c = config(Role::Client, pki().client, pki().ca);
    c.verify_name = "server";  // the CN
    auto p = handshake(c, config(Role::Server, pki().server, pki().ca));
    EXPECT_TRUE(p.client && p.client->handshake_done()) << p.client_error;
    c.verify_name = "server.wirebridge.test";  // a DNS SAN
    p = handshake(c, config(Role::Server, pki().server, pki().ca));
    EXPECT_TRUE(p.client && p.client->handshake_done()) << p.client_error;
    c.verify_name = "other";
    p = handshake(c, config(Role::Server, pki().server, pki().ca));
    ASSERT_TRUE(p.client);
    EXPECT_FALSE(p.client->handshake_done());
    EXPECT_NE(p.client_error.find("\"other\""), std::string::npos) << p.client_error;
}

TEST(CryptoTlsSession, NamePrefixAndSubject) {
    auto c = config(Role::Client, pki().client, pki().ca);
    c.verify_name_type = VerifyNameType::NamePrefix;
    c.verify_name = "serv";
    auto p = handshake(c, config(Role::Server, pki().server, pki().ca));
    EXPECT_TRUE(p.client && p.client->handshake_done()) << p.client_error;
    c.verify_name = "server.wire";  // a DNS SAN does not count for a prefix: the CN only
    p = handshake(c, config(Role::Server, pki().server, pki().ca));
    ASSERT_TRUE(p.client);
    EXPECT_FALSE(p.client->handshake_done());
    EXPECT_NE(p.client_error.find("does not start with \"server.wire\""), std::string::npos) << p.client_error;

    c.verify_name_type = VerifyNameType::Subject;
    c.verify_name = "O=wirebridge test, CN=server";  // OpenVPN's form of the whole subject
    p = handshake(c, config(Role::Server, pki().server, pki().ca));
    EXPECT_TRUE(p.client && p.client->handshake_done()) << p.client_error;
    c.verify_name = "server";
    p = handshake(c, config(Role::Server, pki().server, pki().ca));
    ASSERT_TRUE(p.client);
    EXPECT_FALSE(p.client->handshake_done());
    EXPECT_NE(p.client_error.find("subject \"O=wirebridge test, CN=server\" is not \"server\""), std::string::npos) << p.client_error;
}

TEST(CryptoTlsSession, EncryptedKeyNeedsItsPassphrase) {
    // The client's key, encrypted with AES-256-CBC under a passphrase.
    BIO* in = BIO_new_mem_buf(pki().client.key_pem.data(), static_cast<int>(pki().client.key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
    BIO_free(in);
    ASSERT_NE(key, nullptr);
    BIO* out = BIO_new(BIO_s_mem());
    static const char pass[] = "correct horse";
    ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(out, key, EVP_aes_256_cbc(), pass, sizeof pass - 1, nullptr, nullptr), 1);
    EVP_PKEY_free(key);
    char* data = nullptr;
    const long n = BIO_get_mem_data(out, &data);
    const std::string encrypted(data, static_cast<std::size_t>(n));
    BIO_free(out);
    ASSERT_NE(encrypted.find("ENCRYPTED"), std::string::npos);

    auto c = config(Role::Client, pki().client, pki().ca);
    c.key_pem = encrypted;
    auto ctx = TlsContext::create(c);  // no passphrase: refused at once, no terminal prompt
    ASSERT_FALSE(ctx);
    EXPECT_NE(ctx.error().message.find("encrypted; give its passphrase in an askpass file"), std::string::npos)
        << ctx.error().message;
    c.key_password = "wrong";
    ctx = TlsContext::create(c);
    ASSERT_FALSE(ctx);
    EXPECT_NE(ctx.error().message.find("cannot decrypt"), std::string::npos) << ctx.error().message;
    c.key_password = pass;
    auto p = handshake(c, config(Role::Server, pki().server, pki().ca));
    EXPECT_TRUE(p.client && p.client->handshake_done()) << p.client_error;
}

TEST(CryptoTlsSession, CrlRefusesARevokedPeer) {
    // A CRL of the test CA that revokes the client certificate's serial.
    BIO* b = BIO_new_mem_buf(pki().client.cert_pem.data(), static_cast<int>(pki().client.cert_pem.size()));
    X509* client = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    b = BIO_new_mem_buf(pki().ca.cert_pem.data(), static_cast<int>(pki().ca.cert_pem.size()));
    X509* ca = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    b = BIO_new_mem_buf(pki().ca.key_pem.data(), static_cast<int>(pki().ca.key_pem.size()));
    EVP_PKEY* ca_key = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    ASSERT_TRUE(client && ca && ca_key);
    auto make_crl = [&](bool revoke) {
        X509_CRL* crl = X509_CRL_new();
        X509_CRL_set_version(crl, 1);
        X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca));
        ASN1_TIME* now = ASN1_TIME_adj(nullptr, time(nullptr), -1, 0);
        ASN1_TIME* next = ASN1_TIME_adj(nullptr, time(nullptr), 1, 0);
        X509_CRL_set1_lastUpdate(crl, now);
        X509_CRL_set1_nextUpdate(crl, next);
        if (revoke) {
            X509_REVOKED* r = X509_REVOKED_new();
            X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(client));
            X509_REVOKED_set_revocationDate(r, now);
            X509_CRL_add0_revoked(crl, r);
        }
        X509_CRL_sort(crl);
        X509_CRL_sign(crl, ca_key, EVP_sha256());
        BIO* o = BIO_new(BIO_s_mem());
        PEM_write_bio_X509_CRL(o, crl);
        char* d = nullptr;
        const long n = BIO_get_mem_data(o, &d);
        std::string pem(d, static_cast<std::size_t>(n));
        BIO_free(o);
        ASN1_TIME_free(now);
        ASN1_TIME_free(next);
        X509_CRL_free(crl);
        return pem;
    };
    auto s = config(Role::Server, pki().server, pki().ca);
    s.crl_pem = make_crl(false);
    auto p = handshake(config(Role::Client, pki().client, pki().ca), s);
    EXPECT_TRUE(p.server && p.server->handshake_done()) << p.server_error;
    s.crl_pem = make_crl(true);
    p = handshake(config(Role::Client, pki().client, pki().ca), s);
    ASSERT_TRUE(p.server);
    EXPECT_FALSE(p.server->handshake_done());
    EXPECT_NE(p.server_error.find("revoked"), std::string::npos) << p.server_error;
    s.crl_pem = "not a CRL";
    EXPECT_FALSE(TlsContext::create(s));
    X509_free(client);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
}

TEST(CryptoTlsSession, TlsVersionMin) {
    auto c = config(Role::Client, pki().client, pki().ca);
    auto s = config(Role::Server, pki().server, pki().ca);
    s.tls_version_min = TLS1_3_VERSION;
    auto p = handshake(c, s);
    EXPECT_TRUE(p.client && p.client->handshake_done()) << p.client_error;
    // A peer that stops at TLS 1.2 is refused by a 1.3 minimum.
    auto cctx = TlsContext::create(c);
    ASSERT_TRUE(cctx);
    SSL_CTX_set_max_proto_version(static_cast<SSL_CTX*>((*cctx)->native()), TLS1_2_VERSION);
    auto sctx = TlsContext::create(s);
    ASSERT_TRUE(sctx);
    auto cs = TlsSession::create(*cctx);
    auto ss = TlsSession::create(*sctx);
    ASSERT_TRUE(cs && ss);
    bool failed = false;
    for (int round = 0; round < 10 && !failed; ++round) {
        auto to_server = (*cs)->take_ciphertext();
        if (!to_server.empty() && !(*ss)->feed_ciphertext(to_server)) failed = true;
        auto to_client = (*ss)->take_ciphertext();
        if (!to_client.empty() && !(*cs)->feed_ciphertext(to_client)) failed = true;
    }
    EXPECT_TRUE(failed);
    EXPECT_FALSE((*ss)->handshake_done());
}

TEST(CryptoTlsSession, PeerFingerprintWithoutCa) {
    auto srv = tp::make_self_signed(tp::CertOptions("appliance-b", tp::Usage::Server));
    auto cli = tp::make_self_signed(tp::CertOptions("appliance-a", tp::Usage::Client));
    TlsConfig c;
    c.role = Role::Client;
    c.cert_pem = cli.cert_pem;
    c.key_pem = cli.key_pem;
    c.peer_fingerprints = {*parse_fingerprint(tp::fingerprint(srv))};
    TlsConfig s;
    s.role = Role::Server;
    s.cert_pem = srv.cert_pem;
    s.key_pem = srv.key_pem;
    s.peer_fingerprints = {*parse_fingerprint(tp::fingerprint(cli))};
    auto p = handshake(c, s);
    ASSERT_TRUE(p.client && p.server);
    EXPECT_TRUE(p.client->handshake_done()) << p.client_error;
    EXPECT_TRUE(p.server->handshake_done()) << p.server_error;

    // A different self-signed server is refused.
    auto imposter = tp::make_self_signed(tp::CertOptions("appliance-b", tp::Usage::Server));
    s.cert_pem = imposter.cert_pem;
    s.key_pem = imposter.key_pem;
    p = handshake(c, s);
    ASSERT_TRUE(p.client);
    EXPECT_FALSE(p.client->handshake_done());
    EXPECT_NE(p.client_error.find("fingerprint"), std::string::npos) << p.client_error;
}

TEST(CryptoTlsSession, FingerprintParsing) {
    std::string fp = tp::fingerprint(pki().ca);
    auto parsed = parse_fingerprint(fp);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(format_fingerprint(*parsed), fp);
    std::string lower = fp;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(ch));
    EXPECT_TRUE(parse_fingerprint(lower));
    EXPECT_FALSE(parse_fingerprint(fp.substr(3)));
    EXPECT_FALSE(parse_fingerprint(fp + ":00"));
    EXPECT_FALSE(parse_fingerprint("zz" + fp.substr(2)));
    EXPECT_FALSE(parse_fingerprint(""));
}

TEST(CryptoTlsSession, ConfigErrorsNameTheFile) {
    tp::TempDir dir;
    auto files = tp::write_pki(dir, pki());
    TlsConfig c;
    c.role = Role::Client;
    c.ca_file = files.ca;
    c.cert_file = files.client_cert;
    c.key_file = files.client_key;
    auto ok = TlsContext::create(c);
    ASSERT_TRUE(ok) << ok.error().message;

    c.key_file = dir.file("missing.key");
    auto r = TlsContext::create(c);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(c.key_file), std::string::npos) << r.error().message;

    c.key_file = files.server_key;  // does not match the client certificate
    r = TlsContext::create(c);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("does not match"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(files.server_key), std::string::npos) << r.error().message;

    c.key_file = files.client_key;
    c.cert_file = dir.write("garbage.crt", "not a certificate\n");
    r = TlsContext::create(c);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("garbage.crt: no PEM certificate"), std::string::npos) << r.error().message;

    c.cert_file = files.client_cert;
    c.ca_file = dir.write("empty.crt", "");
    r = TlsContext::create(c);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("empty.crt"), std::string::npos) << r.error().message;

    c.ca_file.clear();
    r = TlsContext::create(c);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("CA or at least one peer fingerprint"), std::string::npos);
}

TEST(CryptoTlsSession, MisuseIsAnErrorNotACrash) {
    auto cctx = TlsContext::create(config(Role::Client, pki().client, pki().ca));
    ASSERT_TRUE(cctx);
    auto c = TlsSession::create(*cctx);
    ASSERT_TRUE(c);
    EXPECT_FALSE((*c)->take_ciphertext().empty());  // the ClientHello
    const uint8_t hi[] = {'h', 'i'};
    EXPECT_FALSE((*c)->write_plaintext(hi));
    EXPECT_FALSE((*c)->export_keying_material(kEkmDataKeysLabel, 256));
    EXPECT_FALSE((*c)->peer_certificate());
    // Garbage from the "server" ends the session.
    std::vector<uint8_t> junk(64, 0x42);
    EXPECT_FALSE((*c)->feed_ciphertext(junk));
    EXPECT_TRUE((*c)->failed());
    EXPECT_FALSE((*c)->feed_ciphertext(junk));
}

}  // namespace
}  // namespace wirebridge::crypto

namespace wirebridge::crypto {
namespace {

// Keys made by the openssl command line in the formats people have: RSA PKCS#1 ("BEGIN RSA PRIVATE
// KEY", as old easy-rsa) and PKCS#8; an encrypted key is refused with a clear message.
TEST(CryptoTlsSession, LoadsOpensslCliRsaKeysAndRefusesEncryptedOnes) {
    ASSERT_EQ(std::system("command -v openssl >/dev/null 2>&1"), 0);
    tp::TempDir dir;
    const std::string d = dir.path();
    const std::string cmd = "cd " + d +
                            " && openssl req -x509 -newkey rsa:2048 -nodes -keyout k8.pem -out c.pem -subj /CN=rsa"
                            " -days 2 >/dev/null 2>&1"
                            " && openssl rsa -in k8.pem -traditional -out k1.pem >/dev/null 2>&1"
                            " && openssl pkey -in k8.pem -aes256 -passout pass:x -out kenc.pem >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    std::ifstream k1(d + "/k1.pem");
    std::string first;
    std::getline(k1, first);
    EXPECT_EQ(first, "-----BEGIN RSA PRIVATE KEY-----");
    for (const char* key : {"k8.pem", "k1.pem"}) {
        TlsConfig c;
        c.role = Role::Server;
        c.ca_file = d + "/c.pem";
        c.cert_file = d + "/c.pem";
        c.key_file = d + "/" + key;
        auto ctx = TlsContext::create(c);
        EXPECT_TRUE(ctx) << key << ": " << (ctx ? "" : ctx.error().message);
    }
    TlsConfig c;
    c.role = Role::Server;
    c.ca_file = d + "/c.pem";
    c.cert_file = d + "/c.pem";
    c.key_file = d + "/kenc.pem";
    auto ctx = TlsContext::create(c);
    ASSERT_FALSE(ctx);
    EXPECT_NE(ctx.error().message.find("kenc.pem"), std::string::npos) << ctx.error().message;
    EXPECT_NE(ctx.error().message.find("encrypted"), std::string::npos) << ctx.error().message;

    // An RSA self-signed pair also handshakes (peer-fingerprint, no CA).
    TlsConfig s;
    s.role = Role::Server;
    s.cert_file = d + "/c.pem";
    s.key_file = d + "/k1.pem";
    auto cli = tp::make_self_signed(tp::CertOptions("cli", tp::Usage::Client));
    s.peer_fingerprints = {*parse_fingerprint(tp::fingerprint(cli))};
    TlsConfig cc;
    cc.role = Role::Client;
    cc.cert_pem = cli.cert_pem;
    cc.key_pem = cli.key_pem;
    std::ifstream cert_in(d + "/c.pem");
    std::stringstream ss;
    ss << cert_in.rdbuf();
    cc.peer_fingerprints = {*parse_fingerprint(tp::fingerprint(tp::KeyCert{ss.str(), ""}))};
    auto p = handshake(cc, s);
    ASSERT_TRUE(p.client && p.server);
    EXPECT_TRUE(p.client->handshake_done()) << p.client_error;
    EXPECT_TRUE(p.server->handshake_done()) << p.server_error;
}

}  // namespace
}  // namespace wirebridge::crypto
