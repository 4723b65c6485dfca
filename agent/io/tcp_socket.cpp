// TcpStream / TcpListener: non-blocking sockets with TCP_NODELAY (control packets are small).
#include "io/tcp_socket.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>

namespace wirebridge::io {

namespace {
void tune(int fd) {
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}
}  // namespace

Result<TcpStream> TcpStream::connect(const SocketAddress& peer, const std::optional<SocketAddress>& local,
                                     std::uint32_t mark, SocketBuffers buffers) {
    Fd fd(socket(peer.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return fail_errno("TCP socket");
    tune(fd.get());
    // Before connect: the route (and the SYN's) is chosen by it.
    if (mark != 0 && setsockopt(fd.get(), SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0)
        return fail_errno("SO_MARK on the TCP socket");
    if (auto b = set_socket_buffers(fd.get(), buffers); !b)
        return fail("TCP socket buffers: " + b.error().message, b.error().code);
    if (local) {
        const int one = 1;
        setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd.get(), local->get(), local->length) != 0) return fail_errno("bind TCP " + local->to_string());
    }
    if (::connect(fd.get(), peer.get(), peer.length) != 0 && errno != EINPROGRESS)
        return fail_errno("connect to " + peer.to_string());
    return TcpStream(std::move(fd), peer);
}

Result<void> TcpStream::finish_connect() {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) return fail_errno("getsockopt SO_ERROR");
    if (err != 0) return fail_errno("connect to " + peer_.to_string(), err);
    return {};
}

Result<IoCount> TcpStream::read(std::span<std::uint8_t> buf) {
    const ssize_t n = recv(fd(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return IoCount{0, true, false};
        return fail_errno("read from " + peer_.to_string());
    }
    return IoCount{static_cast<std::size_t>(n), false, n == 0 && !buf.empty()};
}

Result<IoCount> TcpStream::write(std::span<const std::uint8_t> data) {
    const ssize_t n = send(fd(), data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return IoCount{0, true, false};
        return fail_errno("write to " + peer_.to_string());
    }
    return IoCount{static_cast<std::size_t>(n), false, false};
}

Result<TcpListener> TcpListener::open(const SocketAddress& local, bool reuse_port, SocketBuffers buffers) {
    TcpListener l;
    l.fd_ = Fd(socket(local.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!l.fd_.valid()) return fail_errno("TCP socket");
    const int one = 1;
    setsockopt(l.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuse_port && setsockopt(l.fd(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        return fail_errno("SO_REUSEPORT");
    if (bind(l.fd(), local.get(), local.length) != 0) return fail_errno("bind TCP " + local.to_string());
    if (auto b = set_socket_buffers(l.fd(), buffers); !b)
        return fail("TCP socket buffers: " + b.error().message, b.error().code);
    if (listen(l.fd(), 128) != 0) return fail_errno("listen on " + local.to_string());
    return l;
}

Result<SocketAddress> TcpListener::local_address() const {
    SocketAddress a;
    a.length = sizeof a.storage;
    if (getsockname(fd(), a.get(), &a.length) != 0) return fail_errno("getsockname");
    return a;
}

Result<std::optional<TcpStream>> TcpListener::accept() {
    SocketAddress peer;
    peer.length = sizeof peer.storage;
    const int fd = accept4(this->fd(), peer.get(), &peer.length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return std::optional<TcpStream>{};
        return fail_errno("accept");
    }
    tune(fd);
    return std::optional<TcpStream>(TcpStream(Fd(fd), peer));
}

}  // namespace wirebridge::io
