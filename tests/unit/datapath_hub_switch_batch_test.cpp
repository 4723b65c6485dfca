// HubSwitchBatch: deciding a batch under one lock gives, frame by frame, exactly what the switch
// decides for each frame alone (learning, flooding, client_to_client, VLAN tags stripped and added),
// against a twin switch fed the same frames one at a time; and workers and the main thread sharing
// one switch under its mutex.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "datapath/hub_switch_batch.hpp"

using namespace wirebridge;
using namespace wirebridge::datapath;
using datapath::kTapPort;
using datapath::Port;

namespace {

constexpr std::size_t kRoom = 24;  // headroom before each frame, as a worker's buffers have

struct Buf {
    std::vector<std::uint8_t> bytes;
    std::span<std::uint8_t> frame() { return {bytes.data() + kRoom, bytes.size() - kRoom}; }
};

Buf make_frame(std::uint8_t dst_last, std::uint8_t src_last, bool group, std::uint16_t vlan, std::size_t body) {
    Buf b;
    const std::size_t hdr = vlan ? 18 : 14;
    b.bytes.assign(kRoom + hdr + body, 0);
    std::uint8_t* f = b.bytes.data() + kRoom;
    const std::uint8_t dst[6] = {static_cast<std::uint8_t>(group ? 0x01 : 0x02), 0, 0, 0, 0, dst_last};
    const std::uint8_t src[6] = {0x02, 0, 0, 0, 0, src_last};
    std::memcpy(f, dst, 6);
    std::memcpy(f + 6, src, 6);
    std::size_t at = 12;
    if (vlan) {
        f[12] = 0x81;
        f[13] = 0x00;
        f[14] = static_cast<std::uint8_t>(vlan >> 8);
        f[15] = static_cast<std::uint8_t>(vlan);
        at = 16;
    }
    f[at] = 0x08;
    f[at + 1] = 0x00;
    for (std::size_t i = 0; i < body; ++i) f[at + 2 + i] = static_cast<std::uint8_t>(i * 7 + src_last);
    return b;
}

struct Want {
    std::vector<Port> clients;
    std::vector<std::uint8_t> client_frame;
    bool to_tap = false;
    std::vector<std::uint8_t> tap_frame;
    datapath::SwitchDrop drop = datapath::SwitchDrop::none;
};

void run_case(const datapath::SwitchSettings& s, bool tagged_tap, unsigned seed) {
    datapath::L2Switch one(s), batch_sw(s);
    for (Port p : {0u, 1u, 2u, 5u}) {
        datapath::PortSettings ps;
        if (s.vlan_tagging) ps.vlan = static_cast<std::uint16_t>(p % 2 ? 10 : 20);
        one.add_port(p, ps);
        batch_sw.add_port(p, ps);
    }
    std::mutex m;
    HubSwitchBatch batch(64);
    std::mt19937 rng(seed);
    const Port ports[] = {0, 1, 2, 5, kTapPort, kTapPort};
    std::int64_t now = 1000;
    for (int round = 0; round < 40; ++round) {
        std::vector<Buf> a, b;
        std::vector<Port> in;
        const int n = 1 + static_cast<int>(rng() % 40);
        for (int i = 0; i < n; ++i) {
            const Port p = ports[rng() % 6];
            const bool group = rng() % 5 == 0;
            const std::uint16_t vlan = (p == kTapPort && tagged_tap) ? static_cast<std::uint16_t>(rng() % 3 ? 10 : 20) : 0;
            Buf f = make_frame(static_cast<std::uint8_t>(rng() % 12), static_cast<std::uint8_t>(rng() % 12), group, vlan,
                               20 + rng() % 60);
            a.push_back(f);
            b.push_back(f);
            in.push_back(p);
        }
        // One at a time, as the single-thread hub does.
        std::vector<Want> want(n);
        for (int i = 0; i < n; ++i) {
            const auto d = one.forward(in[i], a[i].frame(), kRoom, now);
            want[i].clients.assign(d.clients.begin(), d.clients.end());
            want[i].client_frame.assign(d.client_frame.begin(), d.client_frame.end());
            want[i].to_tap = d.to_tap;
            want[i].drop = d.drop;
            if (d.to_tap) {
                const auto t = one.tap_frame();
                want[i].tap_frame.assign(t.begin(), t.end());
            }
        }
        // The batch: decided together, served afterwards.
        batch.clear();
        for (int i = 0; i < n; ++i) batch.add(in[i], b[i].frame(), kRoom);
        batch.decide(batch_sw, m, now);
        ASSERT_EQ(batch.size(), static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) {
            const HubSwitchBatch::Frame& f = batch.frames()[i];
            const auto sends = batch.sends(f);
            EXPECT_EQ(std::vector<Port>(sends.begin(), sends.end()), want[i].clients) << "round " << round << " frame " << i;
            EXPECT_EQ(f.drop, want[i].drop);
            EXPECT_EQ(f.to_tap, want[i].to_tap);
            if (!want[i].client_frame.empty() || !sends.empty()) {
                EXPECT_EQ(std::vector<std::uint8_t>(f.out, f.out + f.out_len), want[i].client_frame);
            }
            if (f.to_tap) {
                const auto t = HubSwitchBatch::tap_frame(f);
                EXPECT_EQ(std::vector<std::uint8_t>(t.begin(), t.end()), want[i].tap_frame) << "round " << round << " frame " << i;
            }
        }
        EXPECT_EQ(one.mac_count(), batch_sw.mac_count());
        now += 50;
    }
    EXPECT_EQ(one.drops(), batch_sw.drops());
}

}  // namespace

TEST(HubSwitchBatch, SameDecisionsAsFrameByFrame) {
    datapath::SwitchSettings s;
    s.client_to_client = true;
    run_case(s, false, 1);
}

TEST(HubSwitchBatch, SameDecisionsWithoutClientToClient) {
    datapath::SwitchSettings s;
    s.client_to_client = false;
    s.max_macs_per_client = 3;
    s.multicast_limit = 5;
    run_case(s, false, 2);
}

TEST(HubSwitchBatch, SameDecisionsWithVlanTagsStrippedAndAdded) {
    datapath::SwitchSettings s;
    s.client_to_client = true;
    s.vlan_tagging = true;
    run_case(s, true, 3);
}

TEST(HubSwitchBatch, TagInPlaceNeedsHeadroom) {
    Buf f = make_frame(1, 2, false, 0, 30);
    EXPECT_TRUE(datapath::L2Switch::tag_in_place(f.frame(), 3, 10).empty());
    const auto t = datapath::L2Switch::tag_in_place(f.frame(), 4, 10);
    ASSERT_EQ(t.size(), f.frame().size() + 4);
    EXPECT_EQ(t[12], 0x81);
    EXPECT_EQ(t[15], 10);
    EXPECT_EQ(t[5], 1);  // the MACs moved with it
    EXPECT_EQ(t[11], 2);
}

// Run by hand under ThreadSanitizer too: two workers decide batches on one switch (one lock each)
// while the main thread ages entries, changes a port and reads the status tables under the same lock.
TEST(HubSwitchBatch, WorkersAndMainShareTheSwitchUnderItsMutex) {
    datapath::SwitchSettings s;
    s.client_to_client = true;
    s.max_macs_per_client = 4;
    datapath::L2Switch sw(s);
    for (Port p : {0u, 1u, 2u}) sw.add_port(p);
    std::mutex m;
    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> decided{0};
    auto worker = [&](unsigned seed) {
        HubSwitchBatch batch(32);
        std::mt19937 rng(seed);
        std::vector<Buf> bufs;
        for (int round = 0; round < 300; ++round) {
            bufs.clear();
            batch.clear();
            for (int i = 0; i < 32; ++i)
                bufs.push_back(make_frame(static_cast<std::uint8_t>(rng() % 16), static_cast<std::uint8_t>(rng() % 16),
                                          rng() % 8 == 0, 0, 30));
            for (int i = 0; i < 32; ++i) batch.add(rng() % 4 == 0 ? kTapPort : rng() % 3, bufs[i].frame(), kRoom);
            batch.decide(sw, m, 1000 + round);
            for (const auto& f : batch.frames()) {
                for (Port p : batch.sends(f)) EXPECT_LT(p, 3u);
                if (f.drop == datapath::SwitchDrop::none) decided.fetch_add(1, std::memory_order_relaxed);
            }
        }
    };
    std::thread w0(worker, 11), w1(worker, 12);
    std::thread main_thread([&] {
        for (int i = 0; i < 200; ++i) {
            std::lock_guard<std::mutex> g(m);
            sw.expire(1000 + i * 10);
            sw.set_port(2, datapath::PortSettings{std::nullopt, static_cast<std::uint32_t>(2 + i % 3)});
            for (Port p : {0u, 1u, 2u}) EXPECT_LE(sw.macs_on(p, 1000 + i).size(), 16u);
        }
    });
    w0.join();
    w1.join();
    main_thread.join();
    EXPECT_GT(decided.load(), 1000u);
    EXPECT_LE(sw.mac_count(0), 4u);
}
