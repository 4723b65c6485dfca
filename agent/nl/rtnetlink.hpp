// Rtnetlink: the link and address requests the appliance needs, over libmnl (no `ip` calls).
#pragma once

#include <net/if.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"

struct mnl_socket;
struct nlmsghdr;

namespace wirebridge::nl {

// What the kernel says about one network device.
struct LinkInfo {
    int index = 0;
    std::string name;
    std::string kind;   // IFLA_INFO_KIND: "bridge", "veth", "tun", ... or "" for plain devices
    int master = 0;     // ifindex of the bridge it is enslaved to, 0 if none
    bool up = false;    // IFF_UP
    unsigned mtu = 0;
    uint32_t group = 0; // IFLA_GROUP: the interface group (0 is the default group)
};

// A policy routing rule (`ip rule`) of one family, as far as the agent writes and reads them:
// match on a firewall mark under a mask, then look up a table or answer unreachable.
struct PolicyRule {
    enum class Action { lookup, unreachable, other };  // other: read only (goto, blackhole, ...)
    int family = 0;             // AF_INET or AF_INET6
    uint32_t priority = 0;
    uint32_t fwmark = 0, fwmask = 0;  // fwmask 0: no mark match
    Action action = Action::lookup;
    uint32_t table = 0;         // for lookup
    // lookup only: a route whose device is in this interface group does not count (the
    // lookup goes on with the next rule), as `ip rule ... suppress_ifgroup`. -1: none.
    int64_t suppress_ifgroup = -1;

    bool operator==(const PolicyRule& o) const = default;
    std::string to_string() const;  // `ip rule` style, for messages
};

// A route of the agent's own table, as far as it reads them: the destination prefix and the
// output device (0 for routes without one, e.g. unreachable).
struct RouteInfo {
    int family = 0;
    uint32_t table = 0;
    unsigned dst_len = 0;
    int oif = 0;
};

// An IPv4 or IPv6 address with its prefix, e.g. 192.0.2.2/24.
struct IfAddress {
    int family = 0;                 // AF_INET or AF_INET6
    unsigned char bytes[16] = {};   // network byte order; 4 used for AF_INET
    unsigned prefix_len = 0;

    // Parses "ADDR/LEN" (IPv4 or IPv6); refuses anything else with a sentence.
    static Result<IfAddress> parse(const std::string& cidr);
    std::string to_string() const;
    bool operator==(const IfAddress& o) const;
};

// The decoders of the kernel's answers that Rtnetlink uses (links(), addresses(), rules(),
// routes()), over a whole reply (one or more messages, as one recv returns it); they append what
// they understood and skip what they do not (tests and fuzzing feed them bytes directly).
void decode_links(std::span<const uint8_t> reply, std::vector<LinkInfo>& out);
void decode_addresses(std::span<const uint8_t> reply, int index, std::vector<IfAddress>& out);
void decode_rules(std::span<const uint8_t> reply, int family, std::vector<PolicyRule>& out);
void decode_routes(std::span<const uint8_t> reply, int family, uint32_t table, std::vector<RouteInfo>& out);

// One rtnetlink socket. Each call is one request and waits for the kernel's answer (acked), so
// an error names the request that failed. Not thread-safe; set-up runs on one thread.
class Rtnetlink {
public:
    static Result<Rtnetlink> open();
    Rtnetlink(Rtnetlink&&) noexcept;
    Rtnetlink& operator=(Rtnetlink&&) noexcept;
    ~Rtnetlink();

    // An error with code ENODEV when the device does not exist.
    Result<LinkInfo> link(const std::string& name);
    Result<std::vector<LinkInfo>> links();

    Result<void> create_bridge(const std::string& name);
    Result<void> delete_link(const std::string& name);
    Result<void> set_up(const std::string& name, bool up);
    // master_name empty: release the device from its bridge.
    Result<void> set_master(const std::string& name, const std::string& master_name);
    Result<void> set_mtu(const std::string& name, unsigned mtu);

    // Interface group of a device (IFLA_GROUP).
    Result<void> set_group(const std::string& name, uint32_t group);

    Result<std::vector<IfAddress>> addresses(const std::string& name);
    Result<void> add_address(const std::string& name, const IfAddress& addr);
    Result<void> delete_address(const std::string& name, const IfAddress& addr);

    // Policy rules (RTM_NEWRULE/RTM_DELRULE). add_rule refuses an identical rule (EEXIST);
    // delete_rule removes the first rule that matches every attribute given (ENOENT if none).
    Result<std::vector<PolicyRule>> rules(int family);
    Result<void> add_rule(const PolicyRule& rule);
    Result<void> delete_rule(const PolicyRule& rule);

    // `default dev DEVICE table TABLE`, created or replacing the table's default route.
    Result<void> replace_default_route(int family, uint32_t table, const std::string& device);
    // Removes that exact route (ENOENT/ESRCH if it is not there).
    Result<void> delete_default_route(int family, uint32_t table, const std::string& device);
    // `default via GATEWAY dev DEVICE onlink [src SOURCE] table TABLE` (the uplink, nl/uplink_route),
    // created or replacing the table's default route; `source` with family 0: none.
    Result<void> replace_gateway_route(uint32_t table, const std::string& device, const IfAddress& gateway,
                                       const IfAddress& source);
    // Removes the table's default route through DEVICE (whatever its gateway; ENOENT/ESRCH if none).
    Result<void> delete_gateway_route(int family, uint32_t table, const std::string& device);
    // The routes of one table (all of them, not only the agent's).
    Result<std::vector<RouteInfo>> routes(int family, uint32_t table);

private:
    Rtnetlink() = default;
    // Sends one request and runs the answer (or dump) through cb; returns the kernel's error.
    using Callback = int (*)(const nlmsghdr*, void*);
    Result<void> transact(nlmsghdr* nlh, const std::string& what, Callback cb = nullptr,
                          void* data = nullptr);
    // Starts a request in buf_: header plus an ifinfomsg for the device (index 0: none yet).
    nlmsghdr* begin_link(uint16_t type, uint16_t flags, int index);
    Result<void> change_link(const std::string& name, const std::string& what,
                             unsigned flags, unsigned change, int master, unsigned mtu);

    mnl_socket* sock_ = nullptr;
    unsigned port_ = 0;
    unsigned seq_ = 0;
    std::unique_ptr<char[]> buf_;
};

}  // namespace wirebridge::nl
