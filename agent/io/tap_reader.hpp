// TapReader: wire-size frames from a TAP queue, one at a time, whether or not the TAP offloads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/result.hpp"
#include "io/gso_splitter.hpp"
#include "io/tap_device.hpp"

namespace wirebridge::io {

// A drop-in for TapDevice::read_frame on the data path. With offloads on, one read() returns up to
// 64 KB (a TCP super-frame); the reader keeps it and hands out its segments on the next calls, so
// the caller's loop ("read a frame into the batch slot, seal, queue") stays as it was and a whole
// TCP send window costs one syscall. Without offloads it reads straight into the caller's buffer.
// One reader per queue and thread; nothing is allocated after construction.
class TapReader {
public:
    TapReader(TapDevice& tap, unsigned queue = 0);

    // The next frame, written to out (give it GsoSplitter::kMaxWireFrame bytes). would_block when
    // the queue is empty and no segments are pending.
    Result<IoCount> read_frame(std::span<std::uint8_t> out);

    // Reads that were not cut into frames (malformed or an offload we never enabled): dropped.
    std::uint64_t refused() const { return refused_; }

private:
    TapDevice& tap_;
    unsigned queue_;
    std::vector<std::uint8_t> super_;
    GsoSplitter splitter_;
    bool pending_ = false;
    std::uint64_t refused_ = 0;
};

}  // namespace wirebridge::io
