// ServerRunner: `wirebridge run` in the server role: one socket (UDP) or listener (TCP), one session
// per client (ServerDispatcher), one TAP for all of them behind the virtual switch.
//
// The data path always runs on datapath::HubWorker (datapath/hub_worker.hpp). UDP: with
// `tunnel.workers: N` (N > 1) N worker threads, each with a TAP queue and a SO_REUSEPORT socket of
// its own, this thread sending its control output through a dup of worker 0's socket; with 1, the
// worker on this thread's loop. TCP: one worker on this loop; this thread accepts the connections
// (caps, accept back-off, handshake timeout) and hands each one to it (add_link); the worker reads,
// writes and closes them and says when one ended; this thread's packets go out through it
// (queue_packet). Either way this thread keeps the sessions, publishes each client's keys
// (HubDirectory), answers the workers' mail (control packets, pings, data of a key they did not
// have yet), sums their counters (keepalive, reneg-bytes, status). The switch is shared under
// switch_mutex_ (workers: once per batch).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "app/drop_log.hpp"
#include "datapath/hub_peers.hpp"
#include "datapath/hub_worker.hpp"
#include "io/tcp_link.hpp"
#include "config/config.hpp"
#include "control/status.hpp"
#include "datapath/data_channel.hpp"
#include "datapath/l2_switch.hpp"
#include "datapath/pump_common.hpp"
#include "io/event_loop.hpp"
#include "io/tap_device.hpp"
#include "io/tap_writer.hpp"
#include "io/tcp_socket.hpp"
#include "io/udp_socket.hpp"
#include "session/server_dispatcher.hpp"

namespace wirebridge::app {

class ServerRunner {
public:
    // Keeps its own copy of cfg: main may replace its Config on SIGHUP.
    ServerRunner(const config::Config& cfg, std::unique_ptr<session::ServerDispatcher> dispatcher, io::EventLoop loop,
                 io::TapDevice tap);
    ~ServerRunner();
    ServerRunner(const ServerRunner&) = delete;
    ServerRunner& operator=(const ServerRunner&) = delete;
    int run();

    // SIGHUP calls this (if set) instead of logging that reloading is not wired; it typically
    // loads the file and calls reload().
    void set_reload_handler(std::function<void()> handler) { reload_handler_ = std::move(handler); }
    // Takes `next` without dropping anyone: switch settings (client_to_client, ageing, bounds,
    // multicast limit, VLANs) apply at once; TLS files, ciphers, keepalive and reneg apply to
    // clients that connect from now on; log level at once. A change of what the process set up
    // (proto, local, pool, device, bridge, tunnel.workers, ...) is refused: the running configuration stays.
    // Logs and returns a one-line summary of what changed (or the refusal as the error).
    Result<std::string> reload(const config::Config& next);

    // The verdict of an auth_user_pass_verify check (app/user_pass_checks.hpp): the client's
    // session goes on, admitted or told AUTH_FAILED.
    void user_pass_verdict(std::uint64_t ticket, session::UserPassVerdict verdict);

    // For the control socket: the loop to serve it on, and a snapshot of the tunnel.
    io::EventLoop& loop() { return loop_; }
    control::Status status() const;

private:
    struct Peer {
        datapath::DataChannel dc;
        session::PeerAddress addr;
        proto::TimeMs up_since = 0;  // tunnel_up
        std::string name;            // certificate CN, kept for the log line when it is gone
        // Pings and OCC messages the data channel opened: status shows payload frames only, as the
        // client counts what it sends (its session sends those itself, outside its data channel).
        std::uint64_t keepalive_in = 0, keepalive_bytes_in = 0;
        // Workers: what they see of this client, and how much of their traffic the session was told.
        std::shared_ptr<datapath::HubPeer> hub;
        datapath::WorkerTraffic told;
    };

    // TCP: accepted here (caps, back-off, handshake timeout); pumped by the one worker (add_link).
    void on_accept();
    // The worker closed a link (its end, a failure, or close_link()): logged, taken off the caps' counts.
    void tcp_link_ended(const io::SocketAddress& peer, const std::string& why);
    // EMFILE and the like: the listener stays readable; stop watching it for a second.
    void pause_accepting(const std::string& why);
    // Closes connections without an authenticated session after limits.tcp_handshake_timeout.
    void expire_tcp(proto::TimeMs now);
    void on_packet(const session::PeerAddress& from, std::span<std::uint8_t> pkt);
    // `frame` lies in a buffer of ours with `headroom` writable bytes before it (the switch tags in place).
    void deliver(datapath::Port in, std::span<std::uint8_t> frame, std::size_t headroom);
    // A write the TAP refused (e.g. EIO while it is down): a tap_write drop, on `in` if a client.
    void tap_write_failed(datapath::Port in, const Error& e);
    void ensure_port(std::uint32_t peer_id);
    void send_to_peer(std::uint32_t peer_id, Peer& p, std::span<const std::uint8_t> frame);
    void send_packet(const session::PeerAddress& to, std::span<const std::uint8_t> pkt);
    void flush();
    void pump();
    void arm_timer();
    void on_signal();
    // The UDP data path: datapath::HubWorker, one on this loop or (tunnel.workers > 1) one per
    // thread (see datapath/hub_worker.hpp).
    unsigned wanted_workers() const;
    Result<void> open_udp(const io::SocketAddress& local);
    bool start_workers();
    void stop_workers();
    void wake_workers();
    void on_mail();
    void sync_traffic();
    void traffic_tick();
    // Locked only while workers run (they share the switch); no lock at all with one thread.
    std::unique_lock<std::mutex> switch_guard() const {
        return workers_.empty() ? std::unique_lock<std::mutex>(switch_mutex_, std::defer_lock)
                                : std::unique_lock<std::mutex>(switch_mutex_);
    }

    config::Config cfg_;
    std::string tls_stamp_;  // of cfg_'s TLS files, to see them change on reload
    std::function<void()> reload_handler_;
    std::uint64_t reloads_ = 0;
    std::string last_reload_;
    std::unique_ptr<session::ServerDispatcher> d_;
    io::EventLoop loop_;
    io::TapDevice tap_;
    // The rare frames this thread delivers itself (the workers read and write the TAP's queues).
    io::TapWriter tap_writer_{tap_};
    io::Fd sigfd_;
    datapath::L2Switch switch_;
    datapath::TapWriteFailures tap_write_;
    DropLog pre_session_log_{"pre-session drop"};  // packets no session took: why, rate-limited

    io::SoftErrorCounter socket_errors_{0};  // transient UDP socket errors, all sockets (status: socket_error)
    std::optional<io::UdpSocket> udp_;
    std::optional<io::TcpListener> listener_;
    // TCP: the links the worker holds, as this thread counts them (caps) and times them (handshake).
    struct AcceptedLink {
        io::SocketAddress addr;
        proto::TimeMs accepted_ms = 0;
    };
    std::map<session::PeerAddress, AcceptedLink> tcp_links_;
    std::vector<session::PeerAddress> tcp_to_close_;  // their session ended: closed after the next flush
    io::TimerId accept_pause_ = 0;
    std::uint64_t moves_logged_ = 0;  // switch_.mac_moves() when last logged
    std::uint64_t tcp_refused_ = 0, tcp_accept_errors_ = 0, tcp_timeouts_ = 0;  // status: tcp_* drops

    std::unordered_map<std::uint32_t, std::unique_ptr<Peer>> peers_;  // by peer-id
    io::TimerId timer_ = 0;
    proto::TimeMs armed_for_ = proto::kNever;
    bool stopping_ = false;
    int exit_code_ = 0;

    static constexpr std::size_t kMailboxCapacity = 1024;  // workers' mails held at most (one per client handshake or ping at a time: room for many clients)
    std::vector<std::uint8_t> buf_;

    // Workers (TCP: one, on this loop, holding the links). Declared last: destroyed (joined) before what they use.
    unsigned workers_wanted_ = 1;  // fixed at start; a reload cannot change it
    mutable std::mutex switch_mutex_;
    std::vector<io::UdpSocket> group_;  // the SO_REUSEPORT sockets, until their workers take them
    std::unique_ptr<datapath::HubDirectory> directory_;
    std::unique_ptr<datapath::WorkerMailbox> mailbox_;
    io::TimerId traffic_timer_ = 0;
    std::vector<datapath::HubWorkerCounts> past_counts_;
    std::vector<std::unique_ptr<datapath::HubWorker>> workers_;
};

}  // namespace wirebridge::app
