// HubSwitchBatch: a hub worker's frames decided by the shared L2 switch under ONE lock per batch.
//
// The switch (learning, ageing, per-client MAC bounds, multicast budgets, VLANs) is shared mutable
// state. A worker collects the frames of a batch (opened from its socket, or read from its TAP
// queue), takes the switch's mutex once, lets the switch decide every frame (L2Switch::forward)
// and copies each decision out (the switch's spans live only until its next forward()), then
// releases the mutex and does the crypto and I/O. Nothing is allocated per frame: the lists grow
// only to the largest batch times the number of clients seen.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "datapath/l2_switch.hpp"

namespace wirebridge::datapath {

class HubSwitchBatch {
public:
    struct Frame {
        datapath::Port in = datapath::kTapPort;
        std::uint8_t* data = nullptr;  // writable; `headroom` bytes before it are the caller's too
        std::size_t len = 0;
        std::size_t headroom = 0;
        // The decision: client_frame (maybe the tag stripped), the clients, and the TAP.
        std::uint8_t* out = nullptr;
        std::size_t out_len = 0;
        std::uint32_t first_send = 0, send_count = 0;  // into sends()
        bool to_tap = false;
        std::uint16_t tap_vlan = 0;
        datapath::SwitchDrop drop = datapath::SwitchDrop::none;
    };

    explicit HubSwitchBatch(std::size_t frames = 64);
    void clear() {
        frames_.clear();
        sends_.clear();
    }
    bool full() const { return frames_.size() == frames_.capacity(); }
    std::size_t size() const { return frames_.size(); }
    // `frame` must have at least 4 writable bytes before it (headroom), for a VLAN tag.
    void add(datapath::Port in, std::span<std::uint8_t> frame, std::size_t headroom);

    // Every frame added, decided in order under one lock of `mutex`.
    void decide(datapath::L2Switch& sw, std::mutex& mutex, std::int64_t now_ms);

    std::span<Frame> frames() { return frames_; }
    std::span<const datapath::Port> sends(const Frame& f) const { return {sends_.data() + f.first_send, f.send_count}; }
    // The frame for the TAP (tagged in place when its client is in a VLAN): call it after the
    // frame's clients were served, since tagging overwrites the bytes they were sent.
    static std::span<const std::uint8_t> tap_frame(const Frame& f);

private:
    std::vector<Frame> frames_;
    std::vector<datapath::Port> sends_;
};

}  // namespace wirebridge::datapath
