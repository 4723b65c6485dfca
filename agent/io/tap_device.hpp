// TapDevice: a Linux TAP interface (IFF_TAP|IFF_NO_PI), optionally multi-queue, and its basic set-up.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "io/fd.hpp"

namespace wirebridge::io {

class TapDevice {
public:
    // Creates (or attaches to) the TAP device `name` with `queues` queues (IFF_MULTI_QUEUE when > 1),
    // every queue fd non-blocking. The name the kernel gave is name().
    static Result<TapDevice> open(const std::string& name, unsigned queues = 1);

    const std::string& name() const { return name_; }
    int ifindex() const { return ifindex_; }
    unsigned queue_count() const { return static_cast<unsigned>(queues_.size()); }
    int fd(unsigned queue = 0) const { return queues_[queue].get(); }

    // One Ethernet frame (no packet-info header): read into buf, or write it whole.
    Result<IoCount> read_frame(std::span<std::uint8_t> buf, unsigned queue = 0);
    Result<IoCount> write_frame(std::span<const std::uint8_t> frame, unsigned queue = 0);

    Result<void> set_up(bool up);
    Result<void> set_mtu(unsigned mtu);
    Result<std::array<std::uint8_t, 6>> mac() const;
    // Adds ADDRESS/PREFIX (IPv4 or IPv6, bytes in network order) to the device; an IPv4 address
    // replaces the previous one (SIOCSIFADDR semantics).
    Result<void> set_ipv4(std::uint32_t address_be, int prefix);
    Result<void> add_ipv6(const std::array<std::uint8_t, 16>& address, int prefix);

private:
    std::string name_;
    int ifindex_ = 0;
    std::vector<Fd> queues_;
};

}  // namespace wirebridge::io
