// OpenVPN's compression framing of data channel payloads: sent uncompressed, received decompressed.
//
// What a 2.6 peer does with `comp-lzo`, `compress` and `allow-compression asym` (comp.h):
//
//   comp_lzo  (comp-lzo yes|no|adaptive, compress lzo):   | 0xFA | frame ... |        uncompressed
//                                                         | 0x66 | LZO1X data |        compressed
//   v1 swap   (compress, compress stub, compress lz4):    | 0xFB | frame[1..] | frame[0] |
//                                                         | 0x69 | lz4[1..]   | lz4[0]   |  (LZ4 block)
//   v2        (compress stub-v2, compress lz4-v2):        | frame ... |   (frame[0] != 0x50)
//                                                         | 0x50 | 0x00 | frame ... |  (escaped)
//                                                         | 0x50 | 0x01 | LZ4 block |
//
// wirebridge never compresses (what OpenVPN 2.6 does unless told otherwise: compression over an
// encrypted channel leaks plaintext, VORACLE); it adds the uncompressed framing its peer expects
// and decompresses what a peer that still compresses sends (liblzo2, liblz4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/control_message.hpp"  // CompressionFraming

namespace wirebridge::proto {

// The largest decompressed payload accepted (a 1500-byte TAP MTU frame with VLAN tag, and slack).
inline constexpr std::size_t kMaxDecompressed = 2048;
// Bytes framing may add to a payload on send (v2 escape).
inline constexpr std::size_t kFramingRoom = 2;

// Bytes framing f adds to every packet, as OpenVPN counts them for --mssfix (v2's rare escape
// of a frame starting with 0x50 is not counted).
constexpr std::size_t framing_overhead(CompressionFraming f) {
    return f == CompressionFraming::comp_lzo || f == CompressionFraming::compress_v1 ? 1 : 0;
}

// Frames buf[at, at + len) in place as an uncompressed packet of framing `f`; may write up to
// kFramingRoom bytes past the end. Returns the new length, or 0 when buf has no room.
std::size_t frame_uncompressed(CompressionFraming f, std::span<std::uint8_t> buf, std::size_t at, std::size_t len);

// Undoes framing `f` on a received payload: strips the marker in place, or decompresses into
// `scratch` (at least kMaxDecompressed bytes) and points `payload` there. False: a marker this
// framing does not know, a corrupt compressed block, or an output larger than kMaxDecompressed.
// `compressed` is set when the payload was decompressed.
bool unframe(CompressionFraming f, std::span<std::uint8_t>& payload, std::span<std::uint8_t> scratch, bool& compressed);

}  // namespace wirebridge::proto
