// TCP stream framing: length-prefixed packet reassembly with an oversize guard.
#include "proto/stream_framer.hpp"

#include <algorithm>
#include <cstring>

namespace wirebridge::proto {

StreamFramer::StreamFramer(size_t max_packet)
    : buf_(2 * (std::min(max_packet, kMaxStreamPacket) + kTcpLengthLen)),
      max_packet_(std::min(max_packet, kMaxStreamPacket)) {}

size_t StreamFramer::feed(ByteSpan chunk) {
    if (failed_) return 0;
    if (start_ > 0 && (start_ == end_ || buf_.size() - end_ < chunk.size())) {
        std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
        end_ -= start_;
        start_ = 0;
    }
    const size_t n = std::min(chunk.size(), buf_.size() - end_);
    if (n) std::memcpy(buf_.data() + end_, chunk.data(), n);
    end_ += n;
    return n;
}

StreamFramer::Status StreamFramer::next(ByteSpan& packet) {
    if (failed_) return Status::oversize;
    const size_t have = end_ - start_;
    if (have < kTcpLengthLen) return Status::need_more;
    const size_t len = (size_t{buf_[start_]} << 8) | buf_[start_ + 1];
    if (len > max_packet_ || len == 0) {
        failed_ = true;
        return Status::oversize;
    }
    if (have < kTcpLengthLen + len) return Status::need_more;
    packet = ByteSpan(buf_.data() + start_ + kTcpLengthLen, len);
    start_ += kTcpLengthLen + len;
    return Status::packet;
}

size_t StreamFramer::frame(ByteSpan packet, MutByteSpan out) {
    if (packet.empty() || packet.size() > kMaxStreamPacket) return 0;
    ByteWriter w(out);
    w.u16(static_cast<uint16_t>(packet.size()));
    w.bytes(packet);
    return w.ok() ? w.size() : 0;
}

}  // namespace wirebridge::proto
