// MSS clamping (OpenVPN's --mssfix): lowers the TCP MSS option of SYNs crossing the tunnel so that
// every full-sized segment, once encapsulated, fits the path without IP fragmentation.
//
//   Ethernet frame as it crosses the tunnel (TAP -> seal, open -> TAP):
//   | dst | src | [802.1Q tag] | 0x0800 | IPv4 (no fragment) | TCP, SYN set | options: ... | 2 | 4 | MSS (16) | ...
//   | dst | src | [802.1Q tag] | 0x86dd | IPv6, next header TCP | TCP, SYN set | ...
//
// An MSS above the limit is replaced and the TCP checksum updated incrementally (RFC 1624), so a
// frame is never copied or re-summed; every other frame is left as it is. IPv6 gets the limit
// minus 20 (its header is 20 bytes longer than IPv4's), as OpenVPN does.
//
// The limit, as OpenVPN 2.6 computes it (mss.c frame_calculate_mssfix): with the default
// `mssfix 1492 mtu`, a full TCP segment plus its Ethernet, IP and TCP headers plus the tunnel's
// overhead (the data packet's header, packet-id, tag or HMAC/IV/padding, the outer IP and UDP/TCP
// headers) is at most 1492 bytes: for AES-GCM over UDP/IPv4 with DATA_V2 the limit is 1368 (IPv6
// inside: 1348). OpenVPN counts 32 bytes for the Ethernet header (its `tun-mtu-extra`, room for
// tags), not 14; we count the same so that both ends of a link clamp to the same value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace wirebridge::proto {

// --mssfix: off (`mssfix 0`); `mssfix N mtu` (N is the outer IP packet: the default, N = 1492);
// `mssfix N` (N is the UDP/TCP payload, outer headers not counted); `mssfix N fixed` (MSS = N - 40).
struct MssFix {
    enum class Mode : std::uint8_t { off, mtu, payload, fixed };
    Mode mode = Mode::mtu;
    std::uint16_t size = 1492;
};

// What the tunnel adds around a frame, for the limit.
struct TunnelOverhead {
    bool tcp = false;            // link over TCP: 2-byte length, 20-byte TCP header
    bool ipv6 = false;           // outer IPv6 (40-byte header, not 20)
    bool data_v2 = true;         // 4-byte header (DATA_V1: 1)
    // Data channel: AEAD (packet-id 4 + tag 16), or CBC + HMAC (hmac_size + IV of cbc_block bytes,
    // packet-id inside the encrypted part, padding to cbc_block).
    std::size_t hmac_size = 0;   // 0: AEAD
    std::size_t cbc_block = 0;   // CBC block (and IV) size, 16 for AES
    std::size_t framing = 0;     // compression framing bytes a packet always carries (comp-lzo, v1: 1)
};

// The MSS limit for IPv4 segments (0: no clamping), OpenVPN's frame->mss_fix.
std::uint16_t mss_limit(const MssFix& cfg, const TunnelOverhead& t);

enum class MssResult : std::uint8_t { untouched, clamped };

// Clamps the MSS option of a TCP SYN (or SYN-ACK) carried in `frame` (an Ethernet frame, at most
// one 802.1Q tag) to `limit` (IPv6: limit - 20). limit 0 does nothing. Never reads outside frame.
MssResult clamp_mss(std::span<std::uint8_t> frame, std::uint16_t limit);

}  // namespace wirebridge::proto
