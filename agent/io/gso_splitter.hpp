// GsoSplitter: turns one read from an offloading TAP (virtio-net header + up to 64 KB frame) into wire frames.
//
//   read from an IFF_VNET_HDR TAP:
//   | virtio_net_hdr (10) | Ethernet | [802.1Q] | IPv4/IPv6 | TCP | payload (n * gso_size) ... |
//
// With TUNSETOFFLOAD (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) the kernel hands the TAP whole TCP
// send windows as one super-frame instead of pushing every segment through its stack, and leaves
// checksums to us. Cutting them into MSS-sized frames here costs a copy and a checksum per segment,
// which is far less than one read() and one pass through the kernel's transmit path per segment.
// What goes on the wire is the same sequence of ordinary frames the kernel would have produced
// (IPv4 id + i, seq + i * mss, FIN/PSH on the last segment, CWR on the first), so peers (stock
// OpenVPN included) see nothing new.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace wirebridge::io {

inline constexpr std::size_t kVnetHeaderSize = 10;  // struct virtio_net_hdr (legacy, host byte order)
// The largest read an offloading TAP can return: a 64 KB GSO frame plus link headers and the vnet header.
inline constexpr std::size_t kMaxSuperFrame = 65536 + 256;

// RFC 1071 sum of data folded into 16 bits, not complemented; `initial` chains partial sums.
std::uint16_t ones_complement_sum(std::span<const std::uint8_t> data, std::uint32_t initial = 0);

class GsoSplitter {
public:
    enum class Status : std::uint8_t { ok, malformed, unsupported };

    // `read` is what one read() on the TAP returned, vnet header first. It must stay valid until
    // next() returns 0. A frame without GSO comes out as itself, with its checksum completed if the
    // kernel left it partial.
    Status start(std::span<const std::uint8_t> read);

    // Writes the next wire frame into out and returns its length; 0 when all were produced (or out
    // is smaller than the next frame, which start() ruled out for out of kMaxWireFrame bytes).
    std::size_t next(std::span<std::uint8_t> out);

    // Frames that start() found: 1 without GSO.
    std::size_t count() const { return count_; }

    // The largest frame next() produces from what the kernel sends an MTU-1500 TAP, with room for tags.
    static constexpr std::size_t kMaxWireFrame = 1600;

private:
    std::span<const std::uint8_t> frame_;  // after the vnet header
    bool needs_csum_ = false;
    std::size_t csum_start_ = 0, csum_offset_ = 0;
    // GSO state.
    bool gso_ = false;
    bool ipv6_ = false;
    std::size_t l3_ = 0;      // offset of the IP header
    std::size_t l4_ = 0;      // offset of the TCP header
    std::size_t hdr_len_ = 0; // all headers, up to the TCP payload
    std::size_t mss_ = 0;
    std::size_t count_ = 0, index_ = 0;
};

}  // namespace wirebridge::io
