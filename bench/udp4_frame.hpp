// bench/udp4_frame.hpp: whole Ethernet + IPv4 + UDP frames for wb-udpflood's `--via packet`, built
// in place so the sender can hand them to an AF_PACKET socket as they stand.
//
//   | Ethernet (14) | IPv4 (20, DF, no options) | UDP (8) | payload |
//
// The frame is what the kernel's own UDP send would have put on the link: the IPv4 header and
// UDP checksums are right (a receiving stack drops a datagram whose checksum is wrong, and
// wirebridge's TAP writer merges only datagrams whose checksum it verified), the IP id counts up.
// Pure and allocation-free: the tool's selftest checks it against a checksum computed apart.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace wirebridge::bench {

inline constexpr std::size_t kEthHeader = 14;
inline constexpr std::size_t kIpv4Header = 20;
inline constexpr std::size_t kUdpHeader = 8;
inline constexpr std::size_t kUdp4FrameHead = kEthHeader + kIpv4Header + kUdpHeader;  // 42

// Where a frame goes: the link's MACs and the IPv4 addresses, in network byte order.
struct Udp4Path {
    std::array<std::uint8_t, 6> src_mac{};
    std::array<std::uint8_t, 6> dst_mac{};
    std::array<std::uint8_t, 4> src_ip{};
    std::array<std::uint8_t, 4> dst_ip{};
    std::uint16_t dst_port = 0;  // host byte order
};

namespace frame_detail {
inline void put16(std::uint8_t* p, std::uint32_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
// The 16-bit one's complement sum of bytes (big-endian words; an odd last byte padded with zero),
// added to sum, not yet folded.
inline std::uint32_t add_words(std::uint32_t sum, const std::uint8_t* p, std::size_t n) {
    for (; n >= 2; p += 2, n -= 2) {
        sum += static_cast<std::uint32_t>(p[0]) << 8 | p[1];
    }
    if (n == 1) {
        sum += static_cast<std::uint32_t>(p[0]) << 8;
    }
    return sum;
}
inline std::uint16_t fold(std::uint32_t sum) {
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(~sum & 0xffff);
}
}  // namespace frame_detail

// Writes the Ethernet, IPv4 and UDP headers in front of a payload already at
// frame[kUdp4FrameHead, kUdp4FrameHead + payload_len), checksums included. frame must hold both;
// the payload (at most 65507 bytes) is read for the UDP checksum, never changed. False, nothing
// written, when it does not fit.
inline bool write_udp4_headers(std::span<std::uint8_t> frame, std::size_t payload_len, const Udp4Path& path,
                               std::uint16_t src_port, std::uint16_t ip_id) {
    using namespace frame_detail;
    if (payload_len > 65507 || frame.size() < kUdp4FrameHead + payload_len) {
        return false;
    }
    std::uint8_t* eth = frame.data();
    std::memcpy(eth, path.dst_mac.data(), 6);
    std::memcpy(eth + 6, path.src_mac.data(), 6);
    put16(eth + 12, 0x0800);

    std::uint8_t* ip = eth + kEthHeader;
    const auto ip_len = static_cast<std::uint32_t>(kIpv4Header + kUdpHeader + payload_len);
    ip[0] = 0x45;  // version 4, 5 words
    ip[1] = 0;     // DSCP/ECN
    put16(ip + 2, ip_len);
    put16(ip + 4, ip_id);
    put16(ip + 6, 0x4000);  // DF, as the kernel's UDP sends with path MTU discovery on
    ip[8] = 64;             // TTL
    ip[9] = 17;             // UDP
    put16(ip + 10, 0);
    std::memcpy(ip + 12, path.src_ip.data(), 4);
    std::memcpy(ip + 16, path.dst_ip.data(), 4);
    put16(ip + 10, fold(add_words(0, ip, kIpv4Header)));

    std::uint8_t* udp = ip + kIpv4Header;
    const auto udp_len = static_cast<std::uint32_t>(kUdpHeader + payload_len);
    put16(udp, src_port);
    put16(udp + 2, path.dst_port);
    put16(udp + 4, udp_len);
    put16(udp + 6, 0);
    // Pseudo-header (addresses, protocol, UDP length), then the UDP header and payload.
    std::uint32_t sum = add_words(0, ip + 12, 8) + 17 + udp_len;
    sum = add_words(sum, udp, udp_len);
    std::uint16_t check = fold(sum);
    put16(udp + 6, check == 0 ? 0xffff : check);  // 0 would mean "no checksum" (RFC 768)
    return true;
}

}  // namespace wirebridge::bench
