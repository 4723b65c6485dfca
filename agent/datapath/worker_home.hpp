// WorkerHome: where a data path worker runs: on a loop and thread of its own, or on its caller's loop.
//
// Both workers (client and hub) run either way: threaded, on an EventLoop of their own that a
// WorkerThread runs; or in single-thread mode (their Setup::host_loop), their fds on the caller's
// loop, no thread, a wake-up a plain call on the caller's thread. The choice is made here, once.
#pragma once

#include <functional>
#include <optional>

#include "common/result.hpp"
#include "datapath/worker_thread.hpp"
#include "io/event_loop.hpp"

namespace wirebridge::datapath {

class WorkerHome {
public:
    WorkerHome() = default;
    WorkerHome(const WorkerHome&) = delete;
    WorkerHome& operator=(const WorkerHome&) = delete;

    // host: the caller's loop (single-thread mode), or null: a loop of its own. on_wake is what
    // wake() makes happen: soon on the worker's thread, or at once on the host's. Once.
    Result<void> open(io::EventLoop* host, std::function<void()> on_wake);
    // The loop the worker puts its fds on (after open()).
    io::EventLoop& loop() { return *loop_; }
    bool threaded() const { return own_.has_value(); }
    // Threaded: the thread starts running `body` (the loop, then the worker's exit work, so that
    // work happens on the worker's own thread). On the host loop: nothing, the host runs it.
    void start(std::function<void()> body);
    // on_wake soon on the worker's thread, or now (host loop; nothing once stopped).
    void wake();
    // Threaded: the loop returns, the body finishes, the thread is joined. On the host loop: wake-ups
    // end (taking its fds off the loop is the worker's). Idempotent.
    void stop();

private:
    std::optional<io::EventLoop> own_;
    io::EventLoop* loop_ = nullptr;
    std::function<void()> on_wake_;  // on the host loop (WorkerThread keeps the threaded one)
    bool stopped_ = false;           // on the host loop
    WorkerThread thread_;            // last: joined before the loop it runs goes
};

}  // namespace wirebridge::datapath
