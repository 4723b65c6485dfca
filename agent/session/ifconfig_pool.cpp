// IPv4 address pool for pushed ifconfig, with CN memory and OpenVPN's ifconfig-pool-persist file.
#include "session/ifconfig_pool.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

namespace wirebridge::session {

namespace {
constexpr uint32_t kMaxPoolSize = 65536;
}

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
    const uint32_t mask = ~uint32_t{0} << (32 - prefix);
    const uint32_t net = ntohl(a.s_addr) & mask;
    const uint32_t last = (net | ~mask) - 1;
    // Larger prefixes hand out their first 64k addresses (a hub with more clients is unlikely).
    return from_range(net + 2, std::min(last, net + 2 + kMaxPoolSize - 1), mask, std::move(reserved));
}

std::optional<Ipv4Pool> Ipv4Pool::from_range(uint32_t first, uint32_t last, uint32_t netmask,
                                             std::vector<uint32_t> reserved) {
    if (first > last || last - first >= kMaxPoolSize) return std::nullopt;
    Ipv4Pool pool;
    pool.first_ = first;
    pool.last_ = last;
    pool.netmask_ = netmask;
    pool.slots_.assign(last - first + 1, Slot{});
    for (uint32_t r : reserved)
        if (r >= first && r <= last) pool.slots_[r - first].reserved = true;
    if (std::all_of(pool.slots_.begin(), pool.slots_.end(), [](const Slot& s) { return s.reserved; }))
        return std::nullopt;
    return pool;
}

std::optional<uint32_t> Ipv4Pool::acquire(const std::string& cn, bool by_cn) {
    std::optional<size_t> pick;
    for (size_t i = 0; i < slots_.size(); ++i) {
        const Slot& s = slots_[i];
        if (s.used || s.reserved) continue;
        if (!by_cn) {
            pick = i;
            break;
        }
        if (!cn.empty() && s.cn == cn) {
            pick = i;
            break;
        }
        // Never held (released 0, no CN) before any released one; among released, the oldest.
        // An address remembered for another CN (from the persist file) counts as released at 0
        // only after the never-held ones.
        auto rank = [](const Slot& x) { return x.cn.empty() && x.released == 0 ? 0 : x.released + 1; };
        if (!pick || rank(s) < rank(slots_[*pick])) pick = i;
    }
    if (!pick) return std::nullopt;
    Slot& s = slots_[*pick];
    s.used = true;
    if (!cn.empty()) s.cn = cn;
    return first_ + static_cast<uint32_t>(*pick);
}

void Ipv4Pool::release(uint32_t addr) {
    if (addr < first_ || addr > last_) return;
    Slot& s = slots_[addr - first_];
    s.used = false;
    s.released = ++clock_;
}

size_t Ipv4Pool::available() const {
    return static_cast<size_t>(std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return !s.used && !s.reserved; }));
}

std::string Ipv4Pool::owner(uint32_t addr) const {
    if (addr < first_ || addr > last_) return {};
    return slots_[addr - first_].cn;
}

Result<void> Ipv4Pool::load(const std::string& path, size_t* skipped) {
    size_t bad = 0;
    std::ifstream in(path);
    if (!in) {
        if (errno == ENOENT) {
            if (skipped) *skipped = 0;
            return {};
        }
        return fail("pool persist file '" + path + "': cannot read: " + std::strerror(errno), errno);
    }
    std::string line;
    for (size_t n = 0; std::getline(in, line) && n < 1000000; ++n) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        const size_t c1 = line.find(',');
        if (c1 == std::string::npos || c1 == 0) {
            ++bad;
            continue;
        }
        const size_t c2 = line.find(',', c1 + 1);
        const std::string cn = line.substr(0, c1);
        const std::string ip = line.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1);
        in_addr a{};
        if (ip.empty()) continue;  // an IPv6-only entry: nothing for this pool
        if (inet_pton(AF_INET, ip.c_str(), &a) != 1) {
            ++bad;
            continue;
        }
        const uint32_t h = ntohl(a.s_addr);
        if (h < first_ || h > last_ || slots_[h - first_].reserved) {
            ++bad;
            continue;
        }
        // One address per CN: a later line for the same CN wins.
        for (Slot& s : slots_)
            if (s.cn == cn) s.cn.clear();
        slots_[h - first_].cn = cn;
    }
    if (skipped) *skipped = bad;
    return {};
}

Result<void> Ipv4Pool::save(const std::string& path) const {
    std::string text;
    for (size_t i = 0; i < slots_.size(); ++i)
        if (!slots_[i].cn.empty()) text += slots_[i].cn + "," + to_string(first_ + static_cast<uint32_t>(i)) + ",\n";
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return fail("pool persist file '" + tmp + "': cannot write: " + std::strerror(errno), errno);
    size_t off = 0;
    while (off < text.size()) {
        const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int e = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            return fail("pool persist file '" + tmp + "': write failed: " + std::strerror(e), e);
        }
        off += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        return fail("pool persist file '" + tmp + "': " + std::strerror(e), e);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        return fail("pool persist file '" + path + "': cannot replace: " + std::strerror(e), e);
    }
    return {};
}

std::string Ipv4Pool::to_string(uint32_t addr) {
    in_addr a{htonl(addr)};
    char buf[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    return buf;
}

}  // namespace wirebridge::session
