// Rtnetlink requests over libmnl: one request, one acknowledged answer.
#include "nl/rtnetlink.hpp"
#include "nl/netlink_buffer.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace wirebridge::nl {

namespace {

// Big enough for any dump chunk the kernel sends (it sizes them to the receive buffer).
constexpr size_t kBufSize = 32768;

// libmnl's iteration macros assign void* to the cursor, which C++ refuses; same walk, typed.
template <typename Fn>
void for_each_attr(const nlmsghdr* nlh, size_t offset, Fn fn) {
    const auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
    for (const auto* a = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, offset));
         mnl_attr_ok(a, static_cast<int>(tail - reinterpret_cast<const char*>(a)));
         a = mnl_attr_next(a))
        fn(a);
}

template <typename Fn>
void for_each_nested(const nlattr* nest, Fn fn) {
    const auto* end = reinterpret_cast<const char*>(nest) + mnl_attr_get_len(nest);
    for (const auto* a = static_cast<const nlattr*>(mnl_attr_get_payload(nest));
         mnl_attr_ok(a, static_cast<int>(end - reinterpret_cast<const char*>(a)));
         a = mnl_attr_next(a))
        fn(a);
}

// A string attribute up to its NUL or its end (libmnl's MNL_TYPE_STRING check does not ensure the
// NUL that mnl_attr_get_str's reader needs).
std::string attr_string(const nlattr* attr) {
    const auto* p = static_cast<const char*>(mnl_attr_get_payload(attr));
    return std::string(p, strnlen(p, mnl_attr_get_payload_len(attr)));
}

}  // namespace

Result<IfAddress> IfAddress::parse(const std::string& cidr) {
    IfAddress a;
    auto slash = cidr.find('/');
    if (slash == std::string::npos)
        return fail("'" + cidr + "' is not ADDRESS/PREFIX (e.g. 192.0.2.2/24)");
    std::string host = cidr.substr(0, slash), len = cidr.substr(slash + 1);
    unsigned max_len = 0;
    if (inet_pton(AF_INET, host.c_str(), a.bytes) == 1) {
        a.family = AF_INET;
        max_len = 32;
    } else if (inet_pton(AF_INET6, host.c_str(), a.bytes) == 1) {
        a.family = AF_INET6;
        max_len = 128;
    } else {
        return fail("'" + host + "' is not an IPv4 or IPv6 address");
    }
    if (len.empty() || len.size() > 3 || len.find_first_not_of("0123456789") != std::string::npos)
        return fail("'" + len + "' is not a prefix length");
    a.prefix_len = static_cast<unsigned>(std::stoul(len));
    if (a.prefix_len > max_len)
        return fail("prefix length " + len + " is longer than " + std::to_string(max_len));
    return a;
}

std::string IfAddress::to_string() const {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(family, bytes, text, sizeof(text));
    return std::string(text) + "/" + std::to_string(prefix_len);
}

bool IfAddress::operator==(const IfAddress& o) const {
    size_t n = family == AF_INET ? 4 : 16;
    return family == o.family && prefix_len == o.prefix_len && std::memcmp(bytes, o.bytes, n) == 0;
}

Result<Rtnetlink> Rtnetlink::open() {
    Rtnetlink r;
    auto sock = NetlinkSocket::open(NETLINK_ROUTE, 0, kBufSize, "an rtnetlink");
    if (!sock) return fail(sock.error());
    r.sock_ = std::move(*sock);
    return r;
}

Rtnetlink::Rtnetlink(Rtnetlink&&) noexcept = default;
Rtnetlink& Rtnetlink::operator=(Rtnetlink&&) noexcept = default;
Rtnetlink::~Rtnetlink() = default;

nlmsghdr* Rtnetlink::begin_link(uint16_t type, uint16_t flags, int index) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(sock_.buffer());
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = index;
    return nlh;
}

namespace {

int parse_link(const nlmsghdr* nlh, void* data) {
    auto* out = static_cast<std::vector<LinkInfo>*>(data);
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(ifinfomsg)) return MNL_CB_OK;
    const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
    LinkInfo li;
    li.index = ifi->ifi_index;
    li.up = (ifi->ifi_flags & IFF_UP) != 0;
    for_each_attr(nlh, sizeof(*ifi), [&li](const nlattr* attr) {
        switch (mnl_attr_get_type(attr)) {
        case IFLA_IFNAME:
            li.name = attr_string(attr);
            break;
        case IFLA_MASTER:
            if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
                li.master = static_cast<int>(mnl_attr_get_u32(attr));
            break;
        case IFLA_MTU:
            if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) li.mtu = mnl_attr_get_u32(attr);
            break;
        case IFLA_GROUP:
            if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) li.group = mnl_attr_get_u32(attr);
            break;
        case IFLA_LINKINFO:
            for_each_nested(attr, [&li](const nlattr* inner) {
                if (mnl_attr_get_type(inner) == IFLA_INFO_KIND) li.kind = attr_string(inner);
            });
            break;
        default:
            break;
        }
    });
    out->push_back(std::move(li));
    return MNL_CB_OK;
}

}  // namespace

Result<std::vector<LinkInfo>> Rtnetlink::links() {
    nlmsghdr* nlh = begin_link(RTM_GETLINK, NLM_F_DUMP, 0);
    std::vector<LinkInfo> out;
    auto r = sock_.transact(nlh, "cannot list network devices", parse_link, &out);
    if (!r) return fail(r.error());
    return out;
}

Result<LinkInfo> Rtnetlink::link(const std::string& name) {
    if (name.empty() || name.size() >= IFNAMSIZ)
        return fail("'" + name + "' is not a valid device name", EINVAL);
    // NLM_F_ACK: the answer is followed by an ack, which ends transact()'s loop.
    nlmsghdr* nlh = begin_link(RTM_GETLINK, NLM_F_ACK, 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
    std::vector<LinkInfo> out;
    auto r = sock_.transact(nlh, "device " + name, parse_link, &out);
    if (!r) {
        if (r.error().code == ENODEV) return fail("device " + name + " does not exist", ENODEV);
        return fail(r.error());
    }
    if (out.size() != 1) return fail("device " + name + ": unexpected answer from the kernel");
    return out.front();
}

Result<void> Rtnetlink::create_bridge(const std::string& name) {
    if (name.empty() || name.size() >= IFNAMSIZ)
        return fail("'" + name + "' is not a valid device name", EINVAL);
    nlmsghdr* nlh = begin_link(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
    nlattr* linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
    mnl_attr_nest_end(nlh, linkinfo);
    return sock_.transact(nlh, "cannot create bridge " + name);
}

Result<void> Rtnetlink::delete_link(const std::string& name) {
    auto li = link(name);
    if (!li) return fail(li.error());
    nlmsghdr* nlh = begin_link(RTM_DELLINK, NLM_F_ACK, li->index);
    return sock_.transact(nlh, "cannot delete device " + name);
}

Result<void> Rtnetlink::change_link(const std::string& name, const std::string& what,
                                    unsigned flags, unsigned change, int master, unsigned mtu) {
    auto li = link(name);
    if (!li) return fail(li.error());
    nlmsghdr* nlh = begin_link(RTM_NEWLINK, NLM_F_ACK, li->index);
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
    ifi->ifi_flags = flags;
    ifi->ifi_change = change;
    if (master >= 0) mnl_attr_put_u32(nlh, IFLA_MASTER, static_cast<uint32_t>(master));
    if (mtu != 0) mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    return sock_.transact(nlh, what);
}

Result<void> Rtnetlink::set_up(const std::string& name, bool up) {
    return change_link(name, std::string("cannot set ") + name + (up ? " up" : " down"),
                       up ? IFF_UP : 0, IFF_UP, -1, 0);
}

Result<void> Rtnetlink::set_master(const std::string& name, const std::string& master_name) {
    int master = 0;
    if (!master_name.empty()) {
        auto m = link(master_name);
        if (!m) return fail(m.error());
        master = m->index;
    }
    std::string what = master_name.empty() ? "cannot release " + name + " from its bridge"
                                           : "cannot add " + name + " to bridge " + master_name;
    return change_link(name, what, 0, 0, master, 0);
}

Result<void> Rtnetlink::set_mtu(const std::string& name, unsigned mtu) {
    return change_link(name, "cannot set the MTU of " + name + " to " + std::to_string(mtu), 0,
                       0, -1, mtu);
}

Result<void> Rtnetlink::set_group(const std::string& name, uint32_t group) {
    auto li = link(name);
    if (!li) return fail(li.error());
    nlmsghdr* nlh = begin_link(RTM_NEWLINK, NLM_F_ACK, li->index);
    mnl_attr_put_u32(nlh, IFLA_GROUP, group);
    return sock_.transact(nlh, "cannot put " + name + " in interface group " + std::to_string(group));
}

namespace {

struct AddrDump {
    int index;
    std::vector<IfAddress>* out;
};

int parse_addr(const nlmsghdr* nlh, void* data) {
    auto* dump = static_cast<AddrDump*>(data);
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(ifaddrmsg)) return MNL_CB_OK;
    const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
    if (static_cast<int>(ifa->ifa_index) != dump->index) return MNL_CB_OK;
    if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) return MNL_CB_OK;
    IfAddress a;
    a.family = ifa->ifa_family;
    a.prefix_len = ifa->ifa_prefixlen;
    size_t len = a.family == AF_INET ? 4 : 16;
    bool found = false;
    for_each_attr(nlh, sizeof(*ifa), [&](const nlattr* attr) {
        // IFA_LOCAL is the interface's own address on point-to-point links; prefer it.
        int type = mnl_attr_get_type(attr);
        if ((type == IFA_LOCAL || (type == IFA_ADDRESS && !found)) &&
            mnl_attr_get_payload_len(attr) == len) {
            std::memcpy(a.bytes, mnl_attr_get_payload(attr), len);
            found = true;
        }
    });
    if (found) dump->out->push_back(a);
    return MNL_CB_OK;
}

}  // namespace

Result<std::vector<IfAddress>> Rtnetlink::addresses(const std::string& name) {
    auto li = link(name);
    if (!li) return fail(li.error());
    nlmsghdr* nlh = mnl_nlmsg_put_header(sock_.buffer());
    nlh->nlmsg_type = RTM_GETADDR;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = AF_UNSPEC;
    const std::vector<char> request(reinterpret_cast<const char*>(nlh), reinterpret_cast<const char*>(nlh) + nlh->nlmsg_len);
    // Addresses come and go while a device is set up (IPv6 link-local): an interrupted dump is asked again.
    for (int attempt = 0;; ++attempt) {
        std::vector<IfAddress> out;
        AddrDump dump{li->index, &out};
        std::memcpy(sock_.buffer(), request.data(), request.size());
        auto r = sock_.transact(reinterpret_cast<nlmsghdr*>(sock_.buffer()), "cannot list the addresses of " + name, parse_addr, &dump);
        if (r) return out;
        if (r.error().code != EINTR || attempt == 4) return fail(r.error());
    }
}

namespace {

void put_addr(nlmsghdr* nlh, const IfAddress& addr, int index) {
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = static_cast<unsigned char>(addr.family);
    ifa->ifa_prefixlen = static_cast<unsigned char>(addr.prefix_len);
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = static_cast<unsigned>(index);
    size_t len = addr.family == AF_INET ? 4 : 16;
    mnl_attr_put(nlh, IFA_LOCAL, len, addr.bytes);
    mnl_attr_put(nlh, IFA_ADDRESS, len, addr.bytes);
}

}  // namespace

Result<void> Rtnetlink::add_address(const std::string& name, const IfAddress& addr) {
    auto li = link(name);
    if (!li) return fail(li.error());
    nlmsghdr* nlh = mnl_nlmsg_put_header(sock_.buffer());
    nlh->nlmsg_type = RTM_NEWADDR;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
    put_addr(nlh, addr, li->index);
    return sock_.transact(nlh, "cannot add address " + addr.to_string() + " to " + name);
}

Result<void> Rtnetlink::delete_address(const std::string& name, const IfAddress& addr) {
    auto li = link(name);
    if (!li) return fail(li.error());
    nlmsghdr* nlh = mnl_nlmsg_put_header(sock_.buffer());
    nlh->nlmsg_type = RTM_DELADDR;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    put_addr(nlh, addr, li->index);
    return sock_.transact(nlh, "cannot remove address " + addr.to_string() + " from " + name);
}

std::string PolicyRule::to_string() const {
    std::string s = std::string(family == AF_INET6 ? "-6 " : "") + "priority " + std::to_string(priority);
    char mark[32];
    if (fwmask != 0) {
        std::snprintf(mark, sizeof(mark), " fwmark 0x%x/0x%x", fwmark, fwmask);
        s += mark;
    }
    switch (action) {
    case Action::lookup:
        s += " lookup " + std::to_string(table);
        if (suppress_ifgroup >= 0) s += " suppress_ifgroup " + std::to_string(suppress_ifgroup);
        break;
    case Action::unreachable: s += " unreachable"; break;
    case Action::other: s += " (other action)"; break;
    }
    return s;
}

namespace {

bool valid_family(int family) { return family == AF_INET || family == AF_INET6; }

nlmsghdr* put_rule(char* buf, uint16_t type, uint16_t flags, const PolicyRule& r) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    auto* frh = static_cast<fib_rule_hdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(fib_rule_hdr)));
    frh->family = static_cast<uint8_t>(r.family);
    frh->action = r.action == PolicyRule::Action::lookup ? FR_ACT_TO_TBL : FR_ACT_UNREACHABLE;
    mnl_attr_put_u32(nlh, FRA_PRIORITY, r.priority);
    if (r.fwmask != 0) {
        mnl_attr_put_u32(nlh, FRA_FWMARK, r.fwmark);
        mnl_attr_put_u32(nlh, FRA_FWMASK, r.fwmask);
    }
    if (r.action == PolicyRule::Action::lookup) {
        // The header's 8-bit table field cannot hold ours; FRA_TABLE carries all 32 bits.
        frh->table = r.table < 256 ? static_cast<uint8_t>(r.table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
        mnl_attr_put_u32(nlh, FRA_TABLE, r.table);
        if (r.suppress_ifgroup >= 0) mnl_attr_put_u32(nlh, FRA_SUPPRESS_IFGROUP, static_cast<uint32_t>(r.suppress_ifgroup));
    }
    return nlh;
}

struct RuleDump {
    int family;
    std::vector<PolicyRule>* out;
};

int parse_rule(const nlmsghdr* nlh, void* data) {
    auto* dump = static_cast<RuleDump*>(data);
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(fib_rule_hdr)) return MNL_CB_OK;
    const auto* frh = static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(nlh));
    if (frh->family != dump->family) return MNL_CB_OK;
    PolicyRule r;
    r.family = frh->family;
    r.table = frh->table;
    r.action = frh->action == FR_ACT_TO_TBL        ? PolicyRule::Action::lookup
               : frh->action == FR_ACT_UNREACHABLE ? PolicyRule::Action::unreachable
                                                   : PolicyRule::Action::other;
    bool has_mark = false, has_mask = false;
    for_each_attr(nlh, sizeof(*frh), [&](const nlattr* attr) {
        if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0) return;
        const uint32_t v = mnl_attr_get_u32(attr);
        switch (mnl_attr_get_type(attr)) {
        case FRA_PRIORITY: r.priority = v; break;
        case FRA_FWMARK: r.fwmark = v; has_mark = true; break;
        case FRA_FWMASK: r.fwmask = v; has_mask = true; break;
        case FRA_TABLE: r.table = v; break;
        case FRA_SUPPRESS_IFGROUP: r.suppress_ifgroup = v; break;
        default: break;
        }
    });
    // The kernel leaves out a mask of all ones (the default when only a mark is given).
    if (has_mark && !has_mask) r.fwmask = 0xffffffffu;
    if (r.action != PolicyRule::Action::lookup) r.table = 0;
    dump->out->push_back(r);
    return MNL_CB_OK;
}

nlmsghdr* put_default_route(char* buf, uint16_t type, uint16_t flags, int family, uint32_t table, int oif) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = static_cast<uint8_t>(family);
    rtm->rtm_dst_len = 0;
    rtm->rtm_table = table < 256 ? static_cast<uint8_t>(table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
    rtm->rtm_protocol = RTPROT_STATIC;
    rtm->rtm_type = RTN_UNICAST;
    // A device route without a gateway is link scope in IPv4 (as `ip route` makes it); a
    // delete with scope "nowhere" matches whatever scope the route has.
    rtm->rtm_scope = static_cast<uint8_t>(type == RTM_DELROUTE ? RT_SCOPE_NOWHERE
                                         : family == AF_INET  ? RT_SCOPE_LINK
                                                              : RT_SCOPE_UNIVERSE);
    mnl_attr_put_u32(nlh, RTA_TABLE, table);
    mnl_attr_put_u32(nlh, RTA_OIF, static_cast<uint32_t>(oif));
    return nlh;
}

struct RouteDump {
    int family;
    uint32_t table;
    std::vector<RouteInfo>* out;
};

int parse_route(const nlmsghdr* nlh, void* data) {
    auto* dump = static_cast<RouteDump*>(data);
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(rtmsg)) return MNL_CB_OK;
    const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
    if (rtm->rtm_family != dump->family) return MNL_CB_OK;
    RouteInfo ri;
    ri.family = rtm->rtm_family;
    ri.table = rtm->rtm_table;
    ri.dst_len = rtm->rtm_dst_len;
    for_each_attr(nlh, sizeof(*rtm), [&](const nlattr* attr) {
        if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0) return;
        if (mnl_attr_get_type(attr) == RTA_TABLE) ri.table = mnl_attr_get_u32(attr);
        if (mnl_attr_get_type(attr) == RTA_OIF) ri.oif = static_cast<int>(mnl_attr_get_u32(attr));
    });
    if (ri.table == dump->table) dump->out->push_back(ri);
    return MNL_CB_OK;
}

}  // namespace

Result<std::vector<PolicyRule>> Rtnetlink::rules(int family) {
    if (!valid_family(family)) return fail("rules: family must be IPv4 or IPv6", EINVAL);
    nlmsghdr* nlh = mnl_nlmsg_put_header(sock_.buffer());
    nlh->nlmsg_type = RTM_GETRULE;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    auto* frh = static_cast<fib_rule_hdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(fib_rule_hdr)));
    frh->family = static_cast<uint8_t>(family);
    std::vector<PolicyRule> out;
    RuleDump dump{family, &out};
    auto r = sock_.transact(nlh, "cannot list the policy rules", parse_rule, &dump);
    if (!r) return fail(r.error());
    return out;
}

Result<void> Rtnetlink::add_rule(const PolicyRule& rule) {
    if (!valid_family(rule.family) || rule.action == PolicyRule::Action::other)
        return fail("cannot add rule " + rule.to_string() + ": not a rule the agent writes", EINVAL);
    nlmsghdr* nlh = put_rule(sock_.buffer(), RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, rule);
    return sock_.transact(nlh, "cannot add rule " + rule.to_string());
}

Result<unsigned> Rtnetlink::delete_matching(int family, const RuleMatch& match, bool family_optional) {
    auto existing = rules(family);
    if (!existing) {
        if (family_optional) return 0u;
        return fail(existing.error());
    }
    unsigned removed = 0;
    for (const PolicyRule& r : *existing) {
        if (!match(r)) continue;
        if (auto d = delete_rule(r); !d && !is_gone(d.error())) return fail(d.error());
        ++removed;
    }
    return removed;
}

Result<unsigned> Rtnetlink::delete_rules(int family, const RuleMatch& match) {
    return delete_matching(family, match, false);
}

Result<unsigned> Rtnetlink::delete_rules(const RuleMatch& match) {
    auto v4 = delete_matching(AF_INET, match, false);
    if (!v4) return v4;
    auto v6 = delete_matching(AF_INET6, match, true);  // a kernel without IPv6
    if (!v6) return v6;
    return *v4 + *v6;
}

Result<void> Rtnetlink::delete_rule(const PolicyRule& rule) {
    if (!valid_family(rule.family) || rule.action == PolicyRule::Action::other)
        return fail("cannot delete rule " + rule.to_string() + ": not a rule the agent writes", EINVAL);
    nlmsghdr* nlh = put_rule(sock_.buffer(), RTM_DELRULE, NLM_F_ACK, rule);
    return sock_.transact(nlh, "cannot delete rule " + rule.to_string());
}

Result<void> Rtnetlink::replace_default_route(int family, uint32_t table, const std::string& device) {
    if (!valid_family(family)) return fail("routes: family must be IPv4 or IPv6", EINVAL);
    auto li = link(device);
    if (!li) return fail(li.error());
    nlmsghdr* nlh = put_default_route(sock_.buffer(), RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK, family,
                                      table, li->index);
    return sock_.transact(nlh, std::string("cannot add ") + (family == AF_INET6 ? "IPv6 " : "IPv4 ") + "route default dev " +
                             device + " table " + std::to_string(table));
}

Result<void> Rtnetlink::delete_default_route(int family, uint32_t table, const std::string& device) {
    if (!valid_family(family)) return fail("routes: family must be IPv4 or IPv6", EINVAL);
    auto li = link(device);
    if (!li) return fail(li.error());
    nlmsghdr* nlh = put_default_route(sock_.buffer(), RTM_DELROUTE, NLM_F_ACK, family, table, li->index);
    return sock_.transact(nlh, std::string("cannot delete ") + (family == AF_INET6 ? "IPv6 " : "IPv4 ") +
                             "route default dev " + device + " table " + std::to_string(table));
}

Result<void> Rtnetlink::replace_gateway_route(uint32_t table, const std::string& device, const IfAddress& gateway,
                                              const IfAddress& source) {
    const int family = gateway.family;
    if (!valid_family(family)) return fail("routes: family must be IPv4 or IPv6", EINVAL);
    if (source.family != 0 && source.family != family) return fail("routes: gateway and source differ in family", EINVAL);
    auto li = link(device);
    if (!li) return fail(li.error());
    nlmsghdr* nlh = put_default_route(sock_.buffer(), RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK, family,
                                      table, li->index);
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_get_payload(nlh));
    // A route through a gateway is universe scope; onlink: the gateway is on DEVICE's segment
    // whatever the table holds (it holds nothing else).
    rtm->rtm_scope = RT_SCOPE_UNIVERSE;
    rtm->rtm_flags |= RTNH_F_ONLINK;
    const size_t len = family == AF_INET ? 4 : 16;
    mnl_attr_put(nlh, RTA_GATEWAY, len, gateway.bytes);
    if (source.family != 0) mnl_attr_put(nlh, RTA_PREFSRC, len, source.bytes);
    return sock_.transact(nlh, std::string("cannot add ") + (family == AF_INET6 ? "IPv6 " : "IPv4 ") + "route default via " +
                             gateway.to_string().substr(0, gateway.to_string().find('/')) + " dev " + device + " table " + std::to_string(table));
}

Result<void> Rtnetlink::delete_gateway_route(int family, uint32_t table, const std::string& device) {
    return delete_default_route(family, table, device);
}

Result<std::vector<RouteInfo>> Rtnetlink::routes(int family, uint32_t table) {
    if (!valid_family(family)) return fail("routes: family must be IPv4 or IPv6", EINVAL);
    nlmsghdr* nlh = mnl_nlmsg_put_header(sock_.buffer());
    nlh->nlmsg_type = RTM_GETROUTE;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = static_cast<uint8_t>(family);
    std::vector<RouteInfo> out;
    RouteDump dump{family, table, &out};
    auto r = sock_.transact(nlh, "cannot list the routes of table " + std::to_string(table), parse_route, &dump);
    if (!r) return fail(r.error());
    return out;
}

namespace {

void decode(std::span<const uint8_t> reply, mnl_cb_t cb, void* data) {
    // seq 0 and port 0: no check of either (the reply is not from a socket of ours).
    if (netlink_lengths_ok(reply.data(), reply.size())) (void)mnl_cb_run(reply.data(), reply.size(), 0, 0, cb, data);
}

}  // namespace

void decode_links(std::span<const uint8_t> reply, std::vector<LinkInfo>& out) { decode(reply, parse_link, &out); }

void decode_addresses(std::span<const uint8_t> reply, int index, std::vector<IfAddress>& out) {
    AddrDump dump{index, &out};
    decode(reply, parse_addr, &dump);
}

void decode_rules(std::span<const uint8_t> reply, int family, std::vector<PolicyRule>& out) {
    RuleDump dump{family, &out};
    decode(reply, parse_rule, &dump);
}

void decode_routes(std::span<const uint8_t> reply, int family, uint32_t table, std::vector<RouteInfo>& out) {
    RouteDump dump{family, table, &out};
    decode(reply, parse_route, &dump);
}

}  // namespace wirebridge::nl
