// LinkEvents: rtnetlink link notifications (RTNLGRP_LINK) for the event loop: did a device change?
#pragma once

#include <string>

#include "common/result.hpp"
#include "nl/netlink_socket.hpp"

namespace wirebridge::nl {

// A non-blocking NETLINK_ROUTE socket in the link group. The kernel sends RTM_NEWLINK when a
// device goes up or down (or changes otherwise) and RTM_DELLINK when it goes; a caller puts fd()
// on its loop and, when it is readable, asks drain() whether the device it cares about was named.
class LinkEvents {
public:
    static Result<LinkEvents> open();

    int fd() const;
    // Reads every pending notification. true when one named `device`, or when the kernel dropped
    // some (socket buffer full: the caller cannot know what it missed and should look itself).
    Result<bool> drain(const std::string& device);

private:
    explicit LinkEvents(NetlinkSocket s) : sock_(std::move(s)) {}
    NetlinkSocket sock_;
};

}  // namespace wirebridge::nl
