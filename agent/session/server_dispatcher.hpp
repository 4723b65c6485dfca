// ServerDispatcher: the server side of many clients on one UDP socket (or one TCP connection each):
// stateless 2.6 HMAC-cookie reply to client resets, one Session per client keyed by source address,
// peer-id and ifconfig-pool assignment once a client has authenticated, within admission limits.
//
// Driving it (sans-IO, like Session):
//   auto d = ServerDispatcher::create(cfg, now);
//   on each control datagram (data: the data path's DataChannel; peer_id_of() for DATA_V1):
//                      auto in = d->on_datagram(from, bytes, now);
//   when now >= d->next_deadline():  d->on_timer(now);
//   then:  while (d->pop_output(o)) sendto(o.to, o.bytes);
//          while (d->pop_event(e)) handle(e.peer_id, e.event);        // keys_ready: d->find(peer_id)->export_keys(...)
// A session whose peer_gone event was popped is removed at the next on_timer(); its peer-id and
// pool address are then free again.
// One session per certificate CN unless duplicate_cn (as OpenVPN's multi_delete_dup): when a
// client's tunnel comes up, older sessions with the same CN (a site that restarted from another
// port, its old process dead) are removed at once, without an exit notification, each reported as
// peer_gone (local_exit, "replaced by ...") before the new one's tunnel_up; their peer-ids and pool
// addresses are free at once.
// A client reset (or cookie echo) of a new session id from an address that has a running session
// does not end that session: the new one is negotiated beside it (one per address) and replaces
// it only once authenticated; until then the old one carries the data.
// Before authentication a client holds only its Session (TLS state): no peer-id, no pool address
// (Session::set_admit assigns them after TLS and key-method 2, as OpenVPN does). Reset replies are
// rate-limited and half-open sessions capped (session/admission.hpp); what was refused is counted
// in refusals().
#pragma once

#include <sys/socket.h>

#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "common/result.hpp"
#include "crypto/session_cookie.hpp"
#include "session/admission.hpp"
#include "session/ifconfig_pool.hpp"
#include "session/session.hpp"

namespace wirebridge::session {

// A peer's transport address (sockaddr_in / sockaddr_in6), comparable and usable as a map key.
struct PeerAddress {
    sockaddr_storage storage{};
    socklen_t len = 0;

    static PeerAddress from(const sockaddr* sa, socklen_t len);
    const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage); }
    bool operator<(const PeerAddress& o) const {
        if (len != o.len) return len < o.len;
        return std::memcmp(&storage, &o.storage, len) < 0;
    }
    bool operator==(const PeerAddress& o) const { return len == o.len && std::memcmp(&storage, &o.storage, len) == 0; }
};

// auth-user-pass-verify: what the hub knows of a client whose certificate was accepted.
struct UserPassCheck {
    const std::string& username;
    const std::string& password;
    const std::string& common_name;
    const PeerAddress& from;
    const std::string& peer_info;
};
struct UserPassVerdict {
    bool ok = false;
    std::string why;            // for the log
    std::string client_reason;  // sent as AUTH_FAILED,REASON
};

struct ServerConfig {
    SessionConfig session;            // template for every client (role server)
    std::optional<Ipv4Pool> pool;     // addresses to push as `ifconfig`
    std::string pool_persist;         // ifconfig-pool-persist file, rewritten when a CN gets an address; "": none
    // auth-user-pass-verify, run outside the dispatcher (the hub's event loop watches the program):
    // start_user_pass_check(ticket, check) is called once per client after its certificate and key
    // exchange, before it takes a peer-id or an address, and again at each renegotiation. It returns
    // at once: a verdict (the check could not even start), or nullopt while the check runs; the
    // client's session then waits "auth pending" (its TLS state only, counted half-open; other
    // clients go on) until on_user_pass_verdict(ticket, ...) brings the verdict, or its
    // auth-pending window ends (Session::AdmitRequest). cancel_user_pass_check(ticket): the client
    // went before its verdict (stop the program, forget the ticket). Unset: no password check.
    std::function<std::optional<UserPassVerdict>(uint64_t ticket, const UserPassCheck&)> start_user_pass_check;
    std::function<void(uint64_t ticket)> cancel_user_pass_check;
    AdmissionLimits limits;           // max_clients, half-open caps, reset reply budgets
    bool duplicate_cn = false;        // true: clients with the same CN may be connected together
};

class ServerDispatcher {
public:
    static Result<std::unique_ptr<ServerDispatcher>> create(ServerConfig cfg, TimeMs now);

    struct Input {
        proto::Drop drop = proto::Drop::none;
        Session* session = nullptr;       // the client's session, if any
        uint32_t peer_id = proto::kUndefinedPeerId;
    };
    Input on_datagram(const PeerAddress& from, std::span<uint8_t> packet, TimeMs now);
    void on_timer(TimeMs now);
    TimeMs next_deadline() const;

    struct Output {
        PeerAddress to;
        std::vector<uint8_t> bytes;
    };
    bool pop_output(Output& out);

    struct PeerEvent {
        uint32_t peer_id = 0;
        PeerAddress from;
        Event event;
    };
    bool pop_event(PeerEvent& out);

    Session* find(uint32_t peer_id) const;
    Session* find(const PeerAddress& from) const;
    // The peer-id of the admitted client at `from` (kUndefinedPeerId: none): how a DATA_V1 packet,
    // which carries no peer-id, finds its client's data channel.
    uint32_t peer_id_of(const PeerAddress& from) const;
    size_t size() const { return by_addr_.size(); }
    const SessionCounters& counters() const { return counters_; }  // drops before a session exists
    // Peers refused by an admission limit, by Refusal.
    const std::array<uint64_t, kRefusalCount>& refusals() const { return refusals_; }
    // Sessions that have not authenticated yet (replacements negotiating beside a session included).
    size_t half_open() const { return by_addr_.size() + pending_.size() - by_peer_id_.size(); }
    // What authenticated clients asked for beyond their budgets (session/peer_limits.hpp), over
    // every session, those gone included; and the sessions negotiated beside a running one.
    struct PeerLimitCounts {
        uint64_t push_requests = 0, soft_resets = 0, cert_changes = 0;
        uint64_t replacements_started = 0, replacements_done = 0;
    };
    PeerLimitCounts peer_limits_hit() const;
    void close_all(TimeMs now);
    // The verdict of the user-pass check started as `ticket`: the client's session goes on (admitted
    // or refused with AUTH_FAILED). A ticket whose client is gone (cancelled) is ignored.
    void on_user_pass_verdict(uint64_t ticket, UserPassVerdict verdict, TimeMs now);
    // User-pass checks running (clients waiting "auth pending").
    size_t user_pass_checks() const { return checks_.size(); }
    // A new template for the sessions of clients that connect from now on (SIGHUP: TLS files,
    // control-channel wrap, ciphers, keepalive, reneg). Sessions already running keep theirs. The
    // role and transport must not change.
    Result<void> set_session_template(SessionConfig session, TimeMs now);
    const SessionConfig& session_template() const { return cfg_.session; }
    // SIGHUP: decides for connections that come up from now on; nobody connected is dropped by it.
    void set_duplicate_cn(bool on) { cfg_.duplicate_cn = on; }
    // The last failure to rewrite the pool persist file ("" when the last write worked).
    const std::string& pool_persist_error() const { return persist_error_; }

private:
    struct Client {
        std::unique_ptr<Session> session;
        PeerAddress from;
        uint32_t peer_id = proto::kUndefinedPeerId;  // assigned at admission (after authentication)
        std::optional<uint32_t> address;
        bool gone_reported = false;
        bool pending = false;  // negotiating beside the running session of its address (pending_)
        uint64_t check = 0;    // the ticket of its user-pass check while that runs (0: none)
        std::optional<UserPassVerdict> verdict;  // the check's verdict, for the hook called again
    };

    explicit ServerDispatcher(ServerConfig cfg, ControlWrap wrap) : cfg_(std::move(cfg)), wrap_(std::move(wrap)) {}
    proto::Drop open_first_control(std::span<const uint8_t> packet, TimeMs now, std::vector<uint8_t>& plain,
                                   proto::ControlPacket& p);
    proto::Drop answer_reset(const PeerAddress& from, const proto::ControlPacket& p, TimeMs now);
    Input accept_cookie(const PeerAddress& from, std::span<uint8_t> packet, const proto::ControlPacket& p, TimeMs now);
    Client* add_client(const PeerAddress& from, std::unique_ptr<Session> s, bool pending = false);
    // A control packet of a new session id from an address that has a running session.
    Input on_new_session(const PeerAddress& from, std::span<uint8_t> packet, TimeMs now);
    bool verify_cookie(const PeerAddress& from, const proto::ControlPacket& p, TimeMs now);
    // The pending session of `from`: dropped if it failed, moved into by_addr_ once admitted.
    void settle(const PeerAddress& from);
    // At the admission of a pending session: the session it replaces goes (peer_gone first).
    void retire_replaced(const Client& fresh);
    void keep_counts(const Client& c);
    // A half-open session may start for `from` (max_half_open, per source prefix); counts a refusal.
    bool room_for_half_open(const PeerAddress& from);
    // The template with the client's outer address family (--mssfix counts its header).
    SessionConfig session_config_for(const PeerAddress& from) const;
    // Session::Admit for c: a peer-id and a pool address, within max_clients.
    bool admit(Client& c, Session::AdmitRequest& req);
    bool reverify(Client& c, Session::AdmitRequest& req);  // auth_user_pass_verify again (renegotiation)
    // c's user-pass verdict for req: the one its check came back with, or the check is started
    // (nullopt, req.pending set, unless the check answered at once).
    std::optional<UserPassVerdict> user_pass_verdict(Client& c, Session::AdmitRequest& req);
    void cancel_check(Client& c);
    void refuse(Refusal r) { ++refusals_[static_cast<size_t>(r)]; }
    void release(Client& c);
    // check_duplicates: a tunnel_up among c's events removes older sessions of c's CN first.
    void drain(Client& c, bool check_duplicates = true);
    void drop_duplicates(const Client& fresh);
    // A peer_gone for a client removed here (its session never said goodbye itself).
    void report_gone(const Client& c, SessionError why, std::string message);

    ServerConfig cfg_;
    ControlWrap wrap_;  // stateless checks of first packets (no replay state)
    crypto::SessionCookie cookie_;
    ResetLimiter reset_limiter_{cfg_.limits};
    std::array<uint64_t, kRefusalCount> refusals_{};
    std::map<PeerAddress, std::unique_ptr<Client>> by_addr_;
    std::map<uint32_t, Client*> by_peer_id_;
    // At most one per address: a client that restarted, negotiating while its old session (same
    // address) still carries the data. Half-open caps count them.
    std::map<PeerAddress, std::unique_ptr<Client>> pending_;
    PeerLimitCounts gone_limits_;
    uint64_t replacements_started_ = 0, replacements_done_ = 0;
    std::deque<Output> out_;
    std::deque<PeerEvent> events_;
    SessionCounters counters_;
    std::vector<uint8_t> scratch_;
    std::string persist_error_;
    std::map<uint64_t, Client*> checks_;  // user-pass checks running, by ticket
    uint64_t next_ticket_ = 0;
};

}  // namespace wirebridge::session
