// TcpLink: one OpenVPN-over-TCP connection: the 2-byte length framing both ways, whole packets read in batches.
//
//   +--------+--------+--------------------------- ... ---+
//   | len hi | len lo | packet (len bytes: an OpenVPN packet, opcode first)
//   +--------+--------+--------------------------- ... ---+
//   The length is big-endian and does not count itself; 0 and more than kMaxPacket are refused
//   (the stream cannot be resynchronised: the owner closes it).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/result.hpp"
#include "io/tcp_socket.hpp"
#include "io/udp_socket.hpp"

namespace wirebridge::io {

class TcpLink {
public:
    // Above this many unsent bytes the owner stops reading its TAP until the socket drains.
    static constexpr std::size_t kHighWater = 512 * 1024;
    // The longest packet taken from the stream (a data path packet buffer, as over UDP).
    static constexpr std::size_t kMaxPacket = 2048;

    explicit TcpLink(io::TcpStream stream, bool connected);

    int fd() const { return stream_.fd(); }
    const io::SocketAddress& peer() const { return stream_.peer(); }
    bool connected() const { return connected_; }
    Result<void> finish_connect();

    // Frames and queues one packet; false if the queue is over its hard limit (packet dropped).
    bool queue(std::span<const std::uint8_t> packet);
    // Queues every packet of `batch` (filled with next_buffer()/push(), as for UdpSocket::send),
    // clears it and writes what the socket takes now; returns how many were dropped (the queue
    // over its hard limit).
    Result<std::size_t> send(DatagramBatch& batch);
    // Writes what the socket takes now.
    Result<void> flush();
    std::size_t pending() const { return out_.size() - out_off_; }

    // Reads the stream and fills `batch` with whole packets, as UdpSocket::receive fills it with
    // datagrams (batch.peer(i) is the link's peer): returns how many, 0 when no whole packet is
    // there yet or the stream ended (ended()). A packet longer than the batch's buffers, or than
    // kMaxPacket, or of length 0, is an error (EPROTO), and so is an end inside a packet: either
    // after the whole packets before it were returned. Whole packets left over when the batch is full
    // stay here (holds_input()) for the next call.
    Result<std::size_t> receive(DatagramBatch& batch);
    // Whole packets (or the stream's end) already taken from the socket: the loop's probe, since
    // the fd does not show them.
    bool holds_input() const;
    // The peer closed the stream (everything before its end was returned).
    bool ended() const { return eof_ && start_ == end_; }

private:
    enum class Cut : std::uint8_t { packet, need_more, bad };
    // The next whole packet of in_[start_, end_), or why not (bad: refused length, see why_bad_).
    Cut cut(std::span<std::uint8_t>& packet, std::size_t limit);
    // One read into the space after end_ (what is buffered moved to the front first).
    Result<IoCount> fill();
    Unexpected refuse(std::size_t limit) const;

    io::TcpStream stream_;
    bool connected_;
    std::vector<std::uint8_t> out_;
    std::size_t out_off_ = 0;
    // Bytes read, not yet cut: [start_, end_). Sized once; the partial packet at its end is moved
    // to the front before the next read (at most kMaxPacket + 1 bytes).
    std::vector<std::uint8_t> in_;
    std::size_t start_ = 0;
    std::size_t end_ = 0;
    bool eof_ = false;
    std::size_t bad_length_ = 0;
};

}  // namespace wirebridge::io
