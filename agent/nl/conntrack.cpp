// Conntrack over libmnl: events, dump and mark updates, messages read and built by hand.
#include "nl/conntrack.hpp"
#include "nl/netlink_buffer.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>
#include <time.h>

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

mnl_socket* open_socket(unsigned groups, unsigned& port, const char* what, int& err) {
    mnl_socket* s = mnl_socket_open(NETLINK_NETFILTER);
    if (s == nullptr) {
        err = errno;
        return nullptr;
    }
    if (mnl_socket_bind(s, groups, MNL_SOCKET_AUTOPID) < 0) {
        err = errno;
        mnl_socket_close(s);
        return nullptr;
    }
    (void)what;
    port = mnl_socket_get_portid(s);
    return s;
}

}  // namespace

Result<ConntrackEntry> parse_conntrack_message(std::span<const uint8_t> msg) {
    if (msg.size() < sizeof(nlmsghdr)) return fail("netlink message too short");
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(msg.data());
    if (!mnl_nlmsg_ok(nlh, static_cast<int>(msg.size()))) return fail("netlink message length out of range");
    return entry_of(nlh);
}

// ---------------------------------------------------------------- events

Result<ConntrackEvents> ConntrackEvents::open() {
    ConntrackEvents ev;
    int err = 0;
    ev.sock_ = open_socket(NF_NETLINK_CONNTRACK_NEW | NF_NETLINK_CONNTRACK_DESTROY, ev.port_, "events", err);
    if (ev.sock_ == nullptr) {
        if (err == EPERM) return fail("cannot follow conntrack events: needs CAP_NET_ADMIN", EPERM);
        return fail_errno("cannot follow conntrack events (is nf_conntrack_netlink available?)", err);
    }
    int fd = mnl_socket_get_fd(ev.sock_);
    // A burst of new flows must not overflow us: room for some thousands of events.
    int size = 4 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) return fail_errno("cannot make the conntrack socket non-blocking");
    ev.rx_ = std::make_unique<char[]>(kBufSize);
    return ev;
}

ConntrackEvents::ConntrackEvents(ConntrackEvents&& o) noexcept
    : sock_(o.sock_), port_(o.port_), rx_(std::move(o.rx_)), stats_(o.stats_) {
    o.sock_ = nullptr;
}

ConntrackEvents& ConntrackEvents::operator=(ConntrackEvents&& o) noexcept {
    if (this != &o) {
        if (sock_) mnl_socket_close(sock_);
        sock_ = o.sock_;
        port_ = o.port_;
        rx_ = std::move(o.rx_);
        stats_ = o.stats_;
        o.sock_ = nullptr;
    }
    return *this;
}

ConntrackEvents::~ConntrackEvents() {
    if (sock_) mnl_socket_close(sock_);
}

int ConntrackEvents::fd() const { return mnl_socket_get_fd(sock_); }

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
    for (size_t i = 0; i < max_messages; ++i) {
        ssize_t n = recv(fd(), rx_.get(), kBufSize, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == ENOBUFS) {
                ++stats_.overruns;
                continue;
            }
            if (errno == EINTR) continue;
            return fail_errno("cannot read conntrack events");
        }
        if (!netlink_lengths_ok(rx_.get(), static_cast<size_t>(n))) continue;  // malformed: dropped whole
        mnl_cb_run(rx_.get(), static_cast<size_t>(n), 0, 0, cb, &ctx);
    }
    stats_.events += ctx.handled;
    return ctx.handled;
}

// ---------------------------------------------------------------- table

Result<ConntrackTable> ConntrackTable::open() {
    ConntrackTable t;
    int err = 0;
    t.sock_ = open_socket(0, t.port_, "table", err);
    if (t.sock_ == nullptr) return fail_errno("cannot open a conntrack socket", err);
    t.buf_ = std::make_unique<char[]>(kBufSize);
    t.seq_ = static_cast<unsigned>(time(nullptr));
    return t;
}

ConntrackTable::ConntrackTable(ConntrackTable&& o) noexcept
    : sock_(o.sock_), port_(o.port_), seq_(o.seq_), buf_(std::move(o.buf_)) {
    o.sock_ = nullptr;
}

ConntrackTable& ConntrackTable::operator=(ConntrackTable&& o) noexcept {
    if (this != &o) {
        if (sock_) mnl_socket_close(sock_);
        sock_ = o.sock_;
        port_ = o.port_;
        seq_ = o.seq_;
        buf_ = std::move(o.buf_);
        o.sock_ = nullptr;
    }
    return *this;
}

ConntrackTable::~ConntrackTable() {
    if (sock_) mnl_socket_close(sock_);
}

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
    auto* nlh = mnl_nlmsg_put_header(buf_.get());
    nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = ++seq_;
    auto* nfh = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    nfh->nfgen_family = AF_UNSPEC;
    nfh->version = NFNETLINK_V0;
    nfh->res_id = 0;
    if (mnl_socket_sendto(sock_, nlh, nlh->nlmsg_len) < 0) return fail_errno("cannot dump the conntrack table");
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
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(sock_, buf_.get(), kBufSize);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("cannot read the conntrack dump");
        }
        if (!netlink_lengths_ok(buf_.get(), static_cast<size_t>(n))) return fail("conntrack dump: malformed answer from the kernel", EPROTO);
        int r = mnl_cb_run(buf_.get(), static_cast<size_t>(n), seq_, port_, cb, &ctx);
        if (r == MNL_CB_STOP) break;
        if (r < 0) return fail_errno("conntrack dump failed");
    }

    // 2. Update each: the kernel applies (mark & ~mask) | value (CTA_MARK_MASK).
    for (Pending& p : ctx.pending) {
        nlh = mnl_nlmsg_put_header(buf_.get());
        nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = ++seq_;
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
        if (mnl_socket_sendto(sock_, nlh, nlh->nlmsg_len) < 0) return fail_errno("cannot update a conntrack entry");
        ssize_t n = mnl_socket_recvfrom(sock_, buf_.get(), kBufSize);
        if (n < 0) return fail_errno("cannot read the conntrack update's answer");
        if (mnl_cb_run(buf_.get(), static_cast<size_t>(n), seq_, port_, nullptr, nullptr) < 0) {
            if (errno == ENOENT) {
                ++ctx.result.gone;
                continue;
            }
            return fail_errno("cannot update a conntrack entry's mark");
        }
        ++ctx.result.changed;
    }
    return ctx.result;
}

}  // namespace wirebridge::nl
