// WorkerTraffic / TrafficSlot.
#include "datapath/worker_traffic.hpp"

#include <algorithm>

namespace wirebridge::datapath {

void WorkerTraffic::add(const WorkerTraffic& o) {
    packets_out += o.packets_out;
    bytes_out += o.bytes_out;
    packets_in += o.packets_in;
    bytes_in += o.bytes_in;
    for (std::size_t i = 0; i < drops.size(); ++i) drops[i] += o.drops[i];
    last_in_ms = std::max(last_in_ms, o.last_in_ms);
    last_out_ms = std::max(last_out_ms, o.last_out_ms);
}

void TrafficSlot::publish(const datapath::DataChannel::Counters& c) {
    packets_out.store(c.packets_out, std::memory_order_relaxed);
    bytes_out.store(c.bytes_out, std::memory_order_relaxed);
    packets_in.store(c.packets_in, std::memory_order_relaxed);
    bytes_in.store(c.bytes_in, std::memory_order_relaxed);
    for (std::size_t i = 0; i < drops.size(); ++i) drops[i].store(c.drops[i], std::memory_order_relaxed);
}

WorkerTraffic TrafficSlot::load() const {
    WorkerTraffic t;
    t.packets_out = packets_out.load(std::memory_order_relaxed);
    t.bytes_out = bytes_out.load(std::memory_order_relaxed);
    t.packets_in = packets_in.load(std::memory_order_relaxed);
    t.bytes_in = bytes_in.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < drops.size(); ++i) t.drops[i] = drops[i].load(std::memory_order_relaxed);
    t.last_in_ms = last_in_ms.load(std::memory_order_relaxed);
    t.last_out_ms = last_out_ms.load(std::memory_order_relaxed);
    return t;
}

}  // namespace wirebridge::datapath
