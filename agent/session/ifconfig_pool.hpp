// IPv4 address pool for the server's pushed `ifconfig` (one address per client).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wirebridge::session {

class Ipv4Pool {
public:
    // "10.200.0.0/24": hands out .2 .. .254 (network, .1 = the server by convention, and
    // broadcast excluded), plus `reserved` addresses (host order) never handed out.
    static std::optional<Ipv4Pool> from_cidr(std::string_view cidr, std::vector<uint32_t> reserved = {});

    std::optional<uint32_t> acquire();
    void release(uint32_t addr);
    uint32_t netmask() const { return netmask_; }
    size_t available() const;

    static std::string to_string(uint32_t addr);  // dotted quad of a host-order address

private:
    uint32_t first_ = 0, last_ = 0, netmask_ = 0;
    std::vector<bool> used_;
};

}  // namespace wirebridge::session
