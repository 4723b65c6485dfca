// TCP stream framing: each packet carries a 2-byte big-endian length that does not count itself.
#pragma once

#include <cstdint>
#include <vector>

#include "proto/bytes.hpp"
#include "proto/constants.hpp"

namespace wirebridge::proto {

// Reassembles packets from arbitrary stream reads. The buffer is allocated once; packets
// larger than `max_packet` are refused (the stream is then unusable: close the connection).
//
//   framer.feed(chunk) -> bytes consumed (may be < chunk.size() when the buffer is full)
//   while (framer.next(pkt) == Status::packet) handle(pkt);   // pkt valid until next feed()
class StreamFramer {
public:
    enum class Status : uint8_t { packet, need_more, oversize };

    explicit StreamFramer(size_t max_packet = 2048);

    size_t feed(ByteSpan chunk);
    Status next(ByteSpan& packet);
    bool failed() const { return failed_; }
    size_t buffered() const { return end_ - start_; }

    // Writes length + packet into `out`; returns bytes written, 0 if it does not fit or is too big.
    static size_t frame(ByteSpan packet, MutByteSpan out);

private:
    std::vector<uint8_t> buf_;
    size_t max_packet_;
    size_t start_ = 0;
    size_t end_ = 0;
    bool failed_ = false;
};

}  // namespace wirebridge::proto
