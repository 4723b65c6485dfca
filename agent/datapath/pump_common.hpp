// What the data path workers share: frame and batch sizes, and the log line that says which TAP
// I/O path a worker's queue takes.
#pragma once

#include <cstddef>
#include <string>

#include "io/tap_reader.hpp"
#include "io/tap_writer.hpp"

namespace wirebridge::datapath {

// Frame buffers: the largest Ethernet frame we carry (1500 MTU + header + 802.1Q tags) with room.
inline constexpr std::size_t kMaxFrame = 1600;
inline constexpr std::size_t kPacketBuffer = 2048;
inline constexpr std::size_t kBatch = 32;

// Says which TAP I/O path a data path worker's queue takes (reads: once its first batch decides).
// Worker 0 says it at info level; the others, the same code on the same kernel, at debug.
void log_worker_io_path(unsigned index, const std::string& tap_name, unsigned queue, const io::TapWriter& writer,
                        io::TapReader& reader);

}  // namespace wirebridge::datapath
