// What the data path workers share: frame and batch sizes, and the log line that says which TAP
// I/O path a worker's queue takes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/result.hpp"

#include "io/tap_reader.hpp"
#include "io/tap_writer.hpp"

namespace wirebridge::datapath {

// Frame buffers: the largest Ethernet frame we carry (1500 MTU + header + 802.1Q tags) with room.
inline constexpr std::size_t kMaxFrame = 1600;
inline constexpr std::size_t kPacketBuffer = 2048;
inline constexpr std::size_t kBatch = 32;

// A frame the TAP refused (EIO while the device is down, ENOBUFS, ...), the same in every pump:
// the frame is dropped and counted (status: tap_write drops), the data path goes on, and the log
// says the first failure and then every 1000th, not one line a frame. A refused batch counts each
// of its frames (TapWriter::frames_lost()). The count may be read from another thread (status).
class TapWriteFailures {
public:
    // Counts `frames` lost frames; logs (warn) "<who>: <error> (N frame(s) lost so far: tap_write
    // drops)" when the count passes the first or a multiple of 1000.
    void failed(const std::string& who, const Error& e, std::uint64_t frames);
    std::uint64_t count() const { return n_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> n_{0};
};

// Says which TAP I/O path a data path worker's queue takes (reads: once its first batch decides).
// Worker 0 says it at info level; the others, the same code on the same kernel, at debug.
void log_worker_io_path(unsigned index, const std::string& tap_name, unsigned queue, const io::TapWriter& writer,
                        io::TapReader& reader);

}  // namespace wirebridge::datapath
