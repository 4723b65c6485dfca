// bench/flood_wire.hpp: wb-udpflood's datagram header and the receiver's sequence accounting (no I/O).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace wirebridge::bench {

// Every datagram the sender offers starts with this header; the rest is filler. Fields are in
// host byte order: both ends of a benchmark run on one machine.
//
//   0        4        8                  16       20       24
//   +--------+--------+------------------+--------+--------+------------
//   | magic  | run id | sequence (u64)   | length | flags  | filler ...
//   +--------+--------+------------------+--------+--------+------------
//
// length is the datagram's payload size as sent, so a truncated or padded datagram does not pass.
// The run id (random per sender unless given) keeps strays of an earlier run out of the counts.
// An end marker (kFlagEnd) carries in its sequence field how many datagrams the run offered.
inline constexpr std::uint32_t kFloodMagic = 0x4c464257;  // "WBFL" read little-endian
inline constexpr std::size_t kHeaderSize = 24;
inline constexpr std::uint32_t kFlagEnd = 1;

struct FloodHeader {
    std::uint32_t run = 0;
    std::uint64_t seq = 0;
    std::uint32_t length = 0;
    std::uint32_t flags = 0;
};

// Writes the header into the first kHeaderSize bytes of out; false (nothing written) if it is shorter.
inline bool encode_header(std::span<std::uint8_t> out, const FloodHeader& h) {
    if (out.size() < kHeaderSize) {
        return false;
    }
    std::memcpy(out.data(), &kFloodMagic, 4);
    std::memcpy(out.data() + 4, &h.run, 4);
    std::memcpy(out.data() + 8, &h.seq, 8);
    std::memcpy(out.data() + 16, &h.length, 4);
    std::memcpy(out.data() + 20, &h.flags, 4);
    return true;
}

enum class ParseResult { ok, foreign, malformed };

// in: the bytes the kernel copied (may be fewer than datagram_len when the datagram was longer
// than the buffer); datagram_len: the datagram's real length. Not ours (too short to hold the
// magic, or another magic): foreign. Ours but cut, padded or with unknown flags: malformed.
inline ParseResult parse_header(std::span<const std::uint8_t> in, std::size_t datagram_len, FloodHeader& h) {
    std::uint32_t magic = 0;
    if (in.size() < 4 || datagram_len < 4) {
        return ParseResult::foreign;
    }
    std::memcpy(&magic, in.data(), 4);
    if (magic != kFloodMagic) {
        return ParseResult::foreign;
    }
    if (in.size() < kHeaderSize || datagram_len < kHeaderSize) {
        return ParseResult::malformed;
    }
    std::memcpy(&h.run, in.data() + 4, 4);
    std::memcpy(&h.seq, in.data() + 8, 8);
    std::memcpy(&h.length, in.data() + 16, 4);
    std::memcpy(&h.flags, in.data() + 20, 4);
    if (h.length != datagram_len || (h.flags & ~kFlagEnd) != 0) {
        return ParseResult::malformed;
    }
    return ParseResult::ok;
}

// Which sequence numbers arrived: unique, duplicated (seen before), reordered (arrived after a
// higher one). A bitmap grown in steps (never per datagram once it covers the run) and capped,
// so a forged huge sequence number costs at most max_tracked bits; beyond the cap a datagram is
// counted (untracked) but cannot be checked for duplicates.
class SeqTracker {
public:
    explicit SeqTracker(std::uint64_t max_tracked = std::uint64_t{1} << 28) : max_tracked_(max_tracked) {}

    void record(std::uint64_t seq, std::size_t bytes) {
        bytes_ += bytes;
        const bool late = any_ && seq < highest_;
        if (!any_ || seq > highest_) {
            highest_ = seq;
            any_ = true;
        }
        if (seq >= max_tracked_) {
            ++untracked_;
            return;
        }
        const std::size_t word = static_cast<std::size_t>(seq / 64);
        if (word >= bits_.size()) {
            // Double (at least to cover seq), bounded by the cap: amortized O(1) per datagram.
            const std::size_t cap_words = static_cast<std::size_t>((max_tracked_ + 63) / 64);
            bits_.resize(std::min(cap_words, std::max(word + 1, bits_.size() * 2 + 1024)), 0);
        }
        const std::uint64_t mask = std::uint64_t{1} << (seq % 64);
        if (bits_[word] & mask) {
            ++duplicated_;  // counted as a duplicate only, late or not
            return;
        }
        bits_[word] |= mask;
        ++unique_;
        if (late) {
            ++reordered_;
        }
    }

    // expected: datagrams offered (from the end marker), or 0 to take the highest seen + 1.
    std::uint64_t lost(std::uint64_t expected) const {
        const std::uint64_t want = expected != 0 ? expected : (any_ ? highest_ + 1 : 0);
        const std::uint64_t got = unique_ + untracked_;
        return want > got ? want - got : 0;
    }

    std::uint64_t unique() const { return unique_ + untracked_; }
    std::uint64_t duplicated() const { return duplicated_; }
    std::uint64_t reordered() const { return reordered_; }
    std::uint64_t untracked() const { return untracked_; }
    std::uint64_t bytes() const { return bytes_; }
    std::uint64_t highest() const { return highest_; }
    bool any() const { return any_; }

private:
    std::uint64_t max_tracked_;
    std::vector<std::uint64_t> bits_;
    std::uint64_t unique_ = 0;
    std::uint64_t duplicated_ = 0;
    std::uint64_t reordered_ = 0;
    std::uint64_t untracked_ = 0;
    std::uint64_t bytes_ = 0;
    std::uint64_t highest_ = 0;
    bool any_ = false;
};

}  // namespace wirebridge::bench
