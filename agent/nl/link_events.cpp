// LinkEvents: a libmnl socket bound to RTMGRP_LINK, drained without blocking.
#include "nl/link_events.hpp"
#include "nl/netlink_buffer.hpp"

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace wirebridge::nl {

void LinkEvents::Closer::operator()(mnl_socket* s) const { mnl_socket_close(s); }

Result<LinkEvents> LinkEvents::open() {
    mnl_socket* s = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (s == nullptr) return fail_errno("link notifications: netlink socket");
    LinkEvents ev(s);
    if (mnl_socket_bind(s, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) return fail_errno("link notifications: bind to RTMGRP_LINK");
    return ev;
}

int LinkEvents::fd() const { return mnl_socket_get_fd(sock_.get()); }

namespace {

struct Seen {
    const std::string* device;
    bool named = false;
};

int on_attr(const nlattr* attr, void* data) {
    auto* seen = static_cast<Seen*>(data);
    if (mnl_attr_get_type(attr) == IFLA_IFNAME && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0 &&
        *seen->device == mnl_attr_get_str(attr))
        seen->named = true;
    return MNL_CB_OK;
}

int on_message(const nlmsghdr* nlh, void* data) {
    if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK) return MNL_CB_OK;
    if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(ifinfomsg))) return MNL_CB_OK;
    mnl_attr_parse(nlh, sizeof(ifinfomsg), on_attr, data);
    return MNL_CB_OK;
}

}  // namespace

Result<bool> LinkEvents::drain(const std::string& device) {
    // Bounded: a notification storm is handled over several loop rounds, the socket stays readable.
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    Seen seen{&device};
    for (int i = 0; i < 64; ++i) {
        const ssize_t n = mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size());
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            if (errno == ENOBUFS) {  // overrun: notifications were lost
                seen.named = true;
                continue;
            }
            return fail_errno("link notifications: recv");
        }
        // Notifications carry sequence 0 and come from the kernel (port 0): no checks to make.
        if (!netlink_lengths_ok(buf.data(), static_cast<size_t>(n))) continue;  // malformed: dropped whole
        if (mnl_cb_run(buf.data(), static_cast<size_t>(n), 0, 0, on_message, &seen) < 0 && errno != ENOENT)
            return fail_errno("link notifications: parse");
    }
    return seen.named;
}

}  // namespace wirebridge::nl
