// LinkEvents: a libmnl socket bound to RTMGRP_LINK, drained without blocking.
#include "nl/link_events.hpp"

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>

namespace wirebridge::nl {

Result<LinkEvents> LinkEvents::open() {
    auto s = NetlinkSocket::open(NETLINK_ROUTE, RTMGRP_LINK, MNL_SOCKET_BUFFER_SIZE, "the link notifications'");
    if (!s) return fail(s.error());
    return LinkEvents(std::move(*s));
}

int LinkEvents::fd() const { return sock_.fd(); }

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
    // Notifications carry sequence 0 and come from the kernel (port 0): no checks to make.
    Seen seen{&device};
    NetlinkSocket::DrainCounts counts;
    if (auto r = sock_.drain(64, on_message, &seen, false, counts, "link notifications: recv"); !r) return fail(r.error());
    if (counts.error != 0 && counts.error != ENOENT) return fail_errno("link notifications: parse", counts.error);
    if (counts.overruns != 0) seen.named = true;  // notifications were lost: the caller looks itself
    return seen.named;
}

}  // namespace wirebridge::nl
