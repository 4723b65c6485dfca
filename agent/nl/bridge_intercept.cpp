// BridgeIntercept: nft text for the interception table, run through libnftables in-process.
#include "nl/bridge_intercept.hpp"

#include <net/if.h>
#include <nftables/libnftables.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <utility>

namespace wirebridge::nl {

namespace {

// nft identifiers may hold letters, digits and '_'; the kernel takes up to 255 bytes, 40 keeps
// `nft list tables` readable.
constexpr size_t kTableMax = 40;
constexpr int kInterceptPriority = 10;

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

std::string intercept_table_for_site(const std::string& site) {
    const std::string name = site.empty() ? std::string("site") : site;
    std::string clean;
    bool changed = false;
    for (char c : name) {
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
            clean += c;
        } else {
            clean += '_';
            changed = true;
        }
    }
    std::string table = "wb_" + clean;
    if (changed || table.size() > kTableMax) {
        // FNV-1a of the site's own name: two sites whose cleaned names meet still differ.
        uint32_t h = 2166136261u;
        for (unsigned char c : name) h = (h ^ c) * 16777619u;
        char tag[8];
        std::snprintf(tag, sizeof(tag), "%04x", h & 0xffff);
        if (table.size() > kTableMax - 5) table.resize(kTableMax - 5);
        table += "_" + std::string(tag);
    }
    return table;
}

std::string nft_match_text(const TrafficSelector& s) {
    std::string out;
    const char* ip = s.family() == AF_INET6 ? "ip6" : "ip";
    auto add = [&out](const std::string& part) { out += (out.empty() ? "" : " ") + part; };
    if (s.src) add(std::string(ip) + " saddr " + s.src->to_string());
    if (s.dst) add(std::string(ip) + " daddr " + s.dst->to_string());
    switch (s.proto) {
    case L4Proto::tcp: add("meta l4proto tcp"); break;
    case L4Proto::udp: add("meta l4proto udp"); break;
    case L4Proto::icmp: add("meta l4proto icmp"); break;
    case L4Proto::icmpv6: add("meta l4proto ipv6-icmp"); break;
    case L4Proto::any: break;
    }
    const char* l4 = s.proto == L4Proto::udp ? "udp" : "tcp";
    if (s.sport) add(std::string(l4) + " sport " + std::to_string(*s.sport));
    if (s.dport) add(std::string(l4) + " dport " + std::to_string(*s.dport));
    return out;
}

std::string intercept_install_text(const InterceptPlan& p, bool replace) {
    std::ostringstream o;
    // One transaction: the old table goes and the new one comes, or neither. (The usual "declare,
    // then delete" idiom does not work here: the kernel refuses to change a table's owner flag,
    // and a bare declaration of an owned table would.)
    if (replace) o << "delete table bridge " << p.table << "\n";
    o << "table bridge " << p.table << " {\n";
    if (p.owned) o << "\tflags owner\n";
    o << "\tchain intercept {\n";
    // After br_netfilter (NF_BR_PRI_BRNF, 0): with bridge-nf-call-iptables the frame has already
    // been through the IP PREROUTING hooks as the host sent it (xt_GWMARK learns the router's MAC
    // as the host's gateway, the interest chain queues and marks); rewritten here, it is then
    // delivered to the bridge device, where the IP hooks do not run a second time.
    o << "\t\ttype filter hook prerouting priority " << kInterceptPriority << "; policy accept;\n";
    // Only unicast frames for another host: broadcast, multicast and frames already for the box
    // are none of ours.
    o << "\t\tmeta pkttype != other return\n";
    // Neighbour discovery is link-local by definition (hop limit 255): a host answering a remote
    // host's solicitation on-link (join_bridge: one segment) must reach it, never be routed.
    o << "\t\ticmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, "
         "nd-redirect } return\n";
    for (const std::string& port : p.skip_ports) o << "\t\tiifname " << quoted(port) << " return\n";
    for (const TrafficSelector& s : p.bypass_selectors) o << "\t\t" << nft_match_text(s) << " return\n";
    for (const TrafficSelector& s : p.queue_selectors)
        o << "\t\t" << nft_match_text(s) << " meta pkttype set host ether daddr set " << p.bridge_mac << " counter\n";
    o << "\t}\n}\n";
    return o.str();
}

std::string intercept_remove_text(const std::string& table) { return "delete table bridge " + table + "\n"; }

Result<BridgeIntercept> BridgeIntercept::open() {
    nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (ctx == nullptr) return fail("nftables: could not open a context (libnftables)");
    if (nft_ctx_buffer_output(ctx) != 0 || nft_ctx_buffer_error(ctx) != 0) {
        nft_ctx_free(ctx);
        return fail("nftables: could not buffer output");
    }
    return BridgeIntercept(ctx);
}

BridgeIntercept::BridgeIntercept(BridgeIntercept&& o) noexcept
    : ctx_(std::exchange(o.ctx_, nullptr)), table_(std::move(o.table_)), replaced_stale_(o.replaced_stale_) {
    o.table_.clear();
}

BridgeIntercept& BridgeIntercept::operator=(BridgeIntercept&& o) noexcept {
    if (this != &o) {
        if (ctx_) nft_ctx_free(ctx_);
        ctx_ = std::exchange(o.ctx_, nullptr);
        table_ = std::move(o.table_);
        o.table_.clear();
        replaced_stale_ = o.replaced_stale_;
    }
    return *this;
}

// Closing the context closes its socket: an owned table goes with it, by design. A table that
// is not owned (failure closed) stays; stopping is the caller's explicit remove().
BridgeIntercept::~BridgeIntercept() {
    if (ctx_) nft_ctx_free(ctx_);
}

Result<std::string> BridgeIntercept::run(const std::string& script) {
    const int rc = nft_run_cmd_from_buffer(ctx_, script.c_str());
    std::string out = nft_ctx_get_output_buffer(ctx_) ? nft_ctx_get_output_buffer(ctx_) : "";
    std::string err = nft_ctx_get_error_buffer(ctx_) ? nft_ctx_get_error_buffer(ctx_) : "";
    if (rc != 0) {
        while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
        return fail("nft refused the bridge rules: " + (err.empty() ? std::string("no message") : err));
    }
    return out;
}

bool BridgeIntercept::exists(const std::string& table) {
    return run("list table bridge " + table + "\n").has_value();
}

Result<void> BridgeIntercept::apply(const InterceptPlan& plan) {
    if (plan.table.empty() || plan.bridge_mac.empty()) return fail("interception plan without table or bridge MAC");
    const bool there = exists(plan.table);
    if (table_.empty()) replaced_stale_ = there;
    auto r = run(intercept_install_text(plan, there));
    if (!r) {
        // An owned table of another live socket cannot be deleted (EPERM; nft may say nothing).
        if (there && table_ != plan.table)
            return fail("nftables table bridge " + plan.table +
                        " could not be replaced; it may belong to another running process (is another agent of "
                        "this site running?): " + r.error().message);
        return fail(r.error());
    }
    table_ = plan.table;
    return {};
}

Result<void> BridgeIntercept::remove() {
    if (table_.empty()) return {};
    if (!exists(table_)) {  // someone deleted it already
        table_.clear();
        return {};
    }
    auto r = run(intercept_remove_text(table_));
    if (!r) return fail(r.error());
    table_.clear();
    return {};
}

Result<bool> BridgeIntercept::remove_stale(const std::string& table) {
    if (!exists(table)) return false;
    auto r = run(intercept_remove_text(table));
    if (!r) return fail(r.error());
    return true;
}

Result<std::string> device_mac(const std::string& device) {
    if (device.size() >= IFNAMSIZ) return fail("device name '" + device + "' is too long");
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail_errno("socket for SIOCGIFHWADDR");
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, device.c_str(), device.size());
    const int rc = ::ioctl(fd, SIOCGIFHWADDR, &ifr);
    const int err = errno;
    ::close(fd);
    if (rc != 0) return fail_errno("the MAC address of " + device, err);
    const auto* m = reinterpret_cast<const unsigned char*>(ifr.ifr_hwaddr.sa_data);
    char text[18];
    std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return std::string(text);
}

}  // namespace wirebridge::nl
