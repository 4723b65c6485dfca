// Socket buffers: SO_*BUFFORCE first, the capped SO_*BUF when the process lacks CAP_NET_ADMIN.
#include "io/socket_buffers.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <string>

namespace wirebridge::io {

namespace {
Result<void> set_one(int fd, int forced, int capped, unsigned bytes, const char* name) {
    if (bytes == 0) return {};
    if (bytes > INT_MAX / 2)
        return fail(std::string(name) + " " + std::to_string(bytes) + " is too large", EINVAL);
    const int v = static_cast<int>(bytes);
    if (setsockopt(fd, SOL_SOCKET, forced, &v, sizeof v) == 0) return {};
    if (errno != EPERM) return fail_errno(std::string(name) + "FORCE " + std::to_string(bytes));
    // No CAP_NET_ADMIN: the kernel caps this one at net.core.rmem_max / wmem_max, silently.
    if (setsockopt(fd, SOL_SOCKET, capped, &v, sizeof v) != 0)
        return fail_errno(std::string(name) + " " + std::to_string(bytes));
    return {};
}

Result<unsigned> get_one(int fd, int option, const char* name) {
    int v = 0;
    socklen_t len = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, option, &v, &len) != 0) return fail_errno(std::string("getsockopt ") + name);
    return static_cast<unsigned>(v < 0 ? 0 : v);
}
}  // namespace

Result<void> set_socket_buffers(int fd, SocketBuffers asked) {
    if (auto r = set_one(fd, SO_RCVBUFFORCE, SO_RCVBUF, asked.receive, "SO_RCVBUF"); !r) return r;
    return set_one(fd, SO_SNDBUFFORCE, SO_SNDBUF, asked.send, "SO_SNDBUF");
}

Result<SocketBuffers> socket_buffers(int fd) {
    auto rcv = get_one(fd, SO_RCVBUF, "SO_RCVBUF");
    if (!rcv) return fail(rcv.error());
    auto snd = get_one(fd, SO_SNDBUF, "SO_SNDBUF");
    if (!snd) return fail(snd.error());
    return SocketBuffers{*rcv, *snd};
}

}  // namespace wirebridge::io
