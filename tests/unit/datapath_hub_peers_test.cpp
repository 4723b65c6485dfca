// HubDirectory/PeerFollower: each client's keys published by the hub's main thread reach every
// worker's own DataChannel for that client; a client gone (or replaced under its peer-id) is let go
// and its keys freed when the last holder drops them; per-worker traffic slots sum per client; a
// worker keeps sealing while the main thread adds, rekeys and removes clients underneath it.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "datapath/hub_peers.hpp"

using namespace wirebridge;
using namespace wirebridge::datapath;

namespace {

session::DataKeys make_keys(std::uint32_t peer_id, std::uint8_t key_id, std::uint8_t fill) {
    session::DataKeys k;
    k.key_id = key_id;
    k.peer_id = peer_id;
    std::vector<std::uint8_t> a(32, fill), b(32, static_cast<std::uint8_t>(fill + 1));
    k.send.key = crypto::SecureBytes(std::span<const std::uint8_t>(a));
    k.recv.key = crypto::SecureBytes(std::span<const std::uint8_t>(b));
    k.send_packet_id = std::make_shared<std::atomic<std::uint32_t>>(0);
    return k;
}

// The client's side of the same keys.
datapath::DataChannel client_of(const session::DataKeys& k, std::unique_ptr<session::DataKeys>& hold) {
    hold = std::make_unique<session::DataKeys>(k.clone());
    std::swap(hold->send, hold->recv);
    hold->send_packet_id = std::make_shared<std::atomic<std::uint32_t>>(0);
    datapath::DataChannel dc;
    EXPECT_TRUE(dc.install(*hold));
    dc.set_primary(hold->key_id);
    return dc;
}

std::vector<std::uint8_t> seal(datapath::DataChannel& dc, std::size_t len, std::uint8_t fill) {
    std::vector<std::uint8_t> buf(datapath::kHeadroom + len, fill);
    buf.resize(dc.seal(buf, len));
    return buf;
}

io::SocketAddress addr(std::uint16_t port) { return *io::SocketAddress::from_numeric("192.0.2.7", port); }

}  // namespace

TEST(HubDirectory, WorkersGetEachClientsKeysInTheirOwnChannels) {
    HubDirectory dir(2);
    PeerFollower w0(dir), w1(dir);
    w0.refresh();
    EXPECT_EQ(w0.find(0), nullptr);

    auto a = dir.add(0, addr(1000));
    auto b = dir.add(3, addr(1003));
    auto ka = make_keys(0, 0, 0x10), kb = make_keys(3, 0, 0x30);
    std::unique_ptr<session::DataKeys> ha, hb;
    auto ca = client_of(ka, ha), cb = client_of(kb, hb);
    ASSERT_TRUE(a->keys.install(ka.clone()));
    a->keys.set_primary(0);
    ASSERT_TRUE(b->keys.install(kb.clone()));
    b->keys.set_primary(0);
    dir.publish();
    w0.refresh();
    w1.refresh();
    ASSERT_NE(w0.find(0), nullptr);
    ASSERT_NE(w1.find(3), nullptr);
    EXPECT_EQ(w0.find(1), nullptr);
    EXPECT_EQ(w0.size(), 2u);
    EXPECT_TRUE(w0.find(0)->shared->addr == addr(1000));
    EXPECT_TRUE(w0.find(0)->dc.ready());

    // Each worker seals with its own contexts from the shared counter: the client opens all, in
    // the order they were taken, and the peer-id in the header is the client's.
    auto p0 = seal(w0.find(3)->dc, 100, 1);
    auto p1 = seal(w1.find(3)->dc, 100, 2);
    ASSERT_GT(p0.size(), 4u);
    EXPECT_EQ(p0[3], 3);
    std::span<std::uint8_t> payload;
    EXPECT_EQ(cb.open(p0, 1, payload), datapath::DataDrop::none);
    EXPECT_EQ(cb.open(p1, 1, payload), datapath::DataDrop::none);
    EXPECT_EQ(cb.open(p1, 1, payload), datapath::DataDrop::replay);
    // A's worker channels are keyed with A's keys, not B's.
    auto pa = seal(w1.find(0)->dc, 64, 3);
    EXPECT_NE(cb.open(pa, 1, payload), datapath::DataDrop::none);
    EXPECT_EQ(ca.open(pa, 1, payload), datapath::DataDrop::none);

    // Packets from the client: the two workers share the key's replay window.
    auto from_b = seal(cb, 80, 4);
    auto copy = from_b;
    datapath::DataChannel::Opened o0, o1;
    EXPECT_EQ(w0.find(3)->dc.open_unrecorded(from_b, o0), datapath::DataDrop::none);
    EXPECT_EQ(w1.find(3)->dc.open_unrecorded(copy, o1), datapath::DataDrop::none);
    w0.find(3)->dc.accept_batch(std::span<datapath::DataChannel::Opened>(&o0, 1), 1);
    w1.find(3)->dc.accept_batch(std::span<datapath::DataChannel::Opened>(&o1, 1), 1);
    EXPECT_EQ(o0.drop, datapath::DataDrop::none);
    EXPECT_EQ(o1.drop, datapath::DataDrop::replay);

    // Traffic: one slot per worker, summed per client.
    w0.find(3)->shared->traffic[0].publish(w0.find(3)->dc.counters());
    w1.find(3)->shared->traffic[1].publish(w1.find(3)->dc.counters());
    const WorkerTraffic t = b->traffic_sum();
    EXPECT_EQ(t.packets_out, 2u);
    EXPECT_EQ(t.bytes_out, 200u);
    EXPECT_EQ(t.packets_in, 1u);
    EXPECT_EQ(t.drops[static_cast<std::size_t>(datapath::DataDrop::replay)], 1u);
}

TEST(HubDirectory, GoneOrReplacedClientsAreLetGoAndTheirKeysFreed) {
    HubDirectory dir(2);
    PeerFollower w0(dir), w1(dir);
    std::weak_ptr<const PublishedKey> old_key;
    std::weak_ptr<HubPeer> old_peer;
    {
        auto a = dir.add(1, addr(2001));
        old_key = a->keys.install(make_keys(1, 0, 0x41));
        a->keys.set_primary(0);
        old_peer = a;
        dir.publish();
    }
    w0.refresh();
    w1.refresh();
    ASSERT_NE(w0.find(1), nullptr);
    // Replaced under the same peer-id (the old client left, a new one got its id).
    auto fresh = dir.add(1, addr(2002));
    fresh->keys.install(make_keys(1, 0, 0x51));
    fresh->keys.set_primary(0);
    dir.publish();
    w0.refresh();
    EXPECT_TRUE(w0.find(1)->shared->addr == addr(2002));
    EXPECT_FALSE(old_key.expired());  // worker 1 still holds the old client
    w1.refresh();
    EXPECT_TRUE(old_key.expired());
    EXPECT_TRUE(old_peer.expired());

    std::weak_ptr<const PublishedKey> fresh_key = fresh->keys.current()->slots[0];
    fresh.reset();
    dir.remove(1);
    EXPECT_EQ(dir.find(1), nullptr);
    w0.refresh();
    EXPECT_EQ(w0.find(1), nullptr);
    EXPECT_FALSE(fresh_key.expired());
    w1.drop();  // a stopping worker
    EXPECT_TRUE(fresh_key.expired());
}

// Run by hand under ThreadSanitizer too: a worker thread refreshing and sealing for every client
// it knows while the main thread adds clients, rekeys them and removes them.
TEST(HubDirectory, WorkerSealsWhileMainAddsRekeysAndRemoves) {
    HubDirectory dir(1);
    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> sealed{0};
    std::thread worker([&] {
        PeerFollower f(dir);
        while (!done.load(std::memory_order_acquire)) {
            f.refresh();
            for (std::uint32_t id = 0; id < 4; ++id) {
                WorkerPeer* p = f.find(id);
                if (!p || !p->dc.ready()) continue;
                p->dc.reserve(4);
                for (int i = 0; i < 4; ++i)
                    if (!seal(p->dc, 60, 7).empty()) sealed.fetch_add(1, std::memory_order_relaxed);
                p->dc.release();
                p->shared->traffic[0].publish(p->dc.counters());
            }
        }
        f.drop();
    });
    std::vector<std::shared_ptr<HubPeer>> peers(4);
    for (int round = 0; round < 200; ++round) {
        const std::uint32_t id = static_cast<std::uint32_t>(round % 4);
        if (round % 7 == 3) {
            dir.remove(id);
            peers[id].reset();
        } else {
            if (!peers[id]) peers[id] = dir.add(id, addr(static_cast<std::uint16_t>(3000 + id)));
            const std::uint8_t key_id = static_cast<std::uint8_t>(round % 8);
            peers[id]->keys.install(make_keys(id, key_id, static_cast<std::uint8_t>(round)));
            peers[id]->keys.set_primary(key_id);
            peers[id]->keys.retire(static_cast<std::uint8_t>((key_id + 6) % 8));
            dir.publish();
        }
        for (const auto& p : peers)
            if (p) (void)p->traffic_sum();
        std::this_thread::yield();
    }
    // Let the worker see the last state, then stop it.
    const std::uint64_t before = sealed.load();
    for (int i = 0; i < 2000 && sealed.load() == before; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    done.store(true, std::memory_order_release);
    worker.join();
    EXPECT_GT(sealed.load(), 0u);
}
