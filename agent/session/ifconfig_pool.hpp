// IPv4 address pool for the server's pushed `ifconfig` (one address per client), as OpenVPN's
// ifconfig pool: a client gets back the address its certificate CN had before (also across restarts
// with a persist file, as `ifconfig-pool-persist`), otherwise the free address released longest ago.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace wirebridge::session {

class Ipv4Pool {
public:
    // "10.200.0.0/24": hands out .2 .. .254 (network, .1 = the server by convention, and
    // broadcast excluded), plus `reserved` addresses (host order) never handed out.
    static std::optional<Ipv4Pool> from_cidr(std::string_view cidr, std::vector<uint32_t> reserved = {});
    // OpenVPN's server-bridge GW MASK START END: first..last (host order, inclusive), pushed with
    // `netmask`; nullopt when the range is empty, reversed or larger than a /16.
    static std::optional<Ipv4Pool> from_range(uint32_t first, uint32_t last, uint32_t netmask,
                                              std::vector<uint32_t> reserved = {});

    // An address for a client with certificate CN `cn`: the one this CN held last if it is free,
    // else the free address released longest ago (never used ones first). With duplicate_cn
    // (`by_cn` false), simply the first free one, as OpenVPN.
    std::optional<uint32_t> acquire(const std::string& cn = {}, bool by_cn = true);
    void release(uint32_t addr);
    uint32_t netmask() const { return netmask_; }
    size_t available() const;

    // ifconfig-pool-persist: reads "CN,ADDRESS[,IPV6]" lines (OpenVPN's format); addresses outside
    // the pool or malformed lines are skipped and counted in `skipped`. A missing file is empty.
    Result<void> load(const std::string& path, size_t* skipped = nullptr);
    // Writes every CN -> address the pool remembers, atomically (temporary file + rename).
    Result<void> save(const std::string& path) const;
    // The CN that holds or last held addr ("" for none).
    std::string owner(uint32_t addr) const;

    static std::string to_string(uint32_t addr);  // dotted quad of a host-order address

private:
    struct Slot {
        bool used = false;
        bool reserved = false;
        std::string cn;         // last holder
        uint64_t released = 0;  // release order: 0 = never held
    };
    uint32_t first_ = 0, last_ = 0, netmask_ = 0;
    uint64_t clock_ = 0;
    std::vector<Slot> slots_;
};

}  // namespace wirebridge::session
