// Per-session configuration: role, transport, TLS, control-channel wrap, ciphers, timers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/hmac.hpp"
#include "crypto/static_key.hpp"
#include "crypto/tls_context.hpp"
#include "proto/constants.hpp"
#include "proto/control_message.hpp"
#include "proto/mss_clamp.hpp"
#include "session/peer_limits.hpp"

namespace wirebridge::session {

enum class Role : uint8_t { client, server };
enum class Transport : uint8_t { udp, tcp };
enum class WrapMode : uint8_t { none, tls_auth, tls_crypt };

struct WrapConfig {
    WrapMode mode = WrapMode::none;
    crypto::StaticKey key;                                           // tls-auth / tls-crypt key file
    crypto::KeyDirection direction = crypto::KeyDirection::Bidirectional;  // tls-auth only
    crypto::Digest digest = crypto::Digest::Sha1;                    // tls-auth --auth
};

struct SessionConfig {
    Role role = Role::client;
    Transport transport = Transport::udp;
    std::shared_ptr<const crypto::TlsContext> tls;  // its role must match `role`
    WrapConfig wrap;
    // Client: sent as IV_CIPHERS. Server: preference order for the choice (2.6 rule).
    std::vector<std::string> data_ciphers = {"AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"};
    // --data-ciphers-fallback: the cipher used with a peer that negotiates none (a server that
    // pushes no cipher; a client that sends neither IV_CIPHERS, IV_NCP nor a `cipher` option).
    std::string data_ciphers_fallback;
    // --auth: the HMAC of the data channel with a CBC cipher (AEAD ciphers have their own tag).
    crypto::Digest auth = crypto::Digest::Sha1;
    size_t tls_mtu = proto::kDefaultTlsMtu;   // largest control packet, wrap included
    uint32_t hand_window_s = 60;
    uint32_t tls_timeout_ms = proto::kInitialRetransmitMs;
    uint32_t reneg_seconds = 3600;            // 0 = never by time
    uint64_t reneg_bytes = 0;                 // 0 = never by volume
    uint32_t tran_window_s = 3600;            // lame-duck lifetime of the previous key
    uint32_t push_request_interval_s = 5;
    // Keepalive. A client takes these from PUSH_REPLY when pushed; 0 = off.
    uint32_t ping_s = 0;
    uint32_t ping_restart_s = 0;
    uint32_t exit_notify_count = 1;           // OCC_EXIT repeats when cc-exit is not agreed
    std::string username, password;           // client, optional (auth-user-pass)
    std::string version = "wirebridge-0.1";   // IV_VER
    bool tls_ekm = true;                      // client: offer EKM (IV_PROTO bit 3); false forces the PRF
    bool cc_exit = true;                      // client: offer EXIT on the control channel (IV_PROTO bit 7)
    // Compression framing (OpenVPN's comp-lzo / compress): a client uses it until a server pushes
    // another; a server uses it with every client and pushes its stub ("comp-lzo no", ...).
    proto::CompressionFraming compression = proto::CompressionFraming::none;
    // TCP MSS clamping (--mssfix) of the frames this session's keys carry, and the outer address
    // family it counts (the server sets it per client from the client's address).
    proto::MssFix mssfix;
    bool link_ipv6 = false;
    // --fragment N [mtu] (UDP; 0: off): every data payload carries OpenVPN's fragment header and
    // the data path cuts what would not fit in N bytes (proto/fragment.hpp).
    uint16_t fragment = 0;
    bool fragment_mtu = false;
    // Server: what to push to this client (peer_id, ifconfig...; cipher/flags are filled in).
    proto::PushOptions push;
    uint32_t peer_id = 0;                     // server: the DATA_V2 peer-id assigned to this client
    PeerLimits limits;                        // server: PUSH_REQUEST and SOFT_RESET budgets of the client
    // Client: after this many refusals (ICMP port unreachable: the server's process is gone) since
    // the last authentic packet, with nothing authentic heard for max(refused_grace_min_ms, 2 x ping
    // + 1 s), restart without waiting for ping-restart (one is enough: Session::note_refusals).
    // 0: only ping-restart decides.
    uint32_t refused_restart_after = 1;
    uint32_t refused_grace_min_ms = 3000;
};

}  // namespace wirebridge::session
