// HubSwitchBatch: the per-batch switch decisions of a hub worker (one lock, decisions copied out).
#include "datapath/hub_switch_batch.hpp"

namespace wirebridge::datapath {

HubSwitchBatch::HubSwitchBatch(std::size_t frames) {
    frames_.reserve(frames);
    sends_.reserve(frames * 4);
}

void HubSwitchBatch::add(datapath::Port in, std::span<std::uint8_t> frame, std::size_t headroom) {
    if (full()) return;
    Frame f;
    f.in = in;
    f.data = frame.data();
    f.len = frame.size();
    f.headroom = headroom;
    frames_.push_back(f);
}

void HubSwitchBatch::decide(datapath::L2Switch& sw, std::mutex& mutex, std::int64_t now_ms) {
    sends_.clear();
    std::lock_guard<std::mutex> g(mutex);
    for (Frame& f : frames_) {
        const datapath::L2Switch::Decision d = sw.forward(f.in, std::span<std::uint8_t>(f.data, f.len), f.headroom, now_ms);
        f.drop = d.drop;
        f.to_tap = d.to_tap;
        f.tap_vlan = d.tap_vlan;
        // client_frame lies inside the frame we gave (the switch strips a tag in place).
        f.out = const_cast<std::uint8_t*>(d.client_frame.data());
        f.out_len = d.client_frame.size();
        f.first_send = static_cast<std::uint32_t>(sends_.size());
        f.send_count = static_cast<std::uint32_t>(d.clients.size());
        // Grows only when a flood reaches more clients than any batch before (control-plane rate).
        sends_.insert(sends_.end(), d.clients.begin(), d.clients.end());
    }
}

std::span<const std::uint8_t> HubSwitchBatch::tap_frame(const Frame& f) {
    if (!f.to_tap || !f.out) return {};
    const std::size_t headroom = f.headroom + static_cast<std::size_t>(f.out - f.data);
    return datapath::L2Switch::tag_in_place(std::span<std::uint8_t>(f.out, f.out_len), headroom, f.tap_vlan);
}

}  // namespace wirebridge::datapath
