// WorkerThread: wake-ups reach the worker's own thread, stop() makes the loop return and joins,
// the body's exit work runs on the worker thread, stop is idempotent and the destructor stops.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "datapath/worker_thread.hpp"
#include "io/event_loop.hpp"

using namespace wirebridge;
using namespace wirebridge::datapath;
using namespace std::chrono_literals;

namespace {

// Polls `cond` for up to 5 s (a worker on a busy machine may take a while to be scheduled).
template <typename F>
bool eventually(F cond) {
    for (int i = 0; i < 500; ++i) {
        if (cond()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return cond();
}

struct Worker {
    io::EventLoop loop;
    std::atomic<int> wakes{0};
    std::atomic<bool> exited{false};
    std::thread::id wake_thread, exit_thread;
    WorkerThread thread;  // last: joined before the rest goes

    explicit Worker(io::EventLoop l) : loop(std::move(l)) {}
    void start() {
        ASSERT_TRUE(thread.attach(loop, [this] {
            wake_thread = std::this_thread::get_id();
            wakes.fetch_add(1);
        }));
        thread.start([this] {
            auto r = loop.run();
            EXPECT_TRUE(r) << (r ? "" : r.error().message);
            exit_thread = std::this_thread::get_id();
            exited.store(true);
        });
    }
};

std::unique_ptr<Worker> make_worker() {
    auto loop = io::EventLoop::create();
    EXPECT_TRUE(loop);
    return std::make_unique<Worker>(std::move(*loop));
}

}  // namespace

TEST(WorkerThread, WakeRunsOnTheWorkerThreadAndStopJoins) {
    auto w = make_worker();
    w->start();
    ASSERT_TRUE(w->thread.running());
    w->thread.wake();
    ASSERT_TRUE(eventually([&] { return w->wakes.load() >= 1; }));
    EXPECT_NE(w->wake_thread, std::this_thread::get_id());
    w->thread.stop();
    EXPECT_FALSE(w->thread.running());
    EXPECT_TRUE(w->exited.load()) << "stop() returned before the body finished";
    EXPECT_EQ(w->exit_thread, w->wake_thread) << "the exit work ran on another thread";
}

TEST(WorkerThread, StopIsNotAWake) {
    auto w = make_worker();
    w->start();
    w->thread.stop();
    EXPECT_EQ(w->wakes.load(), 0);
    EXPECT_TRUE(w->exited.load());
}

TEST(WorkerThread, StopTwiceAndWakeAfterStopAreHarmless) {
    auto w = make_worker();
    w->start();
    w->thread.stop();
    w->thread.stop();
    w->thread.wake();
    EXPECT_FALSE(w->thread.running());
}

TEST(WorkerThread, ManyWakesMergeButNoneIsLost) {
    auto w = make_worker();
    w->start();
    for (int i = 0; i < 1000; ++i) w->thread.wake();
    ASSERT_TRUE(eventually([&] { return w->wakes.load() >= 1; }));
    const int seen = w->wakes.load();
    EXPECT_LE(seen, 1000);
    w->thread.wake();  // a wake after the others were drained still arrives
    EXPECT_TRUE(eventually([&] { return w->wakes.load() > seen; }));
}

TEST(WorkerThread, DestructorStopsAndJoins) {
    std::atomic<bool> exited{false};
    {
        auto loop = io::EventLoop::create();
        ASSERT_TRUE(loop);
        io::EventLoop l = std::move(*loop);
        WorkerThread t;
        ASSERT_TRUE(t.attach(l, [] {}));
        t.start([&] {
            (void)l.run();
            exited.store(true);
        });
    }  // ~WorkerThread before ~EventLoop (declared after it)
    EXPECT_TRUE(exited.load());
}

TEST(WorkerThread, NeverStartedStopsQuietlyAndAttachesOnce) {
    auto loop = io::EventLoop::create();
    ASSERT_TRUE(loop);
    WorkerThread t;
    t.stop();
    t.wake();
    ASSERT_TRUE(t.attach(*loop, [] {}));
    EXPECT_FALSE(t.attach(*loop, [] {}));
    EXPECT_FALSE(t.running());
}
