// NetlinkSocket: the one libmnl socket of every nl adapter: open and bind, a receive buffer with
// room for libmnl's reads, one acknowledged request, and a bounded drain of pending messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.hpp"

struct mnl_socket;
struct nlmsghdr;

namespace wirebridge::nl {

// One message callback, as libmnl's mnl_cb_t: MNL_CB_OK to go on.
using MessageCallback = int (*)(const nlmsghdr* nlh, void* data);

// Owns one netlink socket and its buffer. Requests are built in buffer() (at most buffer_size()
// bytes) and sent from there; answers are received into the same buffer, so a request must be
// sent before anything is received. Not thread-safe.
class NetlinkSocket {
public:
    // bus: NETLINK_ROUTE, NETLINK_NETFILTER, ...; groups: multicast groups to join (0: none).
    // buffer_size: the largest datagram expected (a dump chunk, a queued packet with its
    // attributes). The socket itself blocks (transact waits for the kernel's answer); drain()
    // never does. `what` names it in errors ("an rtnetlink" -> "cannot open an rtnetlink socket").
    static Result<NetlinkSocket> open(int bus, unsigned groups, std::size_t buffer_size, const std::string& what);

    NetlinkSocket() = default;
    NetlinkSocket(NetlinkSocket&&) noexcept = default;
    NetlinkSocket& operator=(NetlinkSocket&&) noexcept = default;
    ~NetlinkSocket() = default;

    bool valid() const { return sock_ != nullptr; }
    int fd() const;
    unsigned port() const { return port_; }
    char* buffer() { return buf_.get(); }
    std::size_t buffer_size() const { return size_; }
    // The sequence number to put in the next request's header.
    unsigned next_seq() { return ++seq_; }

    // Sends `len` bytes (one message or a batch) as they are.
    Result<void> send(const void* msg, std::size_t len, const std::string& what);
    // One request: gives it the next sequence number, sends it and runs every answer (each
    // datagram length-checked whole, then checked for its sequence and our port) through cb
    // until the kernel's ack or the end of a dump. An error message from the kernel is the
    // result, with its errno as the code (ENOENT, EEXIST, ...).
    Result<void> transact(nlmsghdr* nlh, const std::string& what, MessageCallback cb = nullptr,
                          void* data = nullptr);

    // What drain() met besides messages.
    struct DrainCounts {
        std::uint64_t overruns = 0;   // ENOBUFS: the kernel dropped messages we never saw
        std::uint64_t malformed = 0;  // datagrams dropped whole (netlink_lengths_ok)
        int error = 0;                // errno of the last error message the kernel sent (0: none)
    };
    // Reads pending datagrams without blocking (at most max_reads, fewer when more() says no
    // before a read) and runs each through cb with no sequence check (notifications and queued
    // packets carry none) and the port checked when check_port. EINTR reads again; only a failed
    // read is an error. A datagram cut short by the buffer counts as malformed.
    template <typename More>
    Result<void> drain(std::size_t max_reads, MessageCallback cb, void* data, bool check_port, DrainCounts& counts,
                       const std::string& what, More more) {
        for (std::size_t i = 0; i < max_reads && more(); ++i) {
            auto r = drain_one(cb, data, check_port, counts, what);
            if (!r) return fail(r.error());
            if (!*r) break;
        }
        return {};
    }
    Result<void> drain(std::size_t max_reads, MessageCallback cb, void* data, bool check_port, DrainCounts& counts,
                       const std::string& what) {
        return drain(max_reads, cb, data, check_port, counts, what, [] { return true; });
    }

private:
    struct Closer {
        void operator()(mnl_socket* s) const;
    };
    // One read: false when nothing was pending.
    Result<bool> drain_one(MessageCallback cb, void* data, bool check_port, DrainCounts& counts,
                           const std::string& what);

    std::unique_ptr<mnl_socket, Closer> sock_;
    unsigned port_ = 0;
    unsigned seq_ = 0;
    std::unique_ptr<char[]> buf_;
    std::size_t size_ = 0;
};

}  // namespace wirebridge::nl
