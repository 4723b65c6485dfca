// Replay window: packet_id.c semantics (backtrack 64, 15 s, id 0 invalid, long form).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "proto/replay_window.hpp"

namespace wirebridge::proto {
namespace {

TEST(ReplayWindow, InOrderReplayAndZero) {
    ReplayWindow w;
    EXPECT_EQ(w.accept(0, 0), Drop::bad_packet_id);
    for (uint32_t i = 1; i <= 100; ++i) ASSERT_EQ(w.accept(i, 0), Drop::none);
    EXPECT_EQ(w.accept(100, 0), Drop::replay);
    EXPECT_EQ(w.accept(50, 0), Drop::replay);
    EXPECT_EQ(w.highest(), 100u);
}

TEST(ReplayWindow, BacktrackOf64) {
    ReplayWindow w;
    ASSERT_EQ(w.accept(100, 0), Drop::none);
    EXPECT_EQ(w.accept(36, 0), Drop::replay);  // 64 back is outside the window
    ReplayWindow v;
    ASSERT_EQ(v.accept(100, 0), Drop::none);
    EXPECT_EQ(v.accept(37, 0), Drop::none);   // 63 back
    EXPECT_EQ(v.accept(37, 0), Drop::replay);
    EXPECT_EQ(v.accept(36, 0), Drop::replay); // 64 back: outside
}

TEST(ReplayWindow, TimeLimit) {
    ReplayWindow w;
    ASSERT_EQ(w.accept(10, 100), Drop::none);
    EXPECT_EQ(w.check(9, 115), Drop::none);    // 15 s later: still fine
    EXPECT_EQ(w.check(9, 116), Drop::replay);  // more than 15 s after id 10 arrived
    ASSERT_EQ(w.accept(11, 116), Drop::none);
    EXPECT_EQ(w.check(9, 116), Drop::replay);  // id 10 stale expires all below it
}

TEST(ReplayWindow, CheckDoesNotRecord) {
    ReplayWindow w;
    EXPECT_EQ(w.check(5, 0), Drop::none);
    EXPECT_EQ(w.check(5, 0), Drop::none);
    w.commit(5, 0);
    EXPECT_EQ(w.check(5, 0), Drop::replay);
}

TEST(ReplayWindow, LongJumpClearsWindow) {
    ReplayWindow w;
    ASSERT_EQ(w.accept(1, 0), Drop::none);
    ASSERT_EQ(w.accept(100000, 0), Drop::none);
    EXPECT_EQ(w.accept(99999, 0), Drop::none);
    EXPECT_EQ(w.accept(1, 0), Drop::replay);
}

TEST(ReplayWindow, LongFormTime) {
    ReplayWindow w;
    ASSERT_EQ(w.check_long(1, 1000, 0), Drop::none);
    w.commit_long(1, 1000, 0);
    EXPECT_EQ(w.check_long(1, 1000, 0), Drop::replay);
    EXPECT_EQ(w.check_long(5, 999, 0), Drop::bad_packet_id);  // sender time went backwards
    EXPECT_EQ(w.check_long(1, 1001, 0), Drop::none);          // new sender instance restarts ids
    w.commit_long(1, 1001, 0);
    EXPECT_EQ(w.check_long(2, 1000, 0), Drop::bad_packet_id);
}

// The reordering that parallel workers cause: ids come in blocks, interleaved, each block late by
// up to the other workers' blocks. Within the 64-id window every one is accepted, once.
TEST(ReplayWindow, InterleavedWorkerBlocksAllAccepted) {
    ReplayWindow w;
    // Two workers with blocks of 32: worker 1's block lands before worker 0's.
    for (uint32_t base = 0; base < 6400; base += 64) {
        for (uint32_t i = 33; i <= 64; ++i) ASSERT_EQ(w.accept(base + i, 0), Drop::none) << base + i;
        for (uint32_t i = 1; i <= 32; ++i) ASSERT_EQ(w.accept(base + i, 0), Drop::none) << base + i;
    }
    for (uint32_t id = 6400 - 63; id <= 6400; ++id) EXPECT_EQ(w.accept(id, 0), Drop::replay);
    // 64 behind the top is outside --replay-window 64.
    EXPECT_EQ(w.accept(6400 - 64, 0), Drop::replay);
}

// Several threads open packets of one key: each id is offered twice (by two threads, as a replayed
// copy would be), in blocks reordered like the workers' sends. No id may be accepted twice, and
// what is within the window when it arrives is accepted.
TEST(SharedReplayWindow, ThreadsNeverAcceptAnIdTwice) {
    constexpr unsigned kThreads = 4;
    constexpr uint32_t kBlock = 8;
    constexpr uint32_t kIds = 200000;
    SharedReplayWindow w;
    std::vector<std::atomic<uint8_t>> accepted(kIds + 1);
    std::atomic<uint64_t> total{0};
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            uint64_t mine = 0;
            for (uint32_t block = 0; block * kBlock < kIds; ++block) {
                // Thread t owns the block; thread t+1 offers it again (a duplicate).
                if (block % kThreads != t && (block + 1) % kThreads != t) continue;
                const uint32_t first = block * kBlock + 1;
                if ((block & 1) == 0) {
                    w.locked([&](ReplayWindow& rw) {
                        for (uint32_t id = first; id < first + kBlock && id <= kIds; ++id)
                            if (rw.accept(id, 0) == Drop::none) {
                                accepted[id].fetch_add(1);
                                ++mine;
                            }
                    });
                } else {
                    for (uint32_t id = first + kBlock - 1; id >= first; --id)  // reversed inside the block
                        if (id <= kIds && w.accept(id, 0) == Drop::none) {
                            accepted[id].fetch_add(1);
                            ++mine;
                        }
                }
            }
            total += mine;
        });
    }
    for (auto& th : threads) th.join();
    uint64_t once = 0;
    for (uint32_t id = 1; id <= kIds; ++id) {
        ASSERT_LE(accepted[id].load(), 1) << "id " << id << " accepted twice";
        once += accepted[id].load();
    }
    EXPECT_EQ(once, total.load());
    EXPECT_GT(total.load(), 0u);
    EXPECT_GE(w.highest(), kIds - kBlock);
}

}  // namespace
}  // namespace wirebridge::proto
