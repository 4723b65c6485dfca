// TlsContext: the TLS configuration of one tunnel (certificates, role, peer checks), shared by its sessions.
//
// Mirrors openvpn's options: `ca`, `cert`, `key` (PEM), `remote-cert-tls server|client` (the peer
// certificate must have the key-usage extension and the TLS Web Server/Client Authentication
// EKU), `verify-x509-name NAME name` (here: the peer's subject CN or one of its DNS SANs equals
// NAME) and `peer-fingerprint` (SHA256 of the peer's leaf certificate; with no CA configured it
// replaces chain verification, so self-signed appliance pairs work). TLS 1.2 is the minimum.
//
// Usage:
//   crypto::TlsConfig cfg;
//   cfg.role = crypto::Role::Client;
//   cfg.ca_file = "/etc/wirebridge/ca.crt"; cfg.cert_file = ...; cfg.key_file = ...;
//   cfg.remote_cert_tls = crypto::RemoteCertTls::Server;
//   auto ctx = crypto::TlsContext::create(cfg);   // Result<std::shared_ptr<const TlsContext>>
//   // errors name the file: "/etc/wirebridge/site.key: no PEM private key found"
//   auto s = crypto::TlsSession::create(*ctx);     // see tls_session.hpp
//
// Each *_pem field, when not empty, is used instead of the matching *_file (tests, inline config).
// A context is immutable after create() and may be shared by sessions on several threads.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "crypto/role.hpp"

namespace wirebridge::crypto {

using Fingerprint = std::array<uint8_t, 32>;  // SHA256 over the DER certificate

// "AB:CD:..." (32 colon-separated hex pairs, any case), as openvpn's `peer-fingerprint`.
std::optional<Fingerprint> parse_fingerprint(std::string_view text);
std::string format_fingerprint(const Fingerprint& fp);  // upper-case, colon-separated

enum class RemoteCertTls { None, Server, Client };
// verify-x509-name's type: `name` (the CN, or here also a DNS SAN, equals), `name-prefix` (the CN
// starts with), `subject` (the whole subject in OpenVPN's "C=.., O=.., CN=.." form equals).
enum class VerifyNameType { Name, NamePrefix, Subject };

// The peer's subject as OpenVPN prints and compares it (X509_NAME_print_ex, ", " separated, short names).
std::string x509_subject_text(void* x509);

struct TlsConfig {
    Role role = Role::Client;
    std::string ca_file, cert_file, key_file;
    std::string ca_pem, cert_pem, key_pem;
    RemoteCertTls remote_cert_tls = RemoteCertTls::None;
    std::string verify_name;                 // empty: no name check
    VerifyNameType verify_name_type = VerifyNameType::Name;
    std::string crl_file, crl_pem;           // crl-verify: PEM CRLs of the CA(s); empty: none
    int tls_version_min = 0;                 // 0 or 0x0303: TLS 1.2; 0x0304 (TLS1_3_VERSION): 1.3 only
    std::string key_password;                // passphrase of an encrypted key (askpass); empty: none
    std::vector<Fingerprint> peer_fingerprints;  // empty: no fingerprint check
    // Server: DH parameters (PEM "BEGIN DH PARAMETERS", openvpn's `dh FILE`) enable the DHE key
    // exchange for TLS 1.2 clients restricted to DHE cipher suites; empty: ECDHE only (`dh none`).
    std::string dh_file, dh_pem;
};

class TlsContext {
public:
    static Result<std::shared_ptr<const TlsContext>> create(const TlsConfig& cfg);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    Role role() const { return role_; }
    RemoteCertTls remote_cert_tls() const { return remote_cert_tls_; }
    const std::string& verify_name() const { return verify_name_; }
    VerifyNameType verify_name_type() const { return verify_name_type_; }
    const std::vector<Fingerprint>& peer_fingerprints() const { return fingerprints_; }
    bool has_ca() const { return has_ca_; }

    void* native() const { return ssl_ctx_; }  // SSL_CTX*, for TlsSession only

private:
    TlsContext() = default;
    void* ssl_ctx_ = nullptr;
    Role role_ = Role::Client;
    RemoteCertTls remote_cert_tls_ = RemoteCertTls::None;
    std::string verify_name_;
    VerifyNameType verify_name_type_ = VerifyNameType::Name;
    std::vector<Fingerprint> fingerprints_;
    bool has_ca_ = false;
};

}  // namespace wirebridge::crypto
