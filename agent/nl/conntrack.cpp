// Conntrack over libmnl: events, dump and mark updates, messages read and built by hand.
#include "nl/conntrack.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <netinet/in.h>

namespace wirebridge::nl {

namespace {

// Room for a batch of events or dump entries (MNL_SOCKET_BUFFER_SIZE is 8 KiB at most).
constexpr size_t kBufSize = 32768;

// libnetfilter_conntrack's parser ends the process ("ctnetlink kernel ABI is broken") on an
// attribute it cannot validate (found by the fuzz target), so messages are read here with
// libmnl's bounds-checked attribute walk. Attributes are (type, payload) with a length each.
struct Attrs {
    const nlattr* a[CTA_MAX + 1] = {};
};

template <int Max>
int collect(const nlattr* attr, void* data) {
    const int type = mnl_attr_get_type(attr);
    if (type <= Max) static_cast<const nlattr**>(data)[type] = attr;
    return MNL_CB_OK;
}

bool u32_at(const nlattr* a, uint32_t& out) {
    if (a == nullptr || mnl_attr_get_payload_len(a) < 4) return false;
    uint32_t v;
    std::memcpy(&v, mnl_attr_get_payload(a), 4);
    out = ntohl(v);
    return true;
}

bool read_tuple(const nlattr* nest, FlowTuple& t) {
    const nlattr* tup[CTA_TUPLE_MAX + 1] = {};
    if (mnl_attr_parse_nested(nest, collect<CTA_TUPLE_MAX>, tup) < 0) return false;
    if (tup[CTA_TUPLE_IP] == nullptr || tup[CTA_TUPLE_PROTO] == nullptr) return false;
    const nlattr* ip[CTA_IP_MAX + 1] = {};
    if (mnl_attr_parse_nested(tup[CTA_TUPLE_IP], collect<CTA_IP_MAX>, ip) < 0) return false;
    auto copy = [](const nlattr* a, uint8_t* dst, size_t len) {
        if (a == nullptr || mnl_attr_get_payload_len(a) < len) return false;
        std::memcpy(dst, mnl_attr_get_payload(a), len);
        return true;
    };
    if (copy(ip[CTA_IP_V4_SRC], t.src, 4) && copy(ip[CTA_IP_V4_DST], t.dst, 4))
        t.family = AF_INET;
    else if (copy(ip[CTA_IP_V6_SRC], t.src, 16) && copy(ip[CTA_IP_V6_DST], t.dst, 16))
        t.family = AF_INET6;
    else
        return false;
    const nlattr* pr[CTA_PROTO_MAX + 1] = {};
    if (mnl_attr_parse_nested(tup[CTA_TUPLE_PROTO], collect<CTA_PROTO_MAX>, pr) < 0) return false;
    if (pr[CTA_PROTO_NUM] == nullptr || mnl_attr_get_payload_len(pr[CTA_PROTO_NUM]) < 1) return false;
    t.proto = mnl_attr_get_u8(pr[CTA_PROTO_NUM]);
    auto port = [](const nlattr* a) -> uint16_t {
        if (a == nullptr || mnl_attr_get_payload_len(a) < 2) return 0;
        uint16_t v;
        std::memcpy(&v, mnl_attr_get_payload(a), 2);
        return ntohs(v);
    };
    if (t.proto == IPPROTO_TCP || t.proto == IPPROTO_UDP) {
        t.sport = port(pr[CTA_PROTO_SRC_PORT]);
        t.dport = port(pr[CTA_PROTO_DST_PORT]);
    }
    return true;
}

// Also hands back the original-tuple and zone attributes, which an update names the entry by.
Result<ConntrackEntry> entry_of(const nlmsghdr* nlh, const nlattr** tuple_attr = nullptr,
                                const nlattr** zone_attr = nullptr) {
    if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nfgenmsg))) return fail("conntrack message too short");
    if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK) return fail("not a conntrack message");
    ConntrackEntry e;
    switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
    case IPCTNL_MSG_CT_NEW:
        e.kind = (nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) ? ConntrackEntry::Kind::New : ConntrackEntry::Kind::Update;
        break;
    case IPCTNL_MSG_CT_DELETE: e.kind = ConntrackEntry::Kind::Destroy; break;
    default: return fail("not a conntrack entry message");
    }
    Attrs at;
    if (mnl_attr_parse(nlh, sizeof(nfgenmsg), collect<CTA_MAX>, at.a) < 0) return fail("malformed conntrack attributes");
    if (at.a[CTA_TUPLE_ORIG] == nullptr || !read_tuple(at.a[CTA_TUPLE_ORIG], e.orig))
        return fail("conntrack message without a readable original tuple");
    u32_at(at.a[CTA_MARK], e.mark);
    u32_at(at.a[CTA_ID], e.id);
    if (tuple_attr) *tuple_attr = at.a[CTA_TUPLE_ORIG];
    if (zone_attr) *zone_attr = at.a[CTA_ZONE];
    return e;
}

}  // namespace

Result<ConntrackEntry> parse_conntrack_message(std::span<const uint8_t> msg) {
    if (msg.size() < sizeof(nlmsghdr)) return fail("netlink message too short");
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(msg.data());
    // Compared unsigned: libmnl's mnl_nlmsg_ok() casts nlmsg_len to int, so a length of 2^31 or
    // more passed it and the attribute walk read past the buffer (found by libFuzzer).
    if (nlh->nlmsg_len < sizeof(nlmsghdr) || nlh->nlmsg_len > msg.size())
        return fail("netlink message length out of range");
    return entry_of(nlh);
}

// ---------------------------------------------------------------- events

Result<ConntrackEvents> ConntrackEvents::open() {
    ConntrackEvents ev;
    auto sock = NetlinkSocket::open(NETLINK_NETFILTER, NF_NETLINK_CONNTRACK_NEW | NF_NETLINK_CONNTRACK_DESTROY, kBufSize,
                                    "a conntrack events");
    if (!sock) {
        if (sock.error().code == EPERM) return fail("cannot follow conntrack events: needs CAP_NET_ADMIN", EPERM);
        return fail("cannot follow conntrack events (is nf_conntrack_netlink available?): " + sock.error().message,
                    sock.error().code);
    }
    ev.sock_ = std::move(*sock);
    // A burst of new flows must not overflow us: room for some thousands of events.
    int size = 4 << 20;
    if (setsockopt(ev.fd(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
        (void)setsockopt(ev.fd(), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    return ev;
}

ConntrackEvents::ConntrackEvents(ConntrackEvents&&) noexcept = default;
ConntrackEvents& ConntrackEvents::operator=(ConntrackEvents&&) noexcept = default;
ConntrackEvents::~ConntrackEvents() = default;

int ConntrackEvents::fd() const { return sock_.fd(); }

Result<size_t> ConntrackEvents::process(const Handler& handler, size_t max_messages) {
    struct Ctx {
        const Handler* handler;
        size_t handled;
    };
    Ctx ctx{&handler, 0};
    auto cb = [](const nlmsghdr* nlh, void* data) -> int {
        auto& c = *static_cast<Ctx*>(data);
        auto e = entry_of(nlh);
        if (e) {
            (*c.handler)(*e);
            ++c.handled;
        }
        return MNL_CB_OK;
    };
    NetlinkSocket::DrainCounts counts;
    auto r = sock_.drain(max_messages, cb, &ctx, false, counts, "cannot read conntrack events");
    stats_.overruns += counts.overruns;
    stats_.events += ctx.handled;
    if (!r) return fail(r.error());
    return ctx.handled;
}

// ---------------------------------------------------------------- table

Result<ConntrackTable> ConntrackTable::open() {
    ConntrackTable t;
    auto sock = NetlinkSocket::open(NETLINK_NETFILTER, 0, kBufSize, "a conntrack");
    if (!sock) return fail(sock.error());
    t.sock_ = std::move(*sock);
    return t;
}

ConntrackTable::ConntrackTable(ConntrackTable&&) noexcept = default;
ConntrackTable& ConntrackTable::operator=(ConntrackTable&&) noexcept = default;
ConntrackTable::~ConntrackTable() = default;

Result<RemarkResult> ConntrackTable::remark(uint32_t mask, const Decide& decide) {
    // What names an entry in an update: its original tuple (copied as the kernel sent it, so
    // every protocol's tuple works) and its zone.
    struct Pending {
        std::vector<uint8_t> tuple, zone;
        uint8_t family;
        uint32_t mark;
    };
    struct Ctx {
        const Decide* decide;
        uint32_t mask;
        std::vector<Pending> pending;
        RemarkResult result;
    } ctx{&decide, mask, {}, {}};

    // 1. Dump; remember the tuples to change (a dump cannot be interleaved with updates).
    auto* nlh = mnl_nlmsg_put_header(sock_.buffer());
    nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    auto* nfh = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    nfh->nfgen_family = AF_UNSPEC;
    nfh->version = NFNETLINK_V0;
    nfh->res_id = 0;
    auto cb = [](const nlmsghdr* m, void* data) -> int {
        auto& c = *static_cast<Ctx*>(data);
        const nlattr* tuple = nullptr;
        const nlattr* zone = nullptr;
        auto e = entry_of(m, &tuple, &zone);
        if (!e) return MNL_CB_OK;
        ++c.result.seen;
        auto want = (*c.decide)(*e);
        if (!want || (e->mark & c.mask) == (*want & c.mask)) return MNL_CB_OK;
        auto bytes = [](const nlattr* a) {
            const auto* p = reinterpret_cast<const uint8_t*>(a);
            return a ? std::vector<uint8_t>(p, p + a->nla_len) : std::vector<uint8_t>();
        };
        c.pending.push_back({bytes(tuple), bytes(zone), static_cast<uint8_t>(e->orig.family), *want & c.mask});
        return MNL_CB_OK;
    };
    if (auto r = sock_.transact(nlh, "cannot dump the conntrack table", cb, &ctx); !r) return fail(r.error());

    // 2. Update each: the kernel applies (mark & ~mask) | value (CTA_MARK_MASK).
    for (Pending& p : ctx.pending) {
        nlh = mnl_nlmsg_put_header(sock_.buffer());
        nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        nfh = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
        nfh->nfgen_family = p.family;
        nfh->version = NFNETLINK_V0;
        nfh->res_id = 0;
        for (const auto* raw : {&p.tuple, &p.zone}) {
            if (raw->empty()) continue;
            std::memcpy(mnl_nlmsg_get_payload_tail(nlh), raw->data(), raw->size());
            nlh->nlmsg_len += MNL_ALIGN(static_cast<uint32_t>(raw->size()));
        }
        mnl_attr_put_u32(nlh, CTA_MARK, htonl(p.mark));
        mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(mask));
        if (auto r = sock_.transact(nlh, "cannot update a conntrack entry's mark"); !r) {
            if (r.error().code == ENOENT) {
                ++ctx.result.gone;
                continue;
            }
            return fail(r.error());
        }
        ++ctx.result.changed;
    }
    return ctx.result;
}

}  // namespace wirebridge::nl
