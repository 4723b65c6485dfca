// netlink_lengths_ok: the check every netlink buffer passes before libmnl walks it.
//
// mnl_cb_run compares a message's nlmsg_len with what is left as a signed int, so a length of
// 2^31 or more passes and the walk (and the callbacks' reads) run far past the buffer. The
// kernel never sends that, but the buffer is only as trustworthy as its sender (found by the
// nl_*_fuzz targets): a buffer with such a message is dropped whole. (libmnl reads a message's
// attributes up to its aligned end, NLMSG_ALIGN(nlmsg_len): the kernel does not always send the
// last message's padding, so a receive buffer needs 3 bytes of room past what recv() returned;
// every buffer of ours is far larger than any message.)
#pragma once

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace wirebridge::nl {

// True when every message of buf[0..n) lies inside it (trailing bytes shorter than a header are
// ignored, as libmnl ignores them).
inline bool netlink_lengths_ok(const void* buf, std::size_t n) {
    const auto* p = static_cast<const std::uint8_t*>(buf);
    while (n >= sizeof(nlmsghdr)) {
        nlmsghdr h;
        std::memcpy(&h, p, sizeof h);
        if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > n) return false;
        const std::size_t step = (std::size_t{h.nlmsg_len} + 3) & ~std::size_t{3};  // NLMSG_ALIGN, without its 32-bit wrap
        if (step >= n) return true;
        p += step;
        n -= step;
    }
    return true;
}

}  // namespace wirebridge::nl
