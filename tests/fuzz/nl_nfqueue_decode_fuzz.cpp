// Fuzz target: decoding of NFQUEUE packet messages (what the kernel sends a queue: a netlink
// buffer of one or more NFQNL_MSG_PACKET messages), checked and walked as NfQueue::process does with a recv().
// Checked: no crash or sanitizer report, and a decoded payload lies inside its message (up to
// the message's aligned end, as libmnl reads attributes) and the buffer.
#include <libmnl/libmnl.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "nl/netlink_buffer.hpp"
#include "nl/nfqueue.hpp"

namespace {

struct Walk {
    const uint8_t* begin;
    const uint8_t* end;
};

int on_message(const nlmsghdr* nlh, void* data) {
    const auto& w = *static_cast<const Walk*>(data);
    wirebridge::nl::QueuedPacket p;
    if (!wirebridge::nl::decode_queued_packet(nlh, p)) return MNL_CB_OK;
    const auto* msg_end = reinterpret_cast<const uint8_t*>(nlh) + ((size_t{nlh->nlmsg_len} + 3) & ~size_t{3});
    if (!p.payload.empty() && (p.payload.data() < w.begin || p.payload.data() + p.payload.size() > msg_end ||
                               msg_end > w.end))
        std::abort();
    return MNL_CB_OK;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // The reply, then the 3 bytes a last message's padding may take (libmnl reads up to it; a
    // recv() buffer always has that room): ASan sees any read past them.
    std::vector<uint8_t> buf(data, data + size);
    buf.resize(size + 3);
    Walk w{buf.data(), buf.data() + buf.size()};
    if (!wirebridge::nl::netlink_lengths_ok(buf.data(), size)) return 0;  // as NfQueue::process
    (void)mnl_cb_run(buf.data(), size, 0, 0, on_message, &w);
    return 0;
}
