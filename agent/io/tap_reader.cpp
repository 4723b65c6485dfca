// TapReader: read_packet + GsoSplitter when the TAP offloads, plain read_frame when it does not.
#include "io/tap_reader.hpp"

namespace wirebridge::io {

TapReader::TapReader(TapDevice& tap, unsigned queue) : tap_(tap), queue_(queue), super_(kMaxSuperFrame) {}

Result<IoCount> TapReader::read_frame(std::span<std::uint8_t> out) {
    if (!tap_.offload()) return tap_.read_frame(out, queue_);
    for (;;) {
        if (pending_) {
            const std::size_t n = splitter_.next(out);
            if (n > 0) return IoCount{n, false};
            pending_ = false;
        }
        auto r = tap_.read_packet(super_, queue_);
        if (!r) return r;
        if (r->would_block) return r;
        if (splitter_.start(std::span<const std::uint8_t>(super_.data(), r->bytes)) != GsoSplitter::Status::ok) {
            ++refused_;
            continue;
        }
        pending_ = true;
    }
}

}  // namespace wirebridge::io
