// Tests of EventLoop: fd readiness, timer order, cancellation, self-removal, bounded waits, pending sources.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include "io/event_loop.hpp"

using namespace wirebridge::io;
using namespace std::chrono_literals;

TEST(EventLoop, FdReadinessCallsBack) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop) << loop.error().message;
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    int calls = 0;
    ASSERT_TRUE(loop->add_fd(p[0], EPOLLIN, [&](std::uint32_t ev) {
        EXPECT_TRUE(ev & EPOLLIN);
        char c;
        ASSERT_EQ(read(p[0], &c, 1), 1);
        ++calls;
    }));
    ASSERT_TRUE(loop->run_once(0ms));
    EXPECT_EQ(calls, 0);
    ASSERT_EQ(write(p[1], "x", 1), 1);
    ASSERT_TRUE(loop->run_once(1s));
    EXPECT_EQ(calls, 1);
    EXPECT_FALSE(loop->add_fd(p[0], EPOLLIN, [](std::uint32_t) {}));  // already registered
    loop->remove_fd(p[0]);
    ASSERT_EQ(write(p[1], "x", 1), 1);
    ASSERT_TRUE(loop->run_once(10ms));
    EXPECT_EQ(calls, 1);
    close(p[0]);
    close(p[1]);
}

TEST(EventLoop, TimersFireInOrderAndCancel) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    std::vector<int> order;
    const auto t0 = EventLoop::now();
    loop->add_timer(30ms, [&] { order.push_back(3); });
    loop->add_timer(10ms, [&] { order.push_back(1); });
    const TimerId cancelled = loop->add_timer(20ms, [&] { order.push_back(2); });
    loop->add_timer(40ms, [&] { loop->stop(); });
    loop->cancel_timer(cancelled);
    ASSERT_TRUE(loop->run());
    EXPECT_EQ(order, (std::vector<int>{1, 3}));
    const auto took = EventLoop::now() - t0;
    EXPECT_GE(took, 40ms);
    EXPECT_LT(took, 2s);
}

TEST(EventLoop, CallbackMayRemoveItselfAndAddTimers) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_EQ(write(p[1], "x", 1), 1);
    bool fired = false;
    ASSERT_TRUE(loop->add_fd(p[0], EPOLLIN, [&](std::uint32_t) {
        loop->remove_fd(p[0]);
        loop->add_timer(0ms, [&] { fired = true; });
    }));
    ASSERT_TRUE(loop->run_once(100ms));
    ASSERT_TRUE(loop->run_once(100ms));
    EXPECT_TRUE(fired);
    close(p[0]);
    close(p[1]);
}

TEST(EventLoop, WaitIsBoundedByMaxWait) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    const auto t0 = EventLoop::now();
    ASSERT_TRUE(loop->run_once(20ms));
    const auto took = EventLoop::now() - t0;
    EXPECT_GE(took, 19ms);
    EXPECT_LT(took, 1s);
}

// A reader that holds input its fd no longer shows (rest of an io_uring batch) is called again
// without the fd becoming readable, once per round, and without blocking the round.
TEST(EventLoop, PendingSourceIsCalledAgainWithoutReadiness) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    int p[2];
    ASSERT_EQ(pipe2(p, O_NONBLOCK), 0);  // the re-runs read with nothing there
    int held = 0;  // frames the "reader" holds
    int calls = 0;
    ASSERT_TRUE(loop->add_fd(
        p[0], EPOLLIN,
        [&](std::uint32_t ev) {
            EXPECT_TRUE(ev & EPOLLIN);
            ++calls;
            char c;
            if (read(p[0], &c, 1) == 1) held += 5;  // one readable byte: the reader takes 5 frames
            if (held > 0) --held;
        },
        [&] { return held > 0; }));
    ASSERT_EQ(write(p[1], "x", 1), 1);
    const auto t0 = EventLoop::now();
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(loop->run_once(1s));
    EXPECT_LT(EventLoop::now() - t0, 900ms);  // no round waited for readiness (a wait is 1 s)
    EXPECT_EQ(calls, 5);                      // 1 for the readable fd + 4 for what the reader held
    EXPECT_EQ(held, 0);
    ASSERT_TRUE(loop->run_once(20ms));  // nothing held, nothing readable: not called
    EXPECT_EQ(calls, 5);

    // Not registered for EPOLLIN (a runner pausing the TAP for back-pressure): not called while held.
    held = 2;
    ASSERT_TRUE(loop->modify_fd(p[0], 0));
    const auto t1 = EventLoop::now();
    ASSERT_TRUE(loop->run_once(20ms));
    EXPECT_GE(EventLoop::now() - t1, 15ms);  // and the round waited: nothing to serve
    EXPECT_EQ(calls, 5);
    ASSERT_TRUE(loop->modify_fd(p[0], EPOLLIN));
    ASSERT_TRUE(loop->run_once(1s));
    ASSERT_TRUE(loop->run_once(1s));
    EXPECT_EQ(calls, 7);
    EXPECT_EQ(held, 0);

    // Removed: never called again, whatever the probe said.
    held = 3;
    loop->remove_fd(p[0]);
    ASSERT_TRUE(loop->run_once(10ms));
    EXPECT_EQ(calls, 7);
    close(p[0]);
    close(p[1]);
}

// A source that stays pending does not starve timers or other fds: one call per round.
TEST(EventLoop, PendingSourceDoesNotStarveTimersOrFds) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    int a[2], b[2];
    ASSERT_EQ(pipe(a), 0);
    ASSERT_EQ(pipe(b), 0);
    long busy_calls = 0;
    ASSERT_TRUE(loop->add_fd(a[0], EPOLLIN, [&](std::uint32_t) { ++busy_calls; }, [] { return true; }));
    int other_calls = 0;
    ASSERT_TRUE(loop->add_fd(b[0], EPOLLIN, [&](std::uint32_t) {
        char c;
        ASSERT_EQ(read(b[0], &c, 1), 1);
        ++other_calls;
        loop->stop();  // the other fd got its turn while the busy source kept reporting input
    }));
    bool fired = false;
    long busy_at_fire = 0;
    loop->add_timer(30ms, [&] {
        fired = true;
        busy_at_fire = busy_calls;
        ASSERT_EQ(write(b[1], "x", 1), 1);
    });
    loop->add_timer(5s, [&] { loop->stop(); });  // guard: the test ends even if the fd is starved
    const auto t0 = EventLoop::now();
    long rounds = 0;
    while (!loop->stopping()) {
        ASSERT_TRUE(loop->run_once(1s));
        ++rounds;
    }
    EXPECT_LT(EventLoop::now() - t0, 2s);
    EXPECT_TRUE(fired);
    EXPECT_EQ(other_calls, 1);
    EXPECT_GT(busy_at_fire, 0);
    EXPECT_EQ(busy_calls, rounds);  // exactly one call a round, never more
    for (int fd : {a[0], a[1], b[0], b[1]}) close(fd);
}

// A callback may remove a pending source (itself or another) during the re-run pass.
TEST(EventLoop, PendingSourcesMayRemoveThemselvesAndOthers) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    int a[2], b[2];
    ASSERT_EQ(pipe(a), 0);
    ASSERT_EQ(pipe(b), 0);
    int a_calls = 0, b_calls = 0;
    ASSERT_TRUE(loop->add_fd(
        a[0], EPOLLIN,
        [&](std::uint32_t) {
            ++a_calls;
            loop->remove_fd(b[0]);
            loop->remove_fd(a[0]);
        },
        [] { return true; }));
    ASSERT_TRUE(loop->add_fd(b[0], EPOLLIN, [&](std::uint32_t) { ++b_calls; }, [] { return true; }));
    ASSERT_TRUE(loop->run_once(1s));
    ASSERT_TRUE(loop->run_once(10ms));
    EXPECT_EQ(a_calls, 1);
    EXPECT_EQ(b_calls, 0);
    for (int fd : {a[0], a[1], b[0], b[1]}) close(fd);
}
