// UdpSocket: SO_REUSEPORT, buffers, recvmmsg/sendmmsg over a preallocated DatagramBatch, UDP GSO for runs.
#include "io/udp_socket.hpp"

#include "io/socket_errors.hpp"

#include <fcntl.h>

#include <netinet/in.h>
#include <netinet/udp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace wirebridge::io {

namespace {
// The kernel's limits for one UDP GSO send (UDP_MAX_SEGMENTS, and the 64 KB IP datagram).
constexpr std::size_t kGsoMaxSegments = 64;
constexpr std::size_t kGsoMaxBytes = 65000;
}  // namespace

DatagramBatch::DatagramBatch(std::size_t count, std::size_t buffer_size)
    : buffer_size_(buffer_size), storage_(count * buffer_size), iovs_(count), peers_(count), msgs_(count),
      gso_msgs_(count), gso_ctl_(count), gso_first_(count + 1) {
    if (buffer_size >= kGroBufferSize) {
        // A coalesced message holds at most 64 datagrams (UDP_MAX_SEGMENTS, as for sending).
        views_.resize(count * kGsoMaxSegments);
        gro_ctl_.resize(count);
    }
    for (std::size_t i = 0; i < count; ++i) {
        iovs_[i] = iovec{slot(i), buffer_size_};
        msgs_[i] = mmsghdr{};
        msgs_[i].msg_hdr.msg_iov = &iovs_[i];
        msgs_[i].msg_hdr.msg_iovlen = 1;
        msgs_[i].msg_hdr.msg_name = &peers_[i].storage;
    }
}

void DatagramBatch::prepare_receive() {
    split_ = false;
    for (std::size_t i = 0; i < msgs_.size(); ++i) {
        iovs_[i].iov_len = buffer_size_;
        msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        msgs_[i].msg_hdr.msg_flags = 0;
        msgs_[i].msg_len = 0;
        if (!gro_ctl_.empty()) {
            msgs_[i].msg_hdr.msg_control = gro_ctl_[i].buf;
            msgs_[i].msg_hdr.msg_controllen = sizeof gro_ctl_[i].buf;
        }
    }
}

std::size_t DatagramBatch::build_gso(std::size_t from) {
    std::size_t groups = 0;
    std::size_t i = from;
    while (i < filled_) {
        const std::size_t seg = iovs_[i].iov_len;
        std::size_t j = i + 1;
        std::size_t bytes = seg;
        // A run: same peer, every datagram `seg` long except a shorter last one.
        while (j < filled_ && j - i < kGsoMaxSegments && iovs_[j].iov_len <= seg && bytes + iovs_[j].iov_len <= kGsoMaxBytes &&
               msgs_[j].msg_hdr.msg_namelen == msgs_[i].msg_hdr.msg_namelen &&
               std::memcmp(&peers_[j].storage, &peers_[i].storage, msgs_[i].msg_hdr.msg_namelen) == 0) {
            bytes += iovs_[j].iov_len;
            const bool last = iovs_[j].iov_len < seg;
            ++j;
            if (last) break;
        }
        mmsghdr& m = gso_msgs_[groups];
        m = mmsghdr{};
        m.msg_hdr.msg_name = msgs_[i].msg_hdr.msg_name;
        m.msg_hdr.msg_namelen = msgs_[i].msg_hdr.msg_namelen;
        m.msg_hdr.msg_iov = &iovs_[i];
        m.msg_hdr.msg_iovlen = j - i;
        if (j - i > 1) {
            m.msg_hdr.msg_control = gso_ctl_[groups].buf;
            m.msg_hdr.msg_controllen = sizeof gso_ctl_[groups].buf;
            cmsghdr* c = CMSG_FIRSTHDR(&m.msg_hdr);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
            const auto gso_size = static_cast<std::uint16_t>(seg);
            std::memcpy(CMSG_DATA(c), &gso_size, sizeof gso_size);
        }
        gso_first_[groups] = i;
        ++groups;
        i = j;
    }
    gso_first_[groups] = filled_;
    return groups;
}

void DatagramBatch::push(std::size_t length, const SocketAddress& to) {
    const std::size_t i = filled_++;
    iovs_[i].iov_len = length;
    peers_[i] = to;
    msgs_[i].msg_hdr.msg_namelen = to.length;
    msgs_[i].msg_len = 0;
}

void DatagramBatch::arrived(std::span<const std::uint8_t> packet, const SocketAddress& from) {
    const std::size_t i = filled_++;
    std::memcpy(slot(i), packet.data(), packet.size());
    msgs_[i].msg_len = static_cast<unsigned>(packet.size());
    peers_[i] = from;
}

Result<UdpSocket> UdpSocket::open(const SocketAddress& local, bool reuse_port) {
    UdpSocket s;
    s.family_ = local.family();
    s.fd_ = Fd(socket(local.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!s.fd_.valid()) return fail_errno("UDP socket");
    const int one = 1;
    if (reuse_port && setsockopt(s.fd(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        return fail_errno("SO_REUSEPORT");
    if (bind(s.fd(), local.get(), local.length) != 0) return fail_errno("bind UDP " + local.to_string());
    return s;
}

Result<UdpSocket> UdpSocket::share() const {
    UdpSocket s;
    s.fd_ = Fd(fcntl(fd(), F_DUPFD_CLOEXEC, 0));
    if (!s.fd_.valid()) return fail_errno("dup UDP socket");
    s.family_ = family_;
    s.connected_ = connected_;
    s.gro_ = gro_;
    s.gso_ = gso_;
    s.soft_errors_ = soft_errors_;
    s.refusals_ = refusals_;
    return s;
}

Result<SocketAddress> UdpSocket::local_address() const {
    SocketAddress a;
    a.length = sizeof a.storage;
    if (getsockname(fd(), a.get(), &a.length) != 0) return fail_errno("getsockname");
    return a;
}

Result<std::size_t> UdpSocket::receive(DatagramBatch& batch) {
    if (gro_ && batch.buffer_size() < kGroBufferSize) return fail("a GRO socket needs 64 KB receive buffers", EINVAL);
    batch.prepare_receive();
    batch.filled_ = 0;
    int n = -1;
    // A queued ICMP error is reported once, before the datagrams behind it: count it and read on
    // (bounded: a flood of them leaves the rest to the next readiness).
    for (int tries = 0; tries < 4; ++tries) {
        n = recvmmsg(fd(), batch.msgs_.data(), static_cast<unsigned>(batch.capacity()), MSG_DONTWAIT, nullptr);
        if (n >= 0) break;
        if (errno == EAGAIN || errno == EINTR) return std::size_t{0};
        if (!is_transient_socket_error(errno)) return fail_errno("recvmmsg");
        note_soft_error(errno);
    }
    if (n < 0) return std::size_t{0};
    for (int i = 0; i < n; ++i) batch.peers_[i].length = batch.msgs_[i].msg_hdr.msg_namelen;
    batch.filled_ = static_cast<std::size_t>(n);
    if (!gro_) return batch.filled_;
    // Split coalesced messages: UDP_GRO's cmsg gives the size of every datagram but the last.
    std::size_t v = 0;
    for (std::size_t i = 0; i < batch.filled_; ++i) {
        const std::size_t len = batch.msgs_[i].msg_len;
        std::size_t seg = len;
        msghdr& h = batch.msgs_[i].msg_hdr;
        for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
            if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
                int g = 0;
                std::memcpy(&g, CMSG_DATA(c), sizeof g);
                if (g > 0) seg = static_cast<std::size_t>(g);
            }
        }
        std::uint8_t* base = batch.slot(i);
        for (std::size_t off = 0; off < len && v < batch.views_.size(); off += seg) {
            batch.views_[v++] = DatagramBatch::View{base + off, static_cast<std::uint32_t>(std::min(seg, len - off)),
                                                    static_cast<std::uint32_t>(i)};
        }
        if (len == 0 && v < batch.views_.size()) batch.views_[v++] = DatagramBatch::View{base, 0, static_cast<std::uint32_t>(i)};
    }
    batch.split_ = true;
    batch.filled_ = v;
    return batch.filled_;
}

Result<void> UdpSocket::enable_gro() {
    const int one = 1;
    if (setsockopt(fd(), SOL_UDP, UDP_GRO, &one, sizeof one) != 0) return fail_errno("UDP_GRO");
    gro_ = true;
    return {};
}

Result<SocketBuffers> UdpSocket::set_buffers(SocketBuffers asked) {
    if (auto r = set_socket_buffers(fd(), asked); !r) return fail(r.error());
    return socket_buffers(fd());
}

Result<void> UdpSocket::connect(const SocketAddress& peer) {
    if (::connect(fd(), peer.get(), peer.length) != 0) return fail_errno("connect UDP to " + peer.to_string());
    connected_ = true;
    return {};
}

Result<std::size_t> UdpSocket::send_gso(DatagramBatch& batch, std::size_t from) {
    std::size_t done = from;
    bool retried = false;
    while (done < batch.filled_) {
        const std::size_t groups = batch.build_gso(done);
        const int n = sendmmsg(fd(), batch.gso_msgs_.data(), static_cast<unsigned>(groups), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            if (errno == EINVAL || errno == EIO || errno == ENOPROTOOPT || errno == EOPNOTSUPP || errno == EMSGSIZE) {
                // The same errno may be a queued ICMP error (forged frag needed or protocol
                // unreachable), reported once and then cleared: only a second refusal in a row
                // means this kernel or device cannot do GSO.
                if (errno != EINVAL && errno != EIO && !retried) {
                    note_soft_error(errno);
                    retried = true;
                    continue;
                }
                // No UDP GSO here (old kernel, a device that cannot, a datagram over the path MTU):
                // the plain path sends (or drops) each datagram on its own from now on.
                gso_ = false;
                return send_plain(batch, done);
            }
            if (is_transient_socket_error(errno)) {
                note_soft_error(errno);
                if (!retried) {  // a queued ICMP error, reported once (as in send_plain)
                    retried = true;
                    continue;
                }
                retried = false;
                done = batch.gso_first_[1];  // the first run is lost, as on a lossy link
                continue;
            }
            return fail_errno("sendmmsg");
        }
        retried = false;
        done = batch.gso_first_[static_cast<std::size_t>(n)];
    }
    return done;
}

Result<std::size_t> UdpSocket::send_plain(DatagramBatch& batch, std::size_t from) {
    std::size_t done = from;
    bool retried = false;
    while (done < batch.filled_) {
        const int n = sendmmsg(fd(), batch.msgs_.data() + done, static_cast<unsigned>(batch.filled_ - done), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            // An ICMP error queued on the socket (forgeable) is reported by the next send, which
            // then sends nothing: try that datagram once more, or every forged error would cost
            // a datagram. One that still cannot go is dropped like on a lossy link.
            if (is_transient_socket_error(errno)) {
                note_soft_error(errno);
                if (!retried) {
                    retried = true;
                    continue;
                }
                ++done;
            } else {
                return fail_errno("sendmmsg");
            }
        } else {
            done += static_cast<std::size_t>(n);
        }
        retried = false;
    }
    return done;
}

Result<std::size_t> UdpSocket::send(DatagramBatch& batch) {
    if (connected_)
        for (std::size_t i = 0; i < batch.filled_; ++i) batch.msgs_[i].msg_hdr.msg_namelen = 0;
    auto sent = gso_ && batch.filled_ > 1 ? send_gso(batch, 0) : send_plain(batch, 0);
    if (!sent) return sent;
    const std::size_t done = *sent;
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
    ssize_t n = sendto(fd(), data.data(), data.size(), MSG_DONTWAIT, to.get(), to.length);
    if (n < 0 && is_transient_socket_error(errno)) {  // a queued ICMP error: once more (send_plain)
        note_soft_error(errno);
        n = sendto(fd(), data.data(), data.size(), MSG_DONTWAIT, to.get(), to.length);
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return IoCount{0, true};
        if (is_transient_socket_error(errno)) {
            note_soft_error(errno);
            return IoCount{0, false};
        }
        return fail_errno("sendto " + to.to_string());
    }
    return IoCount{static_cast<std::size_t>(n), false};
}

}  // namespace wirebridge::io
