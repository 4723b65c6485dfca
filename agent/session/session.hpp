// Session: one OpenVPN 2.6 peer relationship (client pull role, or the server's side of one client).
//
// Sans-IO: the session never touches a socket, a clock or a thread. Its owner drives it:
//
//   auto s = Session::create(cfg, now_ms);          // Result<std::unique_ptr<Session>>
//   s->start(now_ms);                               // client: queues HARD_RESET_CLIENT_V2
//   loop:
//     on a control datagram / a whole TCP packet (after io::TcpLink cut the stream):
//         Session::Input in = s->on_packet(bytes, now_ms);   // bytes: mutable (unwrapped in place)
//     when now_ms >= s->next_deadline():  s->on_timer(now_ms);
//     after either:  while (s->pop_output(pkt)) send(pkt);   // UDP: one datagram; TCP: frame it
//                    while (s->pop_event(ev)) handle(ev);
//
// Data path split: the session negotiates keys; the data path (datapath::DataChannel, installed
// with export_keys(key_id) on keys_ready/keys_primary/keys_retired events) seals and opens the data
// packets, reports traffic with note_data_sent()/note_data_received() (keepalive, reneg-bytes) and
// hands decrypted non-frame payloads (ping, OCC) to on_data_payload(). The session opens no data
// packet: one given to on_packet() is refused as no_keys (the data path had no key for it). It
// seals its own pings and OCC messages (encrypt_frame()).
//
// Events: keys_ready -> keys_primary (send with this key_id from now on) -> keys_retired (forget
// it); tunnel_up once (client: carries the pushed options; apply ifconfig); peer_gone ends the
// session (error says why: ping_timeout, peer_exit, handshake_timeout, tls_failed, auth_failed...).
// Every refused packet is counted in counters().drops by proto::Drop reason.
//
// Timers inside: control retransmit (2 s doubling), hand-window, PUSH_REQUEST every 5 s until the
// reply, ping / ping-restart, renegotiation by time, bytes and packet-id, lame-duck expiry,
// exit notification repeats.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "crypto/aead.hpp"
#include "proto/control_message.hpp"
#include "proto/control_packet.hpp"
#include "proto/reliable.hpp"
#include "session/config.hpp"
#include "session/control_wrap.hpp"
#include "session/data_keys.hpp"
#include "session/events.hpp"
#include "session/key_state.hpp"

namespace wirebridge::session {

using proto::TimeMs;

class Session {
public:
    static Result<std::unique_ptr<Session>> create(SessionConfig cfg, TimeMs now);
    // Server, UDP: the client's reset was answered statelessly with `cookie_sid` as our session
    // id (ServerDispatcher); continue as if our HARD_RESET_SERVER_V2 (message 0) was sent at `now`.
    static Result<std::unique_ptr<Session>> create_from_cookie(SessionConfig cfg, const proto::SessionId& client_sid,
                                                               const proto::SessionId& cookie_sid, TimeMs now);
    ~Session();

    // Client: begins the handshake. Server: nothing to do (waits for the client's reset).
    void start(TimeMs now);

    struct Input {
        proto::Drop drop = proto::Drop::none;  // why the packet was refused (also counted)
    };
    Input on_packet(std::span<uint8_t> packet, TimeMs now);
    void on_timer(TimeMs now);
    TimeMs next_deadline() const;

    bool pop_output(std::vector<uint8_t>& out);
    bool pop_event(Event& out);

    // Data plane for frames and control-plane payloads; false if no keys yet or on crypto error.
    bool encrypt_frame(proto::ByteSpan payload, std::vector<uint8_t>& out, TimeMs now);
    // The data path reports its traffic (keepalive and reneg-bytes accounting), with the time it
    // was sent or opened (the next ping is due ping seconds after the last send, ours or its).
    void note_data_sent(size_t bytes, TimeMs now);
    void note_data_received(size_t bytes, TimeMs now);
    // A decrypted payload the data path found to be a ping or an OCC message.
    void on_data_payload(proto::ByteSpan payload, TimeMs now);

    // Copy of the data keys of `key_id` (nullopt if that key has none).
    std::optional<DataKeys> export_keys(uint8_t key_id) const;
    std::optional<uint8_t> primary_key_id() const;

    // New local keepalive (SIGHUP): applies from now on; a client keeps what the server pushed,
    // as it does at connect time.
    void set_keepalive(uint32_t ping_s, uint32_t ping_restart_s);

    // Server: called once, when the client has authenticated (TLS and key-method 2 done), before
    // its keys are made: sets its DATA_V2 peer-id and what is pushed to it (the pool address).
    // Returning false refuses the client (peer_gone, SessionError::refused, with `why`). Without
    // it the peer-id and push of the SessionConfig are used as they are. So a hub holds no
    // peer-id or address for a peer that never authenticates.
    // The request carries the client's key-method 2 username/password and peer-info; a refusal
    // for its credentials (auth_failed) tells the client "AUTH_FAILED[,client_reason]" and ends
    // the session once that is acked (at most ~2 s), as an OpenVPN server does.
    // A check that goes on outside the call (auth-user-pass-verify run asynchronously, or deferred
    // by its program) returns false with `pending` set: the key then waits in "auth pending" (no
    // data keys, PUSH_REQUESTs not answered, as OpenVPN's PUSH_MSG_REQUEST_DEFERRED) until the owner
    // calls resume_admission(), which calls the hook again for the verdict. A key still pending
    // after min(hand_window, reneg_seconds / 2) from its start (OpenVPN's auth_deferred_expire) is
    // refused with AUTH_FAILED.
    struct AdmitRequest {
        const std::string& username;
        const std::string& password;
        const std::string& peer_info;
        uint32_t& peer_id;
        proto::PushOptions& push;
        std::string why;             // for the hub's log
        bool auth_failed = false;
        std::string client_reason;   // sent after "AUTH_FAILED,"
        bool pending = false;        // the verdict comes later: call resume_admission() then
    };
    using Admit = std::function<bool(AdmitRequest& request)>;
    void set_admit(Admit admit) { admit_ = std::move(admit); }
    // Server: checks the credentials a client sends again at each renegotiation, as OpenVPN runs
    // auth-user-pass-verify again (peer_id and push of the request are not used). A refusal
    // (auth_failed) ends the session with AUTH_FAILED, as the first one does.
    void set_reverify(Admit reverify) { reverify_ = std::move(reverify); }
    // Server: the client has authenticated and was admitted (has its peer-id).
    bool admitted() const { return admitted_; }
    // Server: a key waits for the verdict of its admit/reverify hook (AdmitRequest::pending).
    bool auth_pending() const;
    // Server: the verdict a pending hook waited for is known: the hook is called again for it.
    void resume_admission(TimeMs now);

    // Client: the socket's count of ICMP port-unreachable reports (all of this run). A refusal
    // since the last authentic packet, with nothing authentic heard for the grace (twice the ping
    // interval + 1 s), ends the session sooner than ping-restart (SessionConfig::refused_restart_after).
    // One refusal is enough: an idle client pings only every ping seconds, and a server restarted
    // after its crash drops an unknown peer's packets silently, so often only one of its pings
    // meets the down time. The grace, not the count, keeps forged ICMP from ending a session whose
    // server speaks (a forger sends two as easily as one). The runner calls this as soon as a
    // refusal is counted (a worker wakes it).
    void note_refusals(uint64_t total);
    // A control-channel text message on the current key (tools and tests that play a peer).
    void send_control_message(std::string_view text, TimeMs now);
    // The TLS context of the key negotiations from now on (the keys in use keep theirs); its role
    // must match. For tools and tests that play a peer: e.g. a client that presents another
    // certificate at its renegotiation, which the server refuses (check_peer_certificate). The
    // runners never change it in a session (a reload with new TLS files reconnects).
    void set_tls_context(std::shared_ptr<const crypto::TlsContext> tls) { cfg_.tls = std::move(tls); }

    // Starts a renegotiation now (also triggered by the timers).
    void renegotiate(TimeMs now);
    // Explicit exit notify: a server sends RESTART, a client EXIT (cc-exit agreed) on the control
    // channel, else OCC_EXIT data packets; peer_gone(local_exit) follows once the notification is
    // acked or out (at most ~2 s: keep calling on_timer and draining outputs until then).
    void close(TimeMs now);

    Role role() const { return cfg_.role; }
    const proto::SessionId& own_session_id() const { return own_sid_; }
    const proto::SessionId& peer_session_id() const { return peer_sid_; }
    const SessionCounters& counters() const { return counters_; }
    bool established() const { return tunnel_up_; }
    bool gone() const { return gone_; }
    uint32_t peer_id() const { return peer_id_; }
    const std::string& cipher_name() const { return cipher_name_; }
    // The TCP MSS limit of the primary key (--mssfix; 0: not clamping or no key yet).
    uint16_t mss_limit() const { return current_ && current_->keys ? current_->keys->mss_limit : 0; }
    proto::CompressionFraming compression() const { return compression_; }
    // The peer certificate's subject CN, known once the first TLS handshake is done ("" before).
    const std::string& peer_common_name() const { return peer_cn_; }
    // When the keys in use for sending were negotiated (kNever before the first).
    TimeMs key_established() const;
    // When the last authentic packet (control or data) came from the peer (0: never).
    TimeMs last_received() const { return last_received_; }
    const proto::PushOptions& pushed() const { return pushed_; }
    // The client's tunnel address: the one pushed to us (client) or the one we hand out (server).
    const std::optional<std::string>& virtual_address() const {
        return cfg_.role == Role::server ? cfg_.push.ifconfig_local : pushed_.ifconfig_local;
    }

private:
    Session(SessionConfig cfg, ControlWrap wrap);

    // control.cpp
    proto::Drop on_control(proto::ByteSpan plain, TimeMs now);
    KeyState* key_for_control(const proto::ControlPacket& p, TimeMs now, proto::Drop& why);
    void deliver(KeyState& ks, proto::ReliableMessage& m, TimeMs now);
    void advance_tls(KeyState& ks, TimeMs now);
    void collect_ciphertext(KeyState& ks);
    // False (the key fails, counted, a notice) if a renegotiation shows another certificate.
    bool check_peer_certificate(KeyState& ks);
    void handle_plaintext(KeyState& ks, TimeMs now);
    void handle_text(KeyState& ks, std::string_view text, TimeMs now);
    void send_key_method2(KeyState& ks);
    void key_exchange_done(KeyState& ks, TimeMs now);
    // Server: the admit/reverify hooks for ks, then its keys (or it waits: ks.auth_pending).
    void authorize_key(KeyState& ks, TimeMs now);
    // The end of the auth-pending window of a key (OpenVPN's auth_deferred_expire).
    TimeMs auth_expire(const KeyState& ks) const;
    void flush(TimeMs now);
    void flush_key(KeyState& ks, TimeMs now);
    void emit_control(KeyState& ks, proto::Opcode op, uint32_t msg_id, proto::ByteSpan payload);
    void send_text(KeyState& ks, std::string_view text, TimeMs now);
    void refuse_auth(KeyState& ks, const AdmitRequest& req, TimeMs now);  // AUTH_FAILED, then end
    std::unique_ptr<KeyState> new_key_state(uint8_t key_id, TimeMs now);

    // keys.cpp
    bool derive_keys(KeyState& ks);
    void promote(KeyState& ks, TimeMs now);
    void apply_push_reply(KeyState& ks, TimeMs now);
    void send_push_reply(KeyState& ks, TimeMs now);
    bool server_negotiate(KeyState& ks);
    bool send_data_payload(proto::ByteSpan payload, TimeMs now);
    void check_timers(TimeMs now);
    void check_reneg_bytes(TimeMs now);
    void fail_session(SessionError e, std::string message);
    void event(EventType t, uint8_t key_id = 0, SessionError e = SessionError::none, std::string msg = {});
    KeyState* find_key(uint8_t key_id) const;

    SessionConfig cfg_;
    ControlWrap wrap_;
    proto::SessionId own_sid_;
    proto::SessionId peer_sid_;
    bool peer_sid_known_ = false;

    std::unique_ptr<KeyState> current_;  // sending keys (or the first negotiation)
    std::unique_ptr<KeyState> next_;     // renegotiation under way
    std::unique_ptr<KeyState> lame_;     // previous keys, receive-only until they expire
    uint8_t last_key_id_ = 0;

    // Negotiated once (key_id 0), reused by renegotiations.
    std::optional<crypto::AeadCipher> cipher_;
    std::optional<crypto::CbcSuite> cbc_;  // a CBC cipher negotiated instead (cipher_ unset)
    // Takes a negotiated cipher name: AEAD, or CBC with cfg_.auth; false if it is neither.
    bool set_cipher(std::string_view name);
    std::string cipher_name_;
    std::string peer_cn_;
    std::optional<crypto::Fingerprint> peer_cert_;  // of the first handshake: a renegotiation must show it again
    bool ekm_ = false;
    bool cc_exit_ = false;
    bool data_v2_ = true;
    proto::CompressionFraming compression_ = proto::CompressionFraming::none;  // configured, or pushed
    uint32_t peer_id_ = proto::kUndefinedPeerId;
    uint32_t peer_iv_proto_ = 0;
    proto::PushOptions pushed_;
    proto::PushReplyAssembler push_assembler_;
    bool push_reply_done_ = false;
    bool push_reply_sent_ = false;
    TimeMs next_push_request_ = proto::kNever;

    PeriodBucket push_gate_;        // server: PUSH_REQUESTs answered after the first reply
    PeriodBucket soft_reset_gate_;  // server: renegotiations the client starts
    static constexpr uint64_t kRefusalsUnknown = ~uint64_t{0};
    uint64_t refusals_seen_ = 0;    // client: note_refusals() total at the last authentic packet
    uint64_t refusals_total_ = kRefusalsUnknown;
    TimeMs refusal_mark_ = 0;       // last_received_ when refusals_seen_ was taken
    // The refusal rule's grace: nothing authentic heard for this long (0: the rule is off).
    TimeMs refused_grace_ms() const;
    // refused_restart_after refusals (one by default) since the last authentic packet; and nothing
    // heard for the grace, too.
    bool refusal_run() const;
    bool refusal_run_over(TimeMs now) const;

    Admit admit_;
    Admit reverify_;
    bool admitted_ = false;
    bool tunnel_up_ = false;
    bool gone_ = false;
    bool closing_ = false;
    bool exit_on_ack_ = false;  // closing with EXIT/RESTART on the control channel
    uint32_t exit_notifications_left_ = 0;
    SessionError close_error_ = SessionError::local_exit;  // what peer_gone says once closing ends
    std::string close_message_ = "closed";
    TimeMs next_exit_notify_ = proto::kNever;
    TimeMs last_data_sent_ = 0;
    TimeMs last_received_ = 0;
    uint32_t ping_s_ = 0;
    uint32_t ping_restart_s_ = 0;

    std::deque<std::vector<uint8_t>> out_;
    std::deque<Event> events_;
    SessionCounters counters_;
    std::vector<uint8_t> scratch_;
    std::vector<uint8_t> unwrapped_;
};

}  // namespace wirebridge::session
