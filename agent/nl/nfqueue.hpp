// NfQueue: receives queued packets (libnetfilter_queue) and answers each with a verdict.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/result.hpp"
#include "nl/netlink_socket.hpp"

struct nlmsghdr;

namespace wirebridge::nl {

// One packet the kernel queued to us. The payload starts at the network header and is valid
// only during the handler call.
struct QueuedPacket {
    uint32_t id = 0;
    uint16_t hw_protocol = 0;  // ETH_P_IP or ETH_P_IPV6, host order
    uint8_t hook = 0;          // NF_INET_*
    uint32_t mark = 0;
    bool has_conntrack = false;  // conntrack id and mark are known (kernel glue present)
    uint32_t conntrack_id = 0;
    uint32_t conntrack_mark = 0;
    std::span<const uint8_t> payload;
};

// Decodes one NFQNL_MSG_PACKET message (what NfQueue::process hands its handler); false when it is
// not one (no packet header, attributes cut short). payload points into the message.
bool decode_queued_packet(const nlmsghdr* nlh, QueuedPacket& out);

// The answer to one packet; the mark, when set, replaces the packet's mark.
//
// To mark the *connection* (so its later packets are steered in the kernel without us), answer
// Repeat with a packet mark: the packet runs through the hook's rules again, where a rule
// "-m mark --mark M/MASK -j CONNMARK --save-mark" placed before the NFQUEUE rule copies the
// decision to the conntrack entry. That works on every kernel; setting the conntrack mark in
// the verdict itself needs CONFIG_NETFILTER_NETLINK_GLUE_CT, and the entry of a queued first
// packet is not yet confirmed, so ctnetlink cannot reach it either.
struct Decision {
    enum class Verdict : uint8_t { Accept, Drop, Repeat } verdict = Verdict::Accept;
    std::optional<uint32_t> packet_mark;
};

struct NfQueueOptions {
    uint16_t queue = 0;
    uint32_t max_len = 4096;      // packets the kernel may hold for us before it acts
    uint32_t copy_range = 256;    // bytes of each packet we need: headers only
    bool fail_open = true;        // queue full: accept (true) or drop (false)
};

struct NfQueueStats {
    uint64_t received = 0;
    uint64_t verdicts = 0;
    uint64_t overruns = 0;  // the socket buffer overflowed (ENOBUFS): the kernel dropped or
                            // failed-open some packets we never saw
};

// A bound queue. Owns one netlink socket, non-blocking: put fd() in the event loop and call
// process() when it is readable. Verdicts of one process() call go out in one sendmsg.
class NfQueue {
public:
    using Handler = std::function<Decision(const QueuedPacket&)>;

    static Result<NfQueue> open(const NfQueueOptions& options);
    NfQueue(NfQueue&&) noexcept;
    NfQueue& operator=(NfQueue&&) noexcept;
    ~NfQueue();

    int fd() const;
    // Handles up to max_packets pending packets; returns how many. 0: nothing was pending.
    Result<size_t> process(const Handler& handler, size_t max_packets = 64);
    const NfQueueStats& stats() const { return stats_; }

private:
    NfQueue() = default;
    Result<void> configure(const NfQueueOptions& options);
    Result<void> send_params(const NfQueueOptions& o, uint32_t flags, const std::string& q);

    // Closing the socket unbinds the queue; the kernel then applies --queue-bypass (or drops).
    NetlinkSocket sock_;
    uint16_t queue_ = 0;
    std::unique_ptr<char[]> tx_;
    NfQueueStats stats_;
};

}  // namespace wirebridge::nl
