// Tests of EventLoop: fd readiness, timer order, cancellation, self-removal, bounded waits.
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
