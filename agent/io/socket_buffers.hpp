// Socket buffer sizes: asked past net.core.rmem_max / wmem_max when the process may, then read back.
#pragma once

#include "common/result.hpp"

namespace wirebridge::io {

// Bytes, as OpenVPN's --rcvbuf / --sndbuf; 0 leaves that buffer as the kernel made it (for TCP:
// its autotuning).
struct SocketBuffers {
    unsigned receive = 0;
    unsigned send = 0;
    bool operator==(const SocketBuffers&) const = default;
};

// Sets the sizes asked (0: that one is left alone) with SO_RCVBUFFORCE / SO_SNDBUFFORCE, which
// pass the system-wide caps (net.core.rmem_max / wmem_max: 212992 on most stock kernels) but
// need CAP_NET_ADMIN; when that is refused (EPERM), with SO_RCVBUF / SO_SNDBUF, which the kernel
// silently caps. Either way it is not an error to get less: socket_buffers() tells what was got.
// A TCP socket takes them before connect() or listen(): the window scale is fixed by the
// handshake, and accepted sockets inherit the listener's sizes.
Result<void> set_socket_buffers(int fd, SocketBuffers asked);

// What the kernel holds for the socket now (SO_RCVBUF / SO_SNDBUF): twice what was asked, as the
// kernel counts its own bookkeeping (struct sk_buff) into the budget too (socket(7)).
Result<SocketBuffers> socket_buffers(int fd);

}  // namespace wirebridge::io
