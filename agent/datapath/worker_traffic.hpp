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
    void add(const WorkerTraffic& o);
};

// One writer (a worker: relaxed stores of its DataChannel's counters after each batch), any
// number of readers (the main thread, for the status and the session's keepalive/reneg-bytes).
struct TrafficSlot {
    std::atomic<std::uint64_t> packets_out{0}, bytes_out{0}, packets_in{0}, bytes_in{0};
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(datapath::DataDrop::count_)> drops{};
    void publish(const datapath::DataChannel::Counters& c);
    WorkerTraffic load() const;
};

}  // namespace wirebridge::datapath
