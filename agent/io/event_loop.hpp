// EventLoop: one epoll set plus a timer heap on the monotonic clock; the only place a thread blocks.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <queue>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"

namespace wirebridge::io {

using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC: wall-clock jumps never fire timers early
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

// Events given to an fd callback: a mask of EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP.
using FdCallback = std::function<void(std::uint32_t events)>;
// Whether a source holds input its fd no longer shows (see add_fd).
using PendingProbe = std::function<bool()>;
using TimerCallback = std::function<void()>;
using TimerId = std::uint64_t;

// Single-threaded: one loop per worker thread. Callbacks may add and remove fds and timers,
// including their own.
class EventLoop {
public:
    static Result<EventLoop> create();
    EventLoop(EventLoop&&) noexcept;
    EventLoop& operator=(EventLoop&&) = delete;
    EventLoop(const EventLoop&) = delete;
    ~EventLoop();

    // events: EPOLLIN / EPOLLOUT (level-triggered).
    //
    // pending: for a reader that takes more from its fd than one callback handles (the rest of an
    // io_uring batch, of a split super-frame): while the fd is registered for EPOLLIN and the probe
    // says true, the loop does not block and calls `cb(EPOLLIN)` again even though the fd is not
    // readable, once per round like a level-triggered fd, so timers and other fds still run.
    Result<void> add_fd(int fd, std::uint32_t events, FdCallback cb, PendingProbe pending = {});
    Result<void> modify_fd(int fd, std::uint32_t events);
    void remove_fd(int fd);

    TimerId add_timer(TimePoint when, TimerCallback cb);
    TimerId add_timer(Duration after, TimerCallback cb) { return add_timer(Clock::now() + after, std::move(cb)); }
    void cancel_timer(TimerId id);

    // Waits for at most `max_wait` (or until the next timer), then runs what is due.
    Result<void> run_once(Duration max_wait);
    // Runs until stop() is called from a callback or a signal handler context via the loop's thread.
    Result<void> run();
    void stop() { stopping_ = true; }
    bool stopping() const { return stopping_; }

    static TimePoint now() { return Clock::now(); }

private:
    explicit EventLoop(int epfd) : epfd_(epfd) {}

    struct Timer {
        TimePoint when;
        TimerId id;
        bool operator>(const Timer& o) const { return when > o.when || (when == o.when && id > o.id); }
    };

    struct Source {
        FdCallback cb;
        PendingProbe pending;  // empty: only the fd's readiness counts
        std::uint32_t events = 0;
    };
    // A probed source registered for EPOLLIN whose probe says it holds input.
    static bool holds_input(const Source& s);
    bool any_holds_input() const;
    // Calls the callbacks of probed sources that hold input and were not among `ready` this round.
    void rerun_pending(const std::vector<int>& ready);

    int epfd_ = -1;
    bool stopping_ = false;
    TimerId next_timer_ = 1;
    std::unordered_map<int, Source> fds_;
    std::vector<int> probed_;  // fds with a pending probe, in the order they were added
    std::vector<int> ready_;   // fds whose callbacks ran this round (scratch, no allocation per round)
    std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
    std::unordered_map<TimerId, TimerCallback> timer_cbs_;  // absent = cancelled
};

}  // namespace wirebridge::io
