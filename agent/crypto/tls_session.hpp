// TlsSession: one TLS handshake and record stream over memory, carried by OpenVPN's reliability layer.
//
// No sockets: ciphertext goes in with feed_ciphertext() (the payload of CONTROL_V1 packets, in
// order, as the reliability layer delivers it) and comes out with take_ciphertext() (to be cut into
// CONTROL_V1 packets of at most tls-mtu bytes). Plaintext is the key-method-2 message and the text
// control messages (PUSH_REQUEST, ...).
//
// Usage:
//   auto s = crypto::TlsSession::create(ctx);        // Result<std::unique_ptr<TlsSession>>
//   (*s)->take_ciphertext();                          // client: the ClientHello; server: empty
//   if (auto r = (*s)->feed_ciphertext(bytes); !r)   // handshake/verification errors end the session
//       log(r.error().message);                       //   "peer certificate: no TLS Web Server EKU"
//   out = (*s)->take_ciphertext();                    // replies, after every feed/write
//   if ((*s)->handshake_done()) {
//       (*s)->write_plaintext(km2_message);
//       auto text = (*s)->read_plaintext();           // Result<std::vector<uint8_t>>, maybe empty
//       auto keys = (*s)->export_keying_material("EXPORTER-OpenVPN-datakeys", 256);
//       auto peer = (*s)->peer_certificate();         // CN, subject, SHA256 fingerprint
//   }
//
// A session is used by one thread at a time (it is the session state machine's, not the data path's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "crypto/secure_bytes.hpp"
#include "crypto/tls_context.hpp"

namespace wirebridge::crypto {

inline constexpr std::string_view kEkmDataKeysLabel = "EXPORTER-OpenVPN-datakeys";
inline constexpr std::string_view kEkmP2pPeerIdLabel = "EXPORTER-OpenVPN-p2p-peerid";
inline constexpr std::string_view kEkmDynamicTlsCryptLabel = "EXPORTER-OpenVPN-dynamic-tls-crypt";

struct PeerCertSummary {
    std::string common_name;  // subject CN, empty if none
    std::string subject;      // RFC 2253 one-line subject
    Fingerprint sha256{};     // of the DER certificate
};

class TlsSession {
public:
    static Result<std::unique_ptr<TlsSession>> create(std::shared_ptr<const TlsContext> ctx);
    ~TlsSession();
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    // Hands TLS records from the peer to OpenSSL and advances the handshake. An error is final.
    Result<void> feed_ciphertext(std::span<const uint8_t> bytes);
    // Everything OpenSSL has produced for the peer since the last call.
    std::vector<uint8_t> take_ciphertext();
    // Only after handshake_done(); encrypts all of `bytes` (output via take_ciphertext()).
    Result<void> write_plaintext(std::span<const uint8_t> bytes);
    // All decrypted application data available now (empty if none).
    Result<std::vector<uint8_t>> read_plaintext();

    bool handshake_done() const;
    bool failed() const { return failed_; }
    // RFC 5705 exporter, no context (as openvpn); only after handshake_done().
    Result<SecureBytes> export_keying_material(std::string_view label, std::size_t length) const;
    std::optional<PeerCertSummary> peer_certificate() const;
    // e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384", for logs.
    std::string description() const;

    // Set by the verify callback to explain a refused certificate (internal).
    void set_verify_error(std::string e) { verify_error_ = std::move(e); }

private:
    TlsSession() = default;
    Result<void> advance();
    Result<void> fatal(std::string what);

    std::shared_ptr<const TlsContext> ctx_;
    void* ssl_ = nullptr;   // SSL*
    void* rbio_ = nullptr;  // BIO* (owned by ssl_)
    void* wbio_ = nullptr;  // BIO* (owned by ssl_)
    bool failed_ = false;
    std::string verify_error_;
};

}  // namespace wirebridge::crypto
