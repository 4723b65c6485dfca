// ServerRunner: `wirebridge run` in the server role: one socket (UDP) or listener (TCP), one session
// per client (ServerDispatcher), one TAP for all of them behind the virtual switch.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "app/tcp_link.hpp"
#include "config/config.hpp"
#include "control/status.hpp"
#include "datapath/data_channel.hpp"
#include "datapath/l2_switch.hpp"
#include "io/event_loop.hpp"
#include "io/tap_device.hpp"
#include "io/tcp_socket.hpp"
#include "io/udp_socket.hpp"
#include "session/server_dispatcher.hpp"

namespace wirebridge::app {

class ServerRunner {
public:
    ServerRunner(const config::Config& cfg, std::unique_ptr<session::ServerDispatcher> dispatcher, io::EventLoop loop,
                 io::TapDevice tap);
    int run();

    // For the control socket: the loop to serve it on, and a snapshot of the tunnel.
    io::EventLoop& loop() { return loop_; }
    control::Status status() const;

private:
    struct Peer {
        datapath::DataChannel dc;
        session::PeerAddress addr;
    };

    void on_udp();
    void on_accept();
    void on_tcp(int fd, std::uint32_t events);
    void close_tcp(int fd, const std::string& why);
    void on_packet(const session::PeerAddress& from, std::span<std::uint8_t> pkt);
    void on_tap();
    void deliver(datapath::Port in, std::span<const std::uint8_t> frame);
    void send_to_peer(std::uint32_t peer_id, Peer& p, std::span<const std::uint8_t> frame);
    void send_packet(const session::PeerAddress& to, std::span<const std::uint8_t> pkt);
    void flush();
    void pump();
    void arm_timer();
    void on_signal();

    const config::Config& cfg_;
    std::unique_ptr<session::ServerDispatcher> d_;
    io::EventLoop loop_;
    io::TapDevice tap_;
    io::Fd sigfd_;
    datapath::L2Switch switch_;

    std::optional<io::UdpSocket> udp_;
    std::optional<io::TcpListener> listener_;
    std::unordered_map<int, std::unique_ptr<TcpLink>> tcp_;  // by fd
    std::map<session::PeerAddress, int> tcp_by_addr_;

    std::unordered_map<std::uint32_t, std::unique_ptr<Peer>> peers_;  // by peer-id
    io::TimerId timer_ = 0;
    proto::TimeMs armed_for_ = proto::kNever;
    bool stopping_ = false;
    int exit_code_ = 0;

    static constexpr std::size_t kBatchSize = 32;
    io::DatagramBatch rx_{kBatchSize, 2048};
    io::DatagramBatch tx_{kBatchSize, 2048};
    std::vector<std::uint8_t> buf_;
};

}  // namespace wirebridge::app
