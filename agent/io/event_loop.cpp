// EventLoop implementation: epoll_wait bounded by the earliest timer.
#include "io/event_loop.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>

namespace wirebridge::io {

Result<EventLoop> EventLoop::create() {
    const int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) return fail_errno("epoll_create1");
    return EventLoop(fd);
}

EventLoop::EventLoop(EventLoop&& o) noexcept
    : epfd_(o.epfd_), stopping_(o.stopping_), next_timer_(o.next_timer_), fds_(std::move(o.fds_)),
      timers_(std::move(o.timers_)), timer_cbs_(std::move(o.timer_cbs_)) {
    o.epfd_ = -1;
}

EventLoop::~EventLoop() {
    if (epfd_ >= 0) close(epfd_);
}

Result<void> EventLoop::add_fd(int fd, std::uint32_t events, FdCallback cb) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) return fail_errno("epoll_ctl add fd " + std::to_string(fd));
    fds_[fd] = std::move(cb);
    return {};
}

Result<void> EventLoop::modify_fd(int fd, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) != 0) return fail_errno("epoll_ctl mod fd " + std::to_string(fd));
    return {};
}

void EventLoop::remove_fd(int fd) {
    if (fds_.erase(fd) == 0) return;
    epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

TimerId EventLoop::add_timer(TimePoint when, TimerCallback cb) {
    const TimerId id = next_timer_++;
    timers_.push(Timer{when, id});
    timer_cbs_.emplace(id, std::move(cb));
    return id;
}

void EventLoop::cancel_timer(TimerId id) { timer_cbs_.erase(id); }

Result<void> EventLoop::run_once(Duration max_wait) {
    // Drop cancelled timers at the top so they do not shorten the wait.
    while (!timers_.empty() && !timer_cbs_.count(timers_.top().id)) timers_.pop();
    Duration wait = max_wait;
    if (!timers_.empty()) wait = std::min(wait, std::max(Duration::zero(), timers_.top().when - now()));
    // Round up so a timer is never polled for repeatedly just before it is due.
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
    epoll_event events[64];
    const int n = epoll_wait(epfd_, events, 64, static_cast<int>(std::min<long long>(ms, 1 << 30)));
    if (n < 0 && errno != EINTR) return fail_errno("epoll_wait");
    for (int i = 0; i < n; ++i) {
        auto it = fds_.find(events[i].data.fd);
        if (it == fds_.end()) continue;  // removed by an earlier callback in this round
        FdCallback cb = it->second;      // copy: the callback may remove itself
        cb(events[i].events);
    }
    const TimePoint t = now();
    while (!timers_.empty() && timers_.top().when <= t) {
        const TimerId id = timers_.top().id;
        timers_.pop();
        auto it = timer_cbs_.find(id);
        if (it == timer_cbs_.end()) continue;
        TimerCallback cb = std::move(it->second);
        timer_cbs_.erase(it);
        cb();
    }
    return {};
}

Result<void> EventLoop::run() {
    while (!stopping_) {
        auto r = run_once(std::chrono::seconds(1));
        if (!r) return r;
    }
    return {};
}

}  // namespace wirebridge::io
