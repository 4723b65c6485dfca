// TcpLink: one OpenVPN-over-TCP connection: 2-byte length framing in (proto's framer) and out.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "common/result.hpp"
#include "io/tcp_socket.hpp"
#include "proto/stream_framer.hpp"

namespace wirebridge::io {

class TcpLink {
public:
    // Above this many unsent bytes the owner stops reading its TAP until the socket drains.
    static constexpr std::size_t kHighWater = 512 * 1024;

    explicit TcpLink(io::TcpStream stream, bool connected);

    int fd() const { return stream_.fd(); }
    const io::SocketAddress& peer() const { return stream_.peer(); }
    bool connected() const { return connected_; }
    Result<void> finish_connect();

    // Frames and queues one packet; false if the queue is over its hard limit (packet dropped).
    bool queue(std::span<const std::uint8_t> packet);
    // Writes what the socket takes now.
    Result<void> flush();
    std::size_t pending() const { return out_.size() - out_off_; }

    // Reads what is available and hands every whole packet to `on_packet`. Returns false on EOF.
    Result<bool> read(const std::function<void(std::span<std::uint8_t>)>& on_packet);

    // The owner's bookkeeping (server): when it was accepted (handshake timeout), and whether its
    // fd is watched for EPOLLOUT now (epoll_ctl only when that changes).
    std::int64_t accepted_ms = 0;
    bool watching_out = false;

private:
    io::TcpStream stream_;
    bool connected_;
    proto::StreamFramer framer_{2048};
    std::vector<std::uint8_t> out_;
    std::size_t out_off_ = 0;
    std::vector<std::uint8_t> in_;
};

}  // namespace wirebridge::io
