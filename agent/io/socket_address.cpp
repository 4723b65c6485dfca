// SocketAddress parsing, resolution, comparison and printing.
#include "io/socket_address.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>

namespace wirebridge::io {

std::uint16_t SocketAddress::port() const {
    if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
    if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
    return 0;
}

std::string SocketAddress::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (family() == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf, sizeof buf);
        return std::string(buf) + ":" + std::to_string(port());
    }
    if (family() == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buf, sizeof buf);
        return "[" + std::string(buf) + "]:" + std::to_string(port());
    }
    return "(no address)";
}

bool SocketAddress::operator==(const SocketAddress& o) const {
    if (family() != o.family()) return false;
    if (family() == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&storage);
        const auto* b = reinterpret_cast<const sockaddr_in*>(&o.storage);
        return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
    }
    if (family() == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage);
        const auto* b = reinterpret_cast<const sockaddr_in6*>(&o.storage);
        return a->sin6_port == b->sin6_port && std::memcmp(&a->sin6_addr, &b->sin6_addr, 16) == 0;
    }
    return false;
}

Result<SocketAddress> SocketAddress::from_numeric(const std::string& host, std::uint16_t port) {
    SocketAddress a;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        a.length = sizeof(sockaddr_in);
        return a;
    }
    if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        a.length = sizeof(sockaddr_in6);
        return a;
    }
    return fail("'" + host + "' is not a numeric IP address", EINVAL);
}

Result<SocketAddress> SocketAddress::resolve(const std::string& host, std::uint16_t port) {
    auto numeric = from_numeric(host, port);
    if (numeric) return numeric;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
    if (rc != 0) return fail("cannot resolve '" + host + "': " + gai_strerror(rc), EHOSTUNREACH);
    SocketAddress a;
    std::memcpy(&a.storage, res->ai_addr, res->ai_addrlen);
    a.length = res->ai_addrlen;
    freeaddrinfo(res);
    if (a.family() == AF_INET) reinterpret_cast<sockaddr_in*>(&a.storage)->sin_port = htons(port);
    else reinterpret_cast<sockaddr_in6*>(&a.storage)->sin6_port = htons(port);
    return a;
}

}  // namespace wirebridge::io
