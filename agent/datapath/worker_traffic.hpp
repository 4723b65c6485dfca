// WorkerTraffic / TrafficSlot: a data path worker's counters, published to the main thread without a shared atomic per packet.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "datapath/data_channel.hpp"

namespace wirebridge::datapath {

// A plain copy of the counts, to sum and compare on the main thread.
struct WorkerTraffic {
    std::uint64_t packets_out = 0, bytes_out = 0, packets_in = 0, bytes_in = 0;
    std::array<std::uint64_t, static_cast<std::size_t>(datapath::DataDrop::count_)> drops{};
    // io::now_ms() when the last authentic packet was opened (0: none yet): what the main thread
    // tells the session as "last heard", not the time it happens to sync (the refusal rule).
    std::int64_t last_in_ms = 0;
    // io::now_ms() when the last data packet was sent (0: none yet): the session's "nothing sent
    // for ping seconds" counts from there, not from the sync (a ping up to 1 s late, issue 16).
    std::int64_t last_out_ms = 0;
    void add(const WorkerTraffic& o);
};

// One writer (a worker: relaxed stores of its DataChannel's counters after each batch), any
// number of readers (the main thread, for the status and the session's keepalive/reneg-bytes).
struct TrafficSlot {
    std::atomic<std::uint64_t> packets_out{0}, bytes_out{0}, packets_in{0}, bytes_in{0};
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(datapath::DataDrop::count_)> drops{};
    std::atomic<std::int64_t> last_in_ms{0}, last_out_ms{0};
    void publish(const datapath::DataChannel::Counters& c);
    void note_in(std::int64_t now_ms) { last_in_ms.store(now_ms, std::memory_order_relaxed); }
    void note_out(std::int64_t now_ms) { last_out_ms.store(now_ms, std::memory_order_relaxed); }
    WorkerTraffic load() const;
};

}  // namespace wirebridge::datapath
