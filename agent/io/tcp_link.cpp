// TcpLink: buffered framed writes; reads cut into whole packets in the link's own buffer.
#include "io/tcp_link.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace wirebridge::io {

namespace {
constexpr std::size_t kLengthLen = 2;
// One read takes up to this much: a TCP window's worth of packets per system call.
constexpr std::size_t kReadSize = 64 * 1024;
// Reads per receive() call, so that one busy stream cannot hold the loop.
constexpr int kReads = 16;
}  // namespace

TcpLink::TcpLink(io::TcpStream stream, bool connected) : stream_(std::move(stream)), connected_(connected) {
    out_.reserve(2 * kHighWater);
    // Room for a read after the longest partial packet a cut leaves behind.
    in_.resize(kReadSize + kLengthLen + kMaxPacket);
}

Result<void> TcpLink::finish_connect() {
    auto r = stream_.finish_connect();
    if (r) connected_ = true;
    return r;
}

bool TcpLink::queue(std::span<const std::uint8_t> packet) {
    if (pending() > 4 * kHighWater || packet.empty() || packet.size() > 0xffff) return false;
    if (out_off_ > 0 && out_off_ == out_.size()) {
        out_.clear();
        out_off_ = 0;
    }
    out_.push_back(static_cast<std::uint8_t>(packet.size() >> 8));
    out_.push_back(static_cast<std::uint8_t>(packet.size()));
    out_.insert(out_.end(), packet.begin(), packet.end());
    return true;
}

Result<std::size_t> TcpLink::send(DatagramBatch& batch) {
    std::size_t dropped = 0;
    for (std::size_t i = 0; i < batch.size(); ++i) dropped += !queue(batch.queued(i));
    batch.clear();
    if (auto r = flush(); !r) return fail(r.error());
    return dropped;
}

Result<void> TcpLink::flush() {
    if (!connected_) return {};
    while (pending() > 0) {
        auto w = stream_.write(std::span<const std::uint8_t>(out_).subspan(out_off_));
        if (!w) return fail(w.error());
        if (w->would_block) break;
        out_off_ += w->bytes;
    }
    if (out_off_ == out_.size()) {
        out_.clear();
        out_off_ = 0;
    } else if (out_off_ > kHighWater) {
        out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_off_));
        out_off_ = 0;
    }
    return {};
}

TcpLink::Cut TcpLink::cut(std::span<std::uint8_t>& packet, std::size_t limit) {
    const std::size_t have = end_ - start_;
    if (have < kLengthLen) return Cut::need_more;
    const std::size_t len = (std::size_t{in_[start_]} << 8) | in_[start_ + 1];
    if (len == 0 || len > limit) {
        bad_length_ = len;
        return Cut::bad;
    }
    if (have < kLengthLen + len) return Cut::need_more;
    packet = std::span<std::uint8_t>(in_.data() + start_ + kLengthLen, len);
    start_ += kLengthLen + len;
    return Cut::packet;
}

Unexpected TcpLink::refuse(std::size_t limit) const {
    if (bad_length_ == 0) return fail("empty packet on TCP from " + peer().to_string(), EPROTO);
    return fail("oversized packet on TCP from " + peer().to_string() + " (" + std::to_string(bad_length_) +
                    " bytes, at most " + std::to_string(limit) + ")",
                EPROTO);
}

Result<IoCount> TcpLink::fill() {
    // What is left is one partial packet (cut() stopped at need_more): at most kMaxPacket + 1 bytes.
    if (start_ == end_) {
        start_ = end_ = 0;
    } else if (start_ > 0) {
        std::memmove(in_.data(), in_.data() + start_, end_ - start_);
        end_ -= start_;
        start_ = 0;
    }
    auto r = stream_.read(std::span<std::uint8_t>(in_).subspan(end_));
    if (!r) return r;
    if (r->eof) eof_ = true;
    else end_ += r->bytes;
    return r;
}

bool TcpLink::holds_input() const {
    if (eof_) return true;
    const std::size_t have = end_ - start_;
    if (have < kLengthLen) return false;
    const std::size_t len = (std::size_t{in_[start_]} << 8) | in_[start_ + 1];
    // A refused length too: the next receive() reports it.
    return len == 0 || len > kMaxPacket || have >= kLengthLen + len;
}

Result<std::size_t> TcpLink::receive(DatagramBatch& batch) {
    batch.clear();
    const std::size_t limit = std::min(kMaxPacket, batch.buffer_size());
    for (int reads = 0;;) {
        std::span<std::uint8_t> pkt;
        while (!batch.full()) {
            const Cut c = cut(pkt, limit);
            // The packets before a refused length first; the refusal at the next call.
            if (c == Cut::bad) return batch.size() > 0 ? Result<std::size_t>(batch.size()) : Result<std::size_t>(refuse(limit));
            if (c == Cut::need_more) break;
            batch.arrived(pkt, peer());
        }
        if (batch.full() || eof_ || reads++ == kReads) break;
        auto r = fill();
        if (!r) return fail(r.error());
        if (r->would_block) break;
    }
    // The stream ended inside a packet: its whole packets first, the error at the next call.
    if (eof_ && start_ != end_ && !batch.full() && batch.size() == 0)
        return fail("the TCP stream from " + peer().to_string() + " ended inside a packet (" +
                        std::to_string(end_ - start_) + " bytes of it read)",
                    EPROTO);
    return batch.size();
}

}  // namespace wirebridge::io
