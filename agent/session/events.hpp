// What a session reports to its owner: events, the session-level error enum, and counters.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "proto/constants.hpp"
#include "proto/control_message.hpp"

namespace wirebridge::session {

// Why a session failed or ended. Also indexes SessionCounters::errors, so keep `count_` last.
enum class SessionError : uint8_t {
    none = 0,
    handshake_timeout,   // a key exchange did not finish within hand-window
    tls_failed,          // TLS handshake or certificate verification refused
    bad_key_method,      // malformed or unsupported key-method 2 message
    no_common_cipher,    // server: none of our data_ciphers in the client's IV_CIPHERS
    bad_push_reply,      // client: PUSH_REPLY malformed or without a usable cipher
    key_derivation,      // EKM / PRF / AEAD context creation failed
    auth_failed,         // client: the server sent AUTH_FAILED; server: the client's username/password was refused
    ping_timeout,        // nothing heard from the peer for ping-restart seconds
    peer_exit,           // the peer announced its exit (EXIT, OCC_EXIT, RESTART, HALT)
    local_exit,          // close() was called
    control_overflow,    // the peer sent more control plaintext than we buffer
    refused,             // server: the client authenticated but there is no room (max_clients, pool)
    count_,
};
inline constexpr size_t kSessionErrorCount = static_cast<size_t>(SessionError::count_);
const char* session_error_name(SessionError e);

enum class EventType : uint8_t {
    tunnel_up,     // client: PUSH_REPLY applied (pushed options in Event::pushed); server: client keys ready
    keys_ready,    // data keys for Event::key_id exist: fetch them with Session::export_keys()
    keys_primary,  // Event::key_id is now the key to send with (the older one is a lame duck)
    keys_retired,  // Event::key_id must no longer be used (lame duck expired or replaced)
    peer_gone,     // the session is over (Event::error says why); drop it or restart
    info,          // INFO / INFO_PRE / AUTH_PENDING text from the peer (Event::message)
    notice,        // something the owner should log (Event::message): a refused renegotiation
};

struct Event {
    EventType type = EventType::info;
    uint8_t key_id = 0;
    SessionError error = SessionError::none;
    std::string message;          // human-readable detail (peer's text, TLS error)
    proto::PushOptions pushed;    // tunnel_up on the client: what the server pushed
};

// Counters a status page can show; plain integers, owned by the session's thread.
struct SessionCounters {
    std::array<uint64_t, proto::kDropCount> drops{};
    std::array<uint64_t, kSessionErrorCount> errors{};
    uint64_t control_in = 0, control_out = 0, retransmits = 0;
    uint64_t data_in = 0, data_out = 0, data_bytes_in = 0, data_bytes_out = 0;
    uint64_t renegotiations = 0;  // started, by either side
    uint64_t handshakes = 0;      // key negotiations completed (the first and every renegotiation)
    // Server: what an authenticated client asked for beyond its budget (session/peer_limits.hpp).
    uint64_t push_requests_limited = 0;  // PUSH_REQUESTs not answered
    uint64_t soft_resets_limited = 0;    // renegotiations the client started, refused
    uint64_t cert_changes_refused = 0;   // renegotiations refused: the peer's certificate changed
    uint64_t refusals = 0;               // client: ICMP port unreachable reports noted (note_refusals)

    void drop(proto::Drop d) { ++drops[static_cast<size_t>(d)]; }
    uint64_t dropped(proto::Drop d) const { return drops[static_cast<size_t>(d)]; }
    uint64_t total_drops() const {
        uint64_t n = 0;
        for (size_t i = 1; i < drops.size(); ++i) n += drops[i];
        return n;
    }
};

}  // namespace wirebridge::session
