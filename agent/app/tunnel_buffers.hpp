// The tunnel socket's buffers: tunnel.rcvbuf / tunnel.sndbuf asked, what the kernel gave, said once
// per socket opened (docs/CONFIG.md).
#pragma once

#include <string>

#include "config/config.hpp"
#include "io/socket_buffers.hpp"
#include "io/udp_socket.hpp"

namespace wirebridge::app {

// What the config asks for (0: that one left to the kernel).
io::SocketBuffers tunnel_buffers(const config::TunnelConfig& t);

// The lines for a socket `what` ("UDP socket", ...) whose kernel sizes are `got` after `asked`:
// info always; warning (empty when all was granted) when a buffer is less than twice its asked
// size, the kernel's cap without CAP_NET_ADMIN (net.core.rmem_max / wmem_max).
struct BufferReport {
    std::string info;
    std::string warning;
};
BufferReport describe_buffers(const std::string& what, io::SocketBuffers asked, io::SocketBuffers got);

// Sets the config's sizes on a UDP socket and logs what it got. A socket the kernel refuses them
// for runs on with what it has (logged as a warning): buffers are tuning, not the tunnel.
void apply_udp_buffers(io::UdpSocket& socket, const config::TunnelConfig& t, const std::string& what);
// A TCP socket that took them when it was made (TcpStream::connect, TcpListener::open): logs what
// it got, when the config asks for anything (else the kernel's autotuning runs, unsaid).
void log_tcp_buffers(int fd, const config::TunnelConfig& t, const std::string& what);

}  // namespace wirebridge::app
