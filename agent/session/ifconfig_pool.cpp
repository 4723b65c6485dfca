// IPv4 address pool for pushed ifconfig.
#include "session/ifconfig_pool.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace wirebridge::session {

std::optional<Ipv4Pool> Ipv4Pool::from_cidr(std::string_view cidr, std::vector<uint32_t> reserved) {
    const size_t slash = cidr.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    const std::string addr(cidr.substr(0, slash));
    unsigned prefix = 0;
    const auto pfx = cidr.substr(slash + 1);
    auto [p, ec] = std::from_chars(pfx.data(), pfx.data() + pfx.size(), prefix);
    if (ec != std::errc{} || p != pfx.data() + pfx.size() || prefix < 8 || prefix > 29) return std::nullopt;
    in_addr a{};
    if (inet_pton(AF_INET, addr.c_str(), &a) != 1) return std::nullopt;
    Ipv4Pool pool;
    pool.netmask_ = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
    const uint32_t net = ntohl(a.s_addr) & pool.netmask_;
    pool.first_ = net + 2;
    pool.last_ = (net | ~pool.netmask_) - 1;
    pool.used_.assign(pool.last_ - pool.first_ + 1, false);
    for (uint32_t r : reserved)
        if (r >= pool.first_ && r <= pool.last_) pool.used_[r - pool.first_] = true;
    return pool;
}

std::optional<uint32_t> Ipv4Pool::acquire() {
    for (size_t i = 0; i < used_.size(); ++i) {
        if (!used_[i]) {
            used_[i] = true;
            return first_ + static_cast<uint32_t>(i);
        }
    }
    return std::nullopt;
}

void Ipv4Pool::release(uint32_t addr) {
    if (addr >= first_ && addr <= last_) used_[addr - first_] = false;
}

size_t Ipv4Pool::available() const { return static_cast<size_t>(std::count(used_.begin(), used_.end(), false)); }

std::string Ipv4Pool::to_string(uint32_t addr) {
    in_addr a{htonl(addr)};
    char buf[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    return buf;
}

}  // namespace wirebridge::session
