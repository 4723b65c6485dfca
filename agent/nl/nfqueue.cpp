// NfQueue over libmnl and libnetfilter_queue's message helpers: bind, configure, verdicts in batches.
#include "nl/nfqueue.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

extern "C" {
#include <libnetfilter_queue/libnetfilter_queue.h>
}

namespace wirebridge::nl {

namespace {

// A queued packet is at most copy_range (< 64 KiB) plus its attributes.
constexpr size_t kRxSize = 65536 + 4096;
// libmnl wants a batch buffer of twice the batch limit (a message may overflow the limit).
constexpr size_t kTxSize = 32768;
constexpr size_t kBatchLimit = kTxSize / 2;
// Room one verdict message needs: header, verdict, mark.
constexpr size_t kVerdictRoom = 128;

struct ProcessContext {
    const NfQueue::Handler* handler;
    mnl_nlmsg_batch* batch;
    uint16_t queue;
    size_t handled;
};

void parse_conntrack(const nlattr* nest, QueuedPacket& pkt) {
    pkt.has_conntrack = true;
    const auto* end = reinterpret_cast<const char*>(nest) + mnl_attr_get_len(nest);
    for (const auto* a = static_cast<const nlattr*>(mnl_attr_get_payload(nest));
         mnl_attr_ok(a, static_cast<int>(end - reinterpret_cast<const char*>(a)));
         a = mnl_attr_next(a)) {
        if (mnl_attr_validate(a, MNL_TYPE_U32) < 0) continue;
        if (mnl_attr_get_type(a) == CTA_ID) pkt.conntrack_id = ntohl(mnl_attr_get_u32(a));
        if (mnl_attr_get_type(a) == CTA_MARK) pkt.conntrack_mark = ntohl(mnl_attr_get_u32(a));
    }
}

}  // namespace

bool decode_queued_packet(const nlmsghdr* nlh, QueuedPacket& pkt) {
    // Too short for its nfgenmsg header: not a packet.
    if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(nfgenmsg))) return false;
    nlattr* attr[NFQA_MAX + 1] = {};
    if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == nullptr) return false;
    if (mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(nfqnl_msg_packet_hdr)) return false;
    const auto* hdr = static_cast<const nfqnl_msg_packet_hdr*>(
        mnl_attr_get_payload(attr[NFQA_PACKET_HDR]));

    pkt.id = ntohl(hdr->packet_id);
    pkt.hw_protocol = ntohs(hdr->hw_protocol);
    pkt.hook = hdr->hook;
    if (attr[NFQA_MARK] != nullptr && mnl_attr_validate(attr[NFQA_MARK], MNL_TYPE_U32) >= 0)
        pkt.mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));
    if (attr[NFQA_CT] != nullptr) parse_conntrack(attr[NFQA_CT], pkt);
    if (attr[NFQA_PAYLOAD] != nullptr) {
        pkt.payload = {static_cast<const uint8_t*>(mnl_attr_get_payload(attr[NFQA_PAYLOAD])),
                       mnl_attr_get_payload_len(attr[NFQA_PAYLOAD])};
    }
    return true;
}

namespace {

void put_verdict(ProcessContext& ctx, uint32_t id, const Decision& d) {
    auto* nlh = nfq_nlmsg_put(static_cast<char*>(mnl_nlmsg_batch_current(ctx.batch)),
                              NFQNL_MSG_VERDICT, ctx.queue);
    int verdict = NF_ACCEPT;
    if (d.verdict == Decision::Verdict::Drop) verdict = NF_DROP;
    if (d.verdict == Decision::Verdict::Repeat) verdict = NF_REPEAT;
    nfq_nlmsg_verdict_put(nlh, static_cast<int>(id), verdict);
    if (d.packet_mark) nfq_nlmsg_verdict_put_mark(nlh, *d.packet_mark);
    mnl_nlmsg_batch_next(ctx.batch);
}

int on_packet(const nlmsghdr* nlh, void* data) {
    auto& ctx = *static_cast<ProcessContext*>(data);
    QueuedPacket pkt;
    if (!decode_queued_packet(nlh, pkt)) return MNL_CB_OK;
    put_verdict(ctx, pkt.id, (*ctx.handler)(pkt));
    ++ctx.handled;
    return MNL_CB_OK;
}

}  // namespace

Result<NfQueue> NfQueue::open(const NfQueueOptions& options) {
    NfQueue q;
    q.queue_ = options.queue;
    auto sock = NetlinkSocket::open(NETLINK_NETFILTER, 0, kRxSize, "a netfilter netlink");
    if (!sock) return fail(sock.error());
    q.sock_ = std::move(*sock);
    q.tx_ = std::make_unique<char[]>(kTxSize);
    // Configuration waits for acks; from then on process() reads without blocking.
    if (auto r = q.configure(options); !r) return fail(r.error());
    return q;
}

Result<void> NfQueue::configure(const NfQueueOptions& o) {
    const std::string q = "NFQUEUE " + std::to_string(o.queue);
    nlmsghdr* nlh = nfq_nlmsg_put(tx_.get(), NFQNL_MSG_CONFIG, o.queue);
    nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
    nlh->nlmsg_flags |= NLM_F_ACK;
    if (auto r = sock_.transact(nlh, "cannot bind " + q); !r) {
        if (r.error().code == EBUSY)
            return fail(q + " is already bound by another process", EBUSY);
        if (r.error().code == EPERM)
            return fail("cannot bind " + q + ": needs CAP_NET_ADMIN", EPERM);
        return r;
    }

    // GSO: large packets are queued whole instead of being segmented for us.
    // CONNTRACK: packets come with their conntrack id and mark, where the kernel has the glue
    // for it (CONFIG_NETFILTER_NETLINK_GLUE_CT; Debian's has): asked for, not required.
    uint32_t flags = NFQA_CFG_F_GSO | NFQA_CFG_F_CONNTRACK;
    if (o.fail_open) flags |= NFQA_CFG_F_FAIL_OPEN;
    auto r = send_params(o, flags, q);
    if (!r && r.error().code == EOPNOTSUPP) r = send_params(o, flags & ~NFQA_CFG_F_CONNTRACK, q);
    return r;
}

Result<void> NfQueue::send_params(const NfQueueOptions& o, uint32_t flags, const std::string& q) {
    nlmsghdr* nlh = nfq_nlmsg_put(tx_.get(), NFQNL_MSG_CONFIG, o.queue);
    nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, static_cast<int>(o.copy_range));
    nfq_nlmsg_cfg_put_qmaxlen(nlh, o.max_len);
    mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
    mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(flags));
    nlh->nlmsg_flags |= NLM_F_ACK;
    return sock_.transact(nlh, "cannot configure " + q);
}

NfQueue::NfQueue(NfQueue&&) noexcept = default;
NfQueue& NfQueue::operator=(NfQueue&&) noexcept = default;
NfQueue::~NfQueue() = default;

int NfQueue::fd() const { return sock_.fd(); }

Result<size_t> NfQueue::process(const Handler& handler, size_t max_packets) {
    mnl_nlmsg_batch* batch = mnl_nlmsg_batch_start(tx_.get(), kBatchLimit);
    ProcessContext ctx{&handler, batch, queue_, 0};
    NetlinkSocket::DrainCounts counts;
    Result<void> read = sock_.drain(
        SIZE_MAX, on_packet, &ctx, true, counts, "cannot read from NFQUEUE " + std::to_string(queue_),
        [&] { return ctx.handled < max_packets && mnl_nlmsg_batch_size(batch) + kVerdictRoom < kBatchLimit; });
    stats_.overruns += counts.overruns;
    stats_.received += ctx.handled;
    Result<size_t> result = size_t{0};
    if (!read) result = fail(read.error());
    if (!mnl_nlmsg_batch_is_empty(batch)) {
        // Every packet we took must get its verdict, even if a read failed after it.
        if (auto r = sock_.send(mnl_nlmsg_batch_head(batch), mnl_nlmsg_batch_size(batch),
                                "cannot send verdicts to NFQUEUE " + std::to_string(queue_));
            !r)
            result = fail(r.error());
        else
            stats_.verdicts += ctx.handled;
    }
    mnl_nlmsg_batch_stop(batch);
    if (!result) return result;
    return ctx.handled;
}

}  // namespace wirebridge::nl
