// OpenVPN's data channel fragmentation (--fragment, fragment.c): the header, how a payload is cut,
// and the reassembly of what a peer cut.
//
// With `fragment N` every data payload (after the compression framing, before encryption) starts
// with a 4-byte header, network order; each fragment is then encrypted as a packet of its own:
//
//    31  29 28                  15 14        10 9              2 1    0
//   | 0 0 0 |  size / 4 (14 bits)  | frag id (5) |  seq id (8)   | type |
//
//   type 0 WHOLE     an uncut payload: seq id and frag id must be 0
//   type 1 NOTLAST   fragment `frag id` of payload `seq id`; every such fragment is `size` bytes
//                    (its size field is unused: the receiver takes its length)
//   type 2 LAST      the last fragment; `size` (a multiple of 4) is the size of the others, so
//                    the receiver knows where each fragment goes before it has them all
//   type 3 TEST      never sent by OpenVPN: an error
//
// A payload is cut into at most 32 fragments of equal size (rounded to 4) except the last.
// The receiver reassembles up to 25 payloads at once, by seq id in a sliding window: a seq id
// 25 or more ahead of the newest starts afresh; a payload not completed within 10 s is dropped.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "proto/mss_clamp.hpp"  // TunnelOverhead

namespace wirebridge::proto {

inline constexpr std::size_t kFragmentHeader = 4;
inline constexpr std::size_t kMaxFragments = 32;      // MAX_FRAGS: frag id is 5 bits
inline constexpr std::size_t kReassemblySlots = 25;   // N_FRAG_BUF
inline constexpr std::int64_t kFragmentTtlSec = 10;   // FRAG_TTL_SEC
// The largest reassembled payload (a 1500-byte MTU frame, tags, framing, with slack).
inline constexpr std::size_t kMaxReassembled = 2048;

enum class FragmentType : std::uint8_t { whole = 0, not_last = 1, last = 2, test = 3 };

struct FragmentHeader {
    FragmentType type = FragmentType::whole;
    std::uint8_t seq_id = 0;
    std::uint8_t frag_id = 0;   // 0..31
    std::uint16_t size = 0;     // LAST: the size of the other fragments (a multiple of 4)
};

void write_fragment_header(const FragmentHeader& h, std::span<std::uint8_t, kFragmentHeader> out);
FragmentHeader read_fragment_header(std::span<const std::uint8_t, kFragmentHeader> in);

// Prepends a WHOLE header to buf[at, at + len) in place (buf needs kFragmentHeader bytes past the
// payload); returns the new length, or 0 when buf has no room.
std::size_t add_whole_fragment_header(std::span<std::uint8_t> buf, std::size_t at, std::size_t len);
// Strips a WHOLE header from a received payload; false (payload untouched) when it is not one:
// a fragment, a TEST, or a WHOLE with a seq or frag id set (fragment.c refuses those).
bool strip_whole_fragment(std::span<std::uint8_t>& payload);

// --fragment N [mtu]: the largest payload (framing included, fragment header not) sent in one
// packet, as OpenVPN 2.6 computes frame->max_fragment_size (mss.c frame_calculate_fragment): N
// counts the UDP payload, or with `mtu` the outer IP packet; the data packet's header, packet-id,
// tag (or HMAC, IV and CBC padding) and the fragment header come off. 0: fragmentation off.
std::uint16_t max_fragment_size(std::uint16_t fragment, bool mtu, const TunnelOverhead& t);

// The size of each fragment but the last when a payload of `len` bytes (> max) is cut, as
// fragment.c's optimal_fragment_size: a multiple of 4, at most max, the last fragment not much
// smaller than the others. 0 when it would take more than kMaxFragments fragments.
std::size_t fragment_piece_size(std::size_t len, std::size_t max);

// Reassembly of the payloads one peer cut (one per DataChannel; not thread-safe). The 25 slots
// (51 KB) are allocated at the first fragment: a peer that never fragments costs nothing.
class FragmentReassembler {
public:
    enum class Verdict : std::uint8_t {
        whole,     // payload now holds what followed a WHOLE header
        complete,  // payload now holds a reassembled payload (valid until the next feed)
        pending,   // a fragment kept for later: nothing to deliver
        bad,       // malformed header, TEST type, or a fragment outside the buffer: dropped
    };
    // payload: an authentic, decrypted data payload starting with the fragment header.
    Verdict feed(std::span<std::uint8_t>& payload, std::int64_t now_sec);
    // Payloads expired (unfinished after kFragmentTtlSec) so far.
    std::uint64_t expired() const { return expired_; }

private:
    struct Slot {
        bool defined = false;
        std::uint16_t piece = 0;     // the size of every fragment but the last
        std::uint32_t map = 0;       // bit n: fragment n arrived (the LAST sets every bit from its id up)
        std::size_t len = 0;         // bytes reassembled so far (the furthest end written)
        std::int64_t stamp = 0;      // last fragment's arrival, for the TTL
        std::array<std::uint8_t, kMaxReassembled> buf;
    };
    Slot& slot_for(std::uint8_t seq_id);
    void reap(std::int64_t now_sec);
    std::unique_ptr<std::array<Slot, kReassemblySlots>> slots_;
    std::uint8_t seq_id_ = 0;  // newest seq id in the window
    std::size_t index_ = 0;    // its slot
    std::int64_t last_reap_ = 0;
    std::uint64_t expired_ = 0;
};

}  // namespace wirebridge::proto
