// Parsing and printing of the config's address forms; strict, with a reason for every refusal.
#include "config/address.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <cstdio>

namespace wirebridge::config {

static int family_bits(int family) { return family == AF_INET ? 32 : 128; }

std::string IpAddress::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(family, bytes.data(), buf, sizeof buf);
    return buf;
}

std::string Cidr::to_string() const { return address.to_string() + "/" + std::to_string(prefix); }

IpAddress Cidr::network() const {
    IpAddress n = address;
    const int total = family_bits(address.family);
    for (int bit = prefix; bit < total; ++bit) n.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
    return n;
}

std::uint32_t Cidr::ipv4_netmask() const {
    return prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
}

std::string Endpoint::to_string() const {
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

std::optional<IpAddress> parse_ip(std::string_view text, std::string& why) {
    const std::string s(text);
    IpAddress a;
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
        a.family = AF_INET;
        return a;
    }
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
        a.family = AF_INET6;
        return a;
    }
    why = "'" + s + "' is not an IPv4 or IPv6 address";
    return std::nullopt;
}

std::optional<Cidr> parse_cidr(std::string_view text, std::string& why) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        why = "'" + std::string(text) + "' has no /PREFIX (write it as ADDRESS/PREFIX, e.g. 10.0.0.1/24)";
        return std::nullopt;
    }
    auto ip = parse_ip(text.substr(0, slash), why);
    if (!ip) return std::nullopt;
    const auto len_text = text.substr(slash + 1);
    int prefix = -1;
    const auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), prefix);
    const int max = family_bits(ip->family);
    if (len_text.empty() || ec != std::errc{} || end != len_text.data() + len_text.size() || prefix < 0 ||
        prefix > max) {
        why = "'" + std::string(text) + "' has a prefix length that is not a number from 0 to " +
              std::to_string(max);
        return std::nullopt;
    }
    return Cidr{*ip, prefix};
}

static bool valid_dns_name(std::string_view name) {
    if (name.empty() || name.size() > 253) return false;
    std::size_t label = 0;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        const bool ok = std::isalnum(static_cast<unsigned char>(c)) || (c == '-' && label > 0);
        if (!ok || ++label > 63) return false;
    }
    return name.back() != '-';
}

std::optional<Endpoint> parse_endpoint(std::string_view text, bool allow_name, std::string& why) {
    const std::string quoted = "'" + std::string(text) + "'";
    std::string_view host, port_text;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            why = quoted + " is not HOST:PORT (an IPv6 host is written [ADDRESS]:PORT)";
            return std::nullopt;
        }
        host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos || text.find(':') != colon) {
            why = quoted + " is not HOST:PORT (an IPv6 host is written [ADDRESS]:PORT)";
            return std::nullopt;
        }
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
    }
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
        why = quoted + " has a port that is not a number from 1 to 65535";
        return std::nullopt;
    }
    Endpoint ep;
    ep.port = static_cast<std::uint16_t>(port);
    ep.host = std::string(host);
    std::string ip_why;
    if (parse_ip(host, ip_why)) return ep;
    if (!text.empty() && text.front() == '[') {
        why = quoted + " has '" + ep.host + "' in brackets, which is not an IPv6 address";
        return std::nullopt;
    }
    if (!allow_name) {
        why = quoted + " does not start with an IP address";
        return std::nullopt;
    }
    if (!valid_dns_name(host)) {
        why = quoted + " has a host that is neither an IP address nor a DNS name";
        return std::nullopt;
    }
    ep.host_is_name = true;
    return ep;
}

bool valid_ifname(std::string_view name, std::string& why) {
    const std::string quoted = "'" + std::string(name) + "'";
    if (name.empty() || name.size() > 15) {
        why = quoted + " is not a valid interface name (1 to 15 characters)";
        return false;
    }
    if (name == "." || name == "..") {
        why = quoted + " is not a valid interface name";
        return false;
    }
    for (const char c : name) {
        if (c == '/' || c == ':' || c == '%' || std::isspace(static_cast<unsigned char>(c)) ||
            !std::isprint(static_cast<unsigned char>(c))) {
            why = quoted + " is not a valid interface name (no '/', ':', '%' or spaces)";
            return false;
        }
    }
    return true;
}


std::optional<MacAddress> parse_mac(std::string_view text, std::string& why) {
    MacAddress mac{};
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    bool ok = text.size() == 17;
    for (std::size_t i = 0; ok && i < 6; ++i) {
        const int hi = hex(text[i * 3]), lo = hex(text[i * 3 + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && text[i * 3 + 2] != ':')) ok = false;
        else mac[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    if (!ok) {
        why = "'" + std::string(text) + "' is not a MAC address (six hex pairs separated by ':', e.g. 02:00:5e:10:00:01)";
        return std::nullopt;
    }
    if (mac[0] & 1) {
        why = "'" + std::string(text) + "' is a group (multicast or broadcast) address: no station sends from one";
        return std::nullopt;
    }
    return mac;
}

std::string to_string(const MacAddress& mac) {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    return buf;
}
}  // namespace wirebridge::config
