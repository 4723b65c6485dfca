// ClientRunner: `wirebridge run` in the client role: connects to the remotes in order (with backoff),
// runs one Session, applies the pushed ifconfig, and pumps frames between the TAP and the server.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "app/drop_log.hpp"
#include "datapath/data_worker.hpp"
#include "datapath/data_worker_keys.hpp"
#include "datapath/pump_common.hpp"
#include "io/tcp_link.hpp"
#include "config/config.hpp"
#include "control/status.hpp"
#include "datapath/data_channel.hpp"
#include "io/event_loop.hpp"
#include "io/tap_device.hpp"
#include "io/tap_reader.hpp"
#include "io/tap_writer.hpp"
#include "io/udp_socket.hpp"
#include "session/session.hpp"

namespace wirebridge::app {

class ClientRunner {
public:
    // Keeps its own copy of cfg: main may replace its Config on SIGHUP.
    ClientRunner(const config::Config& cfg, session::SessionConfig scfg, io::EventLoop loop, io::TapDevice tap);
    // Runs until SIGTERM/SIGINT; returns the exit status.
    int run();

    // SIGHUP calls this (if set) instead of logging that reloading is not wired; it typically
    // loads the file and calls reload().
    void set_reload_handler(std::function<void()> handler) { reload_handler_ = std::move(handler); }
    // Runs before each connection attempt (the uplink's route put back if it went; main.cpp).
    void set_before_connect(std::function<void()> hook) { before_connect_ = std::move(hook); }
    // Takes `next`: log level and keepalive apply at once (a keepalive the server pushed still
    // wins, as at connect); a change of remote, proto, local, TLS files or ciphers closes the
    // session (exit notify) and connects again with them; reneg applies from the next connection.
    // A change of what the process set up (device, bridge, ...) is refused: the running
    // configuration stays. Logs and returns a one-line summary (or the refusal as the error).
    Result<std::string> reload(const config::Config& next);

    // For the control socket: the loop to serve it on, and a snapshot of the tunnel.
    io::EventLoop& loop() { return loop_; }
    control::Status status() const;

private:
    void connect_next();
    void schedule_reconnect(const std::string& why);
    void teardown();
    void on_connected(std::uint32_t events);
    void on_packet(std::span<std::uint8_t> pkt);
    void on_tap();
    void send_packet(std::span<const std::uint8_t> pkt);
    void pump_session();
    void handle_event(session::Event& ev);
    void arm_timer();
    void on_signal();
    // Registers the TAP (queue 0) with the loop, with the reader's pending() as its probe.
    Result<void> watch_tap(std::uint32_t events);
    void reconnect_now();
    // The data path: datapath::DataWorker, one on this loop or (UDP, tunnel.workers > 1) one per
    // thread. False if not even one could start.
    unsigned wanted_workers() const;
    bool start_workers();
    bool launch_workers(unsigned n);
    void retire_workers();
    void stop_workers();
    void wake_workers();
    void on_mail();
    void sync_traffic();
    void traffic_tick();
    datapath::WorkerTraffic worker_traffic() const;

    config::Config cfg_;
    std::string tls_stamp_;  // of cfg_'s TLS files, to see them change on reload
    std::function<void()> reload_handler_;
    std::function<void()> before_connect_;
    std::uint64_t reloads_ = 0;
    std::string last_reload_;
    bool reconnect_pending_ = false;  // a reload asked for a new connection: the old one is closing
    proto::TimeMs up_since_ = 0;
    session::SessionConfig scfg_;
    io::EventLoop loop_;
    io::TapDevice tap_;
    // Offloading TAP: whole TCP windows in (TSO, cut here), runs of segments out (GRO, merged here).
    io::TapReader tap_reader_{tap_};
    io::TapWriter tap_writer_{tap_};
    io::Fd sigfd_;

    std::unique_ptr<session::Session> session_;
    datapath::DataChannel dc_;
    std::optional<io::UdpSocket> udp_;
    io::SoftErrorCounter socket_errors_{0};  // of every UDP socket of this run (see status())
    io::SoftErrorCounter refusals_{0};       // of those, ICMP port unreachable (Session::note_refusals)
    std::optional<io::TcpLink> connecting_;  // TCP until connected; then the worker's
    io::SocketAddress peer_;
    int sock_fd_ = -1;

    std::size_t next_remote_ = 0;
    unsigned failures_ = 0;
    // Pushed options wirebridge does not apply, each named in the log once per process.
    std::set<std::string> ignored_named_;
    io::TimerId session_timer_ = 0;
    proto::TimeMs armed_for_ = proto::kNever;
    io::TimerId reconnect_timer_ = 0;
    io::TimerId stop_timer_ = 0;
    bool stopping_ = false;
    int exit_code_ = 0;

    // Keys as the workers see them (published on every key event, workers or not), their mail to
    // this thread, and what the session was last told of their traffic.
    datapath::WorkerKeys worker_keys_;
    std::unique_ptr<datapath::WorkerMailbox> mailbox_;
    std::vector<std::unique_ptr<datapath::DataWorker>> workers_;
    datapath::WorkerTraffic past_traffic_;  // of workers stopped since
    datapath::WorkerTraffic told_session_;
    datapath::TapWriteFailures tap_write_;  // frames the TAP refused on this thread
    DropLog control_drop_log_{"control packet dropped"};  // a server with another tls-auth/tls-crypt key
    std::uint64_t past_tap_write_ = 0;      // ... and on workers stopped since
    std::uint64_t past_tcp_link_full_ = 0;  // TCP: packets dropped by the streams of workers stopped since
    io::TimerId traffic_timer_ = 0;
    std::uint64_t keepalive_in_ = 0, keepalive_bytes_in_ = 0;  // pings/OCC opened: not traffic

    std::vector<std::uint8_t> frame_buf_;
    std::vector<std::uint8_t> out_scratch_;
    static constexpr std::size_t kBatchSize = 32;
    static constexpr std::size_t kMailboxCapacity = 256;  // workers' mails held at most (one server: a handshake and pings)
};

}  // namespace wirebridge::app
