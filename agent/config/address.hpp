// Address vocabulary of the config: IP addresses, CIDR prefixes, host:port endpoints, interface names.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wirebridge::config {

// An IPv4 or IPv6 address in network byte order (IPv4 uses the first 4 bytes).
struct IpAddress {
    int family = AF_INET;  // AF_INET or AF_INET6
    std::array<std::uint8_t, 16> bytes{};

    std::string to_string() const;
    bool operator==(const IpAddress&) const = default;
};

// ADDRESS/PREFIX, e.g. 10.200.0.2/24. The address keeps its host bits (it may be an interface address).
struct Cidr {
    IpAddress address;
    int prefix = 0;

    std::string to_string() const;
    IpAddress network() const;          // host bits cleared
    std::uint32_t ipv4_netmask() const;  // host byte order; IPv4 only
};

// HOST:PORT where HOST is an IPv4 address, [IPv6], or a DNS name (resolved when it is used).
struct Endpoint {
    std::string host;  // without brackets
    std::uint16_t port = 0;
    bool host_is_name = false;  // true when host is a DNS name, not an address literal

    std::string to_string() const;
};

// Each parser returns nothing and sets `why` to a plain sentence fragment when the text is not valid.
std::optional<IpAddress> parse_ip(std::string_view text, std::string& why);
std::optional<Cidr> parse_cidr(std::string_view text, std::string& why);
// allow_name: accept a DNS name as host (a client's remote); a listen address must be a literal.
std::optional<Endpoint> parse_endpoint(std::string_view text, bool allow_name, std::string& why);
// Linux interface names: 1..15 bytes, no '/', ':' or whitespace, not "." or "..".
bool valid_ifname(std::string_view name, std::string& why);
// A station's Ethernet address, six hex pairs separated by ':' (either case), e.g.
// 02:00:5e:10:00:01. A group (multicast/broadcast) address is refused: no station sends from one.
using MacAddress = std::array<std::uint8_t, 6>;
std::optional<MacAddress> parse_mac(std::string_view text, std::string& why);
std::string to_string(const MacAddress& mac);

}  // namespace wirebridge::config
