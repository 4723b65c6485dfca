// Shared pieces of the client and server runners and their workers: clock, signals, payload classification, logging.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/result.hpp"
#include "control/status.hpp"
#include "datapath/data_channel.hpp"
#include "io/event_loop.hpp"
#include "io/fd.hpp"
#include "io/tap_reader.hpp"
#include "io/tap_writer.hpp"
#include "proto/reliable.hpp"

namespace wirebridge::app {

// The session's clock: milliseconds of the monotonic clock.
inline proto::TimeMs now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(io::Clock::now().time_since_epoch()).count();
}
inline io::TimePoint to_time_point(proto::TimeMs t) { return io::TimePoint(std::chrono::milliseconds(t)); }

// Blocks SIGTERM, SIGINT and SIGHUP and returns a signalfd for them (read in the event loop).
Result<io::Fd> open_signal_fd();
// Reads one signal number from the signalfd (0 if none).
int read_signal(int fd);

// Copies a data channel's traffic counters into the peer's status and its drops into the totals.
void add_traffic(const datapath::DataChannel& dc, control::PeerStatus& peer, control::Status& status);

// Says which TAP I/O path a data path worker's queue takes (reads: once its first batch decides).
// Worker 0 says it at info level; the others, the same code on the same kernel, at debug.
void log_worker_io_path(unsigned index, const std::string& tap_name, unsigned queue, const io::TapWriter& writer,
                        io::TapReader& reader);

// Frame buffers: the largest Ethernet frame we carry (1500 MTU + header + 802.1Q tags) with room.
inline constexpr std::size_t kMaxFrame = 1600;
inline constexpr std::size_t kPacketBuffer = 2048;
inline constexpr std::size_t kBatch = 32;

}  // namespace wirebridge::app
