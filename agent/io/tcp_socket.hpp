// TcpStream and TcpListener: non-blocking TCP; OpenVPN's 2-byte length framing is proto's job.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "common/result.hpp"
#include "io/fd.hpp"
#include "io/socket_buffers.hpp"
#include "io/socket_address.hpp"

namespace wirebridge::io {

class TcpStream {
public:
    // Starts a connect; the stream becomes writable when it completes, then call finish_connect().
    // mark: SO_MARK before connecting (0: none), e.g. the uplink's (nl/uplink_route). buffers:
    // set before connecting (set_socket_buffers; zeros leave the kernel's autotuning), as the
    // window scale the SYN offers follows the receive buffer.
    static Result<TcpStream> connect(const SocketAddress& peer, const std::optional<SocketAddress>& local = {},
                                     std::uint32_t mark = 0, SocketBuffers buffers = {});
    // Adopts an accepted socket.
    TcpStream(Fd fd, SocketAddress peer) : fd_(std::move(fd)), peer_(peer) {}

    int fd() const { return fd_.get(); }
    const SocketAddress& peer() const { return peer_; }
    // The connect's outcome (SO_ERROR): ok once connected.
    Result<void> finish_connect();

    Result<IoCount> read(std::span<std::uint8_t> buf);
    Result<IoCount> write(std::span<const std::uint8_t> data);

private:
    Fd fd_;
    SocketAddress peer_;
};

class TcpListener {
public:
    // buffers: set before listen() (zeros leave the kernel's autotuning); every accepted
    // connection inherits them, and the SYN-ACK's window scale follows them.
    static Result<TcpListener> open(const SocketAddress& local, bool reuse_port = false,
                                    SocketBuffers buffers = {});
    int fd() const { return fd_.get(); }
    Result<SocketAddress> local_address() const;
    // The next pending connection, or nothing when none is waiting.
    Result<std::optional<TcpStream>> accept();

private:
    Fd fd_;
};

}  // namespace wirebridge::io
