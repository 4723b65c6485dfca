// ClientRunner: `wirebridge run` in the client role: connects to the remotes in order (with backoff),
// runs one Session, applies the pushed ifconfig, and pumps frames between the TAP and the server.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "app/tcp_link.hpp"
#include "config/config.hpp"
#include "control/status.hpp"
#include "datapath/data_channel.hpp"
#include "io/event_loop.hpp"
#include "io/tap_device.hpp"
#include "io/udp_socket.hpp"
#include "session/session.hpp"

namespace wirebridge::app {

class ClientRunner {
public:
    ClientRunner(const config::Config& cfg, session::SessionConfig scfg, io::EventLoop loop, io::TapDevice tap);
    // Runs until SIGTERM/SIGINT; returns the exit status.
    int run();

    // For the control socket: the loop to serve it on, and a snapshot of the tunnel.
    io::EventLoop& loop() { return loop_; }
    control::Status status() const;

private:
    void connect_next();
    void schedule_reconnect(const std::string& why);
    void teardown();
    void on_socket(std::uint32_t events);
    void on_packet(std::span<std::uint8_t> pkt);
    void on_tap();
    void send_packet(std::span<const std::uint8_t> pkt);
    void flush_udp();
    void pump_session();
    void handle_event(session::Event& ev);
    void arm_timer();
    void on_signal();
    void update_tap_interest();

    const config::Config& cfg_;
    session::SessionConfig scfg_;
    io::EventLoop loop_;
    io::TapDevice tap_;
    io::Fd sigfd_;

    std::unique_ptr<session::Session> session_;
    datapath::DataChannel dc_;
    std::optional<io::UdpSocket> udp_;
    std::optional<TcpLink> tcp_;
    io::SocketAddress peer_;
    int sock_fd_ = -1;

    std::size_t next_remote_ = 0;
    unsigned failures_ = 0;
    io::TimerId session_timer_ = 0;
    proto::TimeMs armed_for_ = proto::kNever;
    io::TimerId reconnect_timer_ = 0;
    io::TimerId stop_timer_ = 0;
    bool stopping_ = false;
    bool tap_reading_ = true;
    int exit_code_ = 0;

    io::DatagramBatch rx_{kBatchSize, 2048};
    io::DatagramBatch tx_{kBatchSize, 2048};
    std::vector<std::uint8_t> frame_buf_;
    std::vector<std::uint8_t> out_scratch_;
    static constexpr std::size_t kBatchSize = 32;
};

}  // namespace wirebridge::app
