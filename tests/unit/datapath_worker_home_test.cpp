// WorkerHome: on the caller's loop a wake-up is a plain call (none once stopped) and nothing
// starts; on a loop of its own the body runs on its thread, wake-ups reach it there, stop joins.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "datapath/worker_home.hpp"
#include "io/event_loop.hpp"

using namespace wirebridge;
using namespace wirebridge::datapath;
using namespace std::chrono_literals;

TEST(WorkerHome, OnTheHostLoopAWakeIsAPlainCallUntilStopped) {
    auto host = io::EventLoop::create();
    ASSERT_TRUE(host);
    int wakes = 0;
    bool ran = false;
    WorkerHome home;
    ASSERT_TRUE(home.open(&*host, [&] { ++wakes; }));
    EXPECT_FALSE(home.threaded());
    EXPECT_EQ(&home.loop(), &*host);
    home.start([&] { ran = true; });
    EXPECT_FALSE(ran) << "the host runs its own loop";
    home.wake();
    EXPECT_EQ(wakes, 1);
    home.stop();
    home.wake();
    EXPECT_EQ(wakes, 1) << "no wake-up once stopped";
    EXPECT_FALSE(home.open(&*host, [] {})) << "once";
}

TEST(WorkerHome, OnItsOwnLoopTheBodyAndWakesRunOnItsThread) {
    auto host = io::EventLoop::create();
    ASSERT_TRUE(host);
    std::atomic<int> wakes{0};
    std::atomic<bool> finished{false};
    std::thread::id wake_thread, body_thread;
    WorkerHome home;
    ASSERT_TRUE(home.open(nullptr, [&] {
        wake_thread = std::this_thread::get_id();
        wakes.fetch_add(1);
    }));
    EXPECT_TRUE(home.threaded());
    EXPECT_NE(&home.loop(), &*host);
    home.start([&] {
        body_thread = std::this_thread::get_id();
        EXPECT_TRUE(home.loop().run());
        finished.store(true);
    });
    home.wake();
    for (int i = 0; i < 500 && wakes.load() == 0; ++i) std::this_thread::sleep_for(10ms);
    home.stop();
    EXPECT_TRUE(finished.load()) << "stop() joined the body";
    EXPECT_EQ(wakes.load(), 1);
    EXPECT_EQ(wake_thread, body_thread);
    EXPECT_NE(body_thread, std::this_thread::get_id());
    home.stop();  // idempotent
}
