// UdpSocket: SO_REUSEPORT, recvmmsg/sendmmsg over a preallocated DatagramBatch.
#include "io/udp_socket.hpp"

#include <netinet/in.h>

#include <cerrno>
#include <cstring>

namespace wirebridge::io {

DatagramBatch::DatagramBatch(std::size_t count, std::size_t buffer_size)
    : buffer_size_(buffer_size), storage_(count * buffer_size), iovs_(count), peers_(count), msgs_(count) {
    for (std::size_t i = 0; i < count; ++i) {
        iovs_[i] = iovec{slot(i), buffer_size_};
        msgs_[i] = mmsghdr{};
        msgs_[i].msg_hdr.msg_iov = &iovs_[i];
        msgs_[i].msg_hdr.msg_iovlen = 1;
        msgs_[i].msg_hdr.msg_name = &peers_[i].storage;
    }
}

void DatagramBatch::prepare_receive() {
    for (std::size_t i = 0; i < msgs_.size(); ++i) {
        iovs_[i].iov_len = buffer_size_;
        msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        msgs_[i].msg_hdr.msg_flags = 0;
        msgs_[i].msg_len = 0;
    }
}

void DatagramBatch::push(std::size_t length, const SocketAddress& to) {
    const std::size_t i = filled_++;
    iovs_[i].iov_len = length;
    peers_[i] = to;
    msgs_[i].msg_hdr.msg_namelen = to.length;
    msgs_[i].msg_len = 0;
}

Result<UdpSocket> UdpSocket::open(const SocketAddress& local, bool reuse_port) {
    UdpSocket s;
    s.family_ = local.family();
    s.fd_ = Fd(socket(local.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!s.fd_.valid()) return fail_errno("UDP socket");
    const int one = 1;
    if (reuse_port && setsockopt(s.fd(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        return fail_errno("SO_REUSEPORT");
    // Bulk transfers through the tunnel overflow the default buffers first.
    const int buf = 4 << 20;
    setsockopt(s.fd(), SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    setsockopt(s.fd(), SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    if (bind(s.fd(), local.get(), local.length) != 0) return fail_errno("bind UDP " + local.to_string());
    return s;
}

Result<SocketAddress> UdpSocket::local_address() const {
    SocketAddress a;
    a.length = sizeof a.storage;
    if (getsockname(fd(), a.get(), &a.length) != 0) return fail_errno("getsockname");
    return a;
}

Result<std::size_t> UdpSocket::receive(DatagramBatch& batch) {
    batch.prepare_receive();
    batch.filled_ = 0;
    const int n = recvmmsg(fd(), batch.msgs_.data(), static_cast<unsigned>(batch.capacity()), MSG_DONTWAIT, nullptr);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return std::size_t{0};
        // ICMP errors (port unreachable from a peer that went away) surface here; not fatal.
        if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH) return std::size_t{0};
        return fail_errno("recvmmsg");
    }
    for (int i = 0; i < n; ++i) batch.peers_[i].length = batch.msgs_[i].msg_hdr.msg_namelen;
    batch.filled_ = static_cast<std::size_t>(n);
    return batch.filled_;
}

Result<std::size_t> UdpSocket::send(DatagramBatch& batch) {
    std::size_t done = 0;
    while (done < batch.filled_) {
        const int n = sendmmsg(fd(), batch.msgs_.data() + done, static_cast<unsigned>(batch.filled_ - done), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            // A datagram that cannot go (unreachable peer) is dropped like on a lossy link.
            if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH || errno == EMSGSIZE) {
                ++done;
                continue;
            }
            return fail_errno("sendmmsg");
        }
        done += static_cast<std::size_t>(n);
    }
    const std::size_t left = batch.filled_ - done;
    if (left == 0) {
        batch.filled_ = 0;
    } else if (done > 0) {
        // Keep the unsent tail at the front for the next try.
        for (std::size_t i = 0; i < left; ++i) {
            std::memmove(batch.slot(i), batch.slot(done + i), batch.iovs_[done + i].iov_len);
            batch.iovs_[i].iov_len = batch.iovs_[done + i].iov_len;
            batch.peers_[i] = batch.peers_[done + i];
            batch.msgs_[i].msg_hdr.msg_namelen = batch.msgs_[done + i].msg_hdr.msg_namelen;
        }
        batch.filled_ = left;
    }
    return left;
}

Result<IoCount> UdpSocket::send_to(std::span<const std::uint8_t> data, const SocketAddress& to) {
    const ssize_t n = sendto(fd(), data.data(), data.size(), MSG_DONTWAIT, to.get(), to.length);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return IoCount{0, true};
        if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH) return IoCount{0, false};
        return fail_errno("sendto " + to.to_string());
    }
    return IoCount{static_cast<std::size_t>(n), false};
}

}  // namespace wirebridge::io
