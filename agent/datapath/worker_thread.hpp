// WorkerThread: the life cycle every data path worker (client or hub) shares: its thread, a wake-up on its loop, stop and join.
#pragma once

#include <atomic>
#include <functional>
#include <thread>

#include "common/result.hpp"
#include "io/event_loop.hpp"
#include "io/fd.hpp"

namespace wirebridge::datapath {

// A worker owns one of these next to its EventLoop. attach() puts an eventfd on the loop; wake()
// from any thread makes the loop call on_wake on the worker's own thread; stop() makes the loop
// return instead, and joins. The body given to start() runs the loop and then the worker's exit
// work (dropping its keys), so that work happens on the worker's own thread.
class WorkerThread {
public:
    WorkerThread() = default;
    ~WorkerThread() { stop(); }
    WorkerThread(const WorkerThread&) = delete;
    WorkerThread& operator=(const WorkerThread&) = delete;

    // Before start(): registers the wake-up on `loop` (which must outlive this object's thread).
    Result<void> attach(io::EventLoop& loop, std::function<void()> on_wake);
    // Starts the thread running `body`. Once only.
    void start(std::function<void()> body);
    // Any thread: on_wake runs soon on the worker's thread (wake-ups may merge into one call).
    void wake();
    // Any thread but the worker's: the loop stops, the body finishes, the thread is joined.
    // Idempotent; a thread never started is left alone.
    void stop();
    bool running() const { return thread_.joinable(); }

private:
    void on_event();

    io::EventLoop* loop_ = nullptr;
    io::Fd wake_;
    std::function<void()> on_wake_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace wirebridge::datapath
