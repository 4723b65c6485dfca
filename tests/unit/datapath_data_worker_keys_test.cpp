// WorkerKeys/KeyFollower: keys published by the session thread reach the workers' DataChannels
// (own contexts, shared window and send counter), retired keys are freed once no worker holds
// them, and a worker thread keeps sealing while the main thread rekeys underneath it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "datapath/data_worker_keys.hpp"
#include "datapath_test_keys.hpp"

using namespace wirebridge;
using namespace wirebridge::datapath;

namespace {

using test::fill_keys;
using test::mirror_keys;

std::vector<std::uint8_t> seal(datapath::DataChannel& dc, std::size_t len) {
    std::vector<std::uint8_t> buf(datapath::kHeadroom + len, 0x5a);
    buf.resize(dc.seal(buf, len));
    return buf;
}

}  // namespace

TEST(WorkerKeys, FollowersGetOwnContextsAndShareWindowAndCounter) {
    WorkerKeys pub;
    KeyFollower f0(pub), f1(pub);
    datapath::DataChannel w0, w1;
    EXPECT_TRUE(f0.refresh(w0));
    EXPECT_FALSE(w0.ready());
    auto k = fill_keys(0, 0x11);
    datapath::DataChannel peer;
    auto pk = mirror_keys(k);
    ASSERT_TRUE(peer.install(pk));
    peer.set_primary(0);
    auto published = pub.install(std::move(k));
    ASSERT_TRUE(published);
    pub.set_primary(0);
    ASSERT_TRUE(f0.refresh(w0));
    ASSERT_TRUE(f1.refresh(w1));
    ASSERT_TRUE(w0.ready() && w1.ready());
    EXPECT_EQ(f0.seen_epoch(), pub.epoch());
    // One send counter: the workers' ids never collide.
    auto p0 = seal(w0, 100), p1 = seal(w1, 100);
    ASSERT_FALSE(p0.empty());
    EXPECT_EQ(published->keys.send_packet_id->load(), 2u);
    EXPECT_NE(std::memcmp(p0.data() + 4, p1.data() + 4, 4), 0);
    // One receive window: a packet opened by worker 0 is a replay for worker 1.
    auto in = seal(peer, 80);
    auto copy = in;
    std::span<std::uint8_t> payload;
    EXPECT_EQ(w0.open(in, 0, payload), datapath::DataDrop::none);
    EXPECT_EQ(w1.open(copy, 0, payload), datapath::DataDrop::replay);
}

TEST(WorkerKeys, RetiredKeysAreFreedWhenTheLastWorkerLetsGo) {
    WorkerKeys pub;
    KeyFollower f(pub);
    datapath::DataChannel dc;
    std::weak_ptr<const PublishedKey> old = pub.install(fill_keys(0, 0x21));
    pub.set_primary(0);
    ASSERT_TRUE(f.refresh(dc));
    pub.install(fill_keys(1, 0x31));  // rekey
    pub.set_primary(1);
    pub.retire(0);
    EXPECT_FALSE(old.expired());  // the worker's set still has it
    ASSERT_TRUE(f.refresh(dc));
    EXPECT_TRUE(old.expired());   // wiped (SecureBytes) and freed
    EXPECT_EQ(dc.primary(), std::optional<std::uint8_t>(1));
    std::weak_ptr<const PublishedKey> k1 = pub.current()->slots[1];
    pub.clear();
    f.drop(dc);
    EXPECT_TRUE(k1.expired());
    EXPECT_FALSE(dc.ready());
}

TEST(WorkerKeys, SameKeyIdAfterWrapIsANewKey) {
    WorkerKeys pub;
    KeyFollower f(pub);
    datapath::DataChannel dc, peer_old, peer_new;
    auto a = fill_keys(2, 0x41);
    auto pa = mirror_keys(a);
    ASSERT_TRUE(peer_old.install(pa));
    peer_old.set_primary(2);
    pub.install(std::move(a));
    pub.set_primary(2);
    ASSERT_TRUE(f.refresh(dc));
    pub.retire(2);
    auto b = fill_keys(2, 0x51);  // key_id 2 again, other material
    auto pb = mirror_keys(b);
    ASSERT_TRUE(peer_new.install(pb));
    peer_new.set_primary(2);
    pub.install(std::move(b));
    pub.set_primary(2);
    ASSERT_TRUE(f.refresh(dc));
    std::span<std::uint8_t> payload;
    auto stale = seal(peer_old, 60);
    EXPECT_EQ(dc.open(stale, 0, payload), datapath::DataDrop::auth_failed);
    auto fresh = seal(peer_new, 60);
    EXPECT_EQ(dc.open(fresh, 0, payload), datapath::DataDrop::none);
}

// A worker thread seals and refreshes in a loop while the main thread rekeys 200 times (the
// pattern of a rekey under traffic); run under ASan/TSan this catches use-after-free and races.
TEST(WorkerKeys, RekeysUnderAWorkingThread) {
    WorkerKeys pub;
    pub.install(fill_keys(0, 1));
    pub.set_primary(0);
    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> sealed{0};
    std::thread worker([&] {
        KeyFollower f(pub);
        datapath::DataChannel dc;
        std::vector<std::uint8_t> buf(datapath::kHeadroom + 200);
        while (!done.load()) {
            f.refresh(dc);
            dc.reserve(8);
            for (int i = 0; i < 8; ++i)
                if (dc.seal(buf, 200) != 0) sealed.fetch_add(1);
            dc.release();
        }
        f.drop(dc);
    });
    // The worker seals before the rekeys start: on a loaded machine its thread may otherwise get
    // no turn before all 200 are done (then nothing was sealed "under" them, and the check fails).
    for (int wait = 0; wait < 5000 && sealed.load() == 0; ++wait) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    for (int i = 1; i <= 200; ++i) {
        const auto id = static_cast<std::uint8_t>(i % proto::kKeyIdCount);
        pub.install(fill_keys(id, static_cast<std::uint8_t>(i)));
        pub.set_primary(id);
        pub.retire(static_cast<std::uint8_t>((i + proto::kKeyIdCount - 2) % proto::kKeyIdCount));
        std::this_thread::yield();
    }
    done = true;
    worker.join();
    EXPECT_GT(sealed.load(), 0u);
}
