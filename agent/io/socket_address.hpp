// SocketAddress: an IPv4/IPv6 socket address with parsing, resolution and printing.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace wirebridge::io {

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;

    int family() const { return storage.ss_family; }
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
    sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
    std::uint16_t port() const;
    std::string to_string() const;  // 1.2.3.4:5 or [::1]:5
    bool operator==(const SocketAddress& o) const;

    // A numeric host only (no DNS).
    static Result<SocketAddress> from_numeric(const std::string& host, std::uint16_t port);
    // Numeric or a DNS name (blocking getaddrinfo; start-up and reconnect time only).
    static Result<SocketAddress> resolve(const std::string& host, std::uint16_t port);
};

}  // namespace wirebridge::io
