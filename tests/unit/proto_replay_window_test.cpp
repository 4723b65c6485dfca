// Replay window: packet_id.c semantics (backtrack 64, 15 s, id 0 invalid, long form).
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace wirebridge::proto
