// NetlinkSocket: open, one acknowledged request, and the non-blocking drain, over libmnl.
#include "nl/netlink_socket.hpp"
#include "nl/netlink_buffer.hpp"

#include <libmnl/libmnl.h>
#include <sys/socket.h>

#include <cerrno>
#include <ctime>

namespace wirebridge::nl {

namespace {

// libmnl reads a message's attributes up to its aligned end (netlink_buffer.hpp): room for the
// padding the kernel may leave out after the last message of a full buffer.
constexpr std::size_t kPadRoom = 4;

}  // namespace

void NetlinkSocket::Closer::operator()(mnl_socket* s) const { mnl_socket_close(s); }

Result<NetlinkSocket> NetlinkSocket::open(int bus, unsigned groups, std::size_t buffer_size, const std::string& what) {
    NetlinkSocket s;
    s.sock_.reset(mnl_socket_open2(bus, SOCK_CLOEXEC));
    if (!s.sock_) return fail_errno("cannot open " + what + " socket");
    if (mnl_socket_bind(s.sock_.get(), groups, MNL_SOCKET_AUTOPID) < 0)
        return fail_errno("cannot bind " + what + " socket");
    s.port_ = mnl_socket_get_portid(s.sock_.get());
    s.seq_ = static_cast<unsigned>(time(nullptr));
    s.size_ = buffer_size;
    s.buf_ = std::make_unique<char[]>(buffer_size + kPadRoom);
    return s;
}

int NetlinkSocket::fd() const { return mnl_socket_get_fd(sock_.get()); }

Result<void> NetlinkSocket::send(const void* msg, std::size_t len, const std::string& what) {
    if (mnl_socket_sendto(sock_.get(), msg, len) < 0) return fail_errno(what);
    return {};
}

Result<void> NetlinkSocket::transact(nlmsghdr* nlh, const std::string& what, MessageCallback cb, void* data) {
    nlh->nlmsg_seq = next_seq();
    const unsigned seq = nlh->nlmsg_seq;
    if (auto r = send(nlh, nlh->nlmsg_len, what); !r) return r;
    for (;;) {
        const ssize_t n = mnl_socket_recvfrom(sock_.get(), buf_.get(), size_);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno(what);
        }
        if (!netlink_lengths_ok(buf_.get(), static_cast<std::size_t>(n)))
            return fail(what + ": malformed answer from the kernel", EPROTO);
        const int ret = mnl_cb_run(buf_.get(), static_cast<std::size_t>(n), seq, port_, cb, data);
        if (ret == MNL_CB_ERROR && errno == EINTR) {
            // The kernel flagged a dump that raced a change (NLM_F_DUMP_INTR): its answer may be
            // incomplete. The rest is read away so the socket is clean for the caller's retry.
            for (int i = 0; i < 1024; ++i) {  // a bound: a dump is a few datagrams
                const ssize_t m = mnl_socket_recvfrom(sock_.get(), buf_.get(), size_);
                if (m < 0 || !netlink_lengths_ok(buf_.get(), static_cast<std::size_t>(m))) break;
                const int r = mnl_cb_run(buf_.get(), static_cast<std::size_t>(m), seq, port_, nullptr, nullptr);
                if (r == MNL_CB_STOP || (r == MNL_CB_ERROR && errno != EINTR)) break;
            }
            return fail(Error{EINTR, what + ": the kernel's answer raced a change (dump interrupted)"});
        }
        if (ret == MNL_CB_ERROR) return fail_errno(what);
        if (ret == MNL_CB_STOP) return {};
    }
}

Result<bool> NetlinkSocket::drain_one(MessageCallback cb, void* data, bool check_port, DrainCounts& counts,
                                      const std::string& what) {
    for (;;) {
        const ssize_t n = recv(fd(), buf_.get(), size_, MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
            if (errno == EINTR) continue;
            if (errno == ENOBUFS) {
                ++counts.overruns;
                return true;
            }
            return fail_errno(what);
        }
        // MSG_TRUNC: n is the datagram's real length, larger than the buffer when it was cut.
        if (static_cast<std::size_t>(n) > size_ || !netlink_lengths_ok(buf_.get(), static_cast<std::size_t>(n))) {
            ++counts.malformed;  // dropped whole
            return true;
        }
        if (mnl_cb_run(buf_.get(), static_cast<std::size_t>(n), 0, check_port ? port_ : 0, cb, data) == MNL_CB_ERROR)
            counts.error = errno;
        return true;
    }
}

}  // namespace wirebridge::nl
