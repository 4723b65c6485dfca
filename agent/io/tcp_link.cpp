// TcpLink: buffered framed writes, framed reads.
#include "io/tcp_link.hpp"

namespace wirebridge::io {

TcpLink::TcpLink(io::TcpStream stream, bool connected) : stream_(std::move(stream)), connected_(connected) {
    out_.reserve(2 * kHighWater);
    in_.resize(64 * 1024);
}

Result<void> TcpLink::finish_connect() {
    auto r = stream_.finish_connect();
    if (r) connected_ = true;
    return r;
}

bool TcpLink::queue(std::span<const std::uint8_t> packet) {
    if (pending() > 4 * kHighWater || packet.size() > 0xffff) return false;
    if (out_off_ > 0 && out_off_ == out_.size()) {
        out_.clear();
        out_off_ = 0;
    }
    out_.push_back(static_cast<std::uint8_t>(packet.size() >> 8));
    out_.push_back(static_cast<std::uint8_t>(packet.size()));
    out_.insert(out_.end(), packet.begin(), packet.end());
    return true;
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

Result<bool> TcpLink::read(const std::function<void(std::span<std::uint8_t>)>& on_packet) {
    for (int rounds = 0; rounds < 16; ++rounds) {
        auto r = stream_.read(in_);
        if (!r) return fail(r.error());
        if (r->eof) return false;
        if (r->would_block) break;
        std::span<const std::uint8_t> chunk(in_.data(), r->bytes);
        while (!chunk.empty()) {
            const std::size_t used = framer_.feed(chunk);
            chunk = chunk.subspan(used);
            proto::ByteSpan pkt;
            proto::StreamFramer::Status st;
            while ((st = framer_.next(pkt)) == proto::StreamFramer::Status::packet)
                on_packet(std::span<std::uint8_t>(const_cast<std::uint8_t*>(pkt.data()), pkt.size()));
            if (st == proto::StreamFramer::Status::oversize) return fail("oversized packet on TCP from " + peer().to_string(), EPROTO);
            if (used == 0 && !chunk.empty()) return fail("TCP framer stuck", EPROTO);
        }
    }
    return true;
}

}  // namespace wirebridge::io
