// EventLoop implementation: epoll_wait bounded by the earliest timer, not blocking while a source holds input.
#include "io/event_loop.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace wirebridge::io {

Result<EventLoop> EventLoop::create() {
    const int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) return fail_errno("epoll_create1");
    return EventLoop(fd);
}

EventLoop::EventLoop(EventLoop&& o) noexcept
    : epfd_(o.epfd_), stopping_(o.stopping_), next_timer_(o.next_timer_), fds_(std::move(o.fds_)),
      probed_(std::move(o.probed_)), ready_(std::move(o.ready_)), timers_(std::move(o.timers_)),
      timer_cbs_(std::move(o.timer_cbs_)) {
    o.epfd_ = -1;
}

EventLoop::~EventLoop() {
    if (epfd_ >= 0) close(epfd_);
}

Result<void> EventLoop::add_fd(int fd, std::uint32_t events, FdCallback cb, PendingProbe pending) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) return fail_errno("epoll_ctl add fd " + std::to_string(fd));
    if (pending) probed_.push_back(fd);
    fds_[fd] = Source{std::move(cb), std::move(pending), events};
    return {};
}

Result<void> EventLoop::modify_fd(int fd, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) != 0) return fail_errno("epoll_ctl mod fd " + std::to_string(fd));
    if (auto it = fds_.find(fd); it != fds_.end()) it->second.events = events;
    return {};
}

void EventLoop::remove_fd(int fd) {
    if (fds_.erase(fd) == 0) return;
    probed_.erase(std::remove(probed_.begin(), probed_.end(), fd), probed_.end());
    epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

bool EventLoop::holds_input(const Source& s) { return s.pending && (s.events & EPOLLIN) && s.pending(); }

bool EventLoop::any_holds_input() const {
    for (int fd : probed_) {
        auto it = fds_.find(fd);
        if (it != fds_.end() && holds_input(it->second)) return true;
    }
    return false;
}

void EventLoop::rerun_pending(const std::vector<int>& ready) {
    // By index and by fd: a callback may add or remove sources, this one included.
    for (std::size_t i = 0; i < probed_.size(); ++i) {
        const int fd = probed_[i];
        if (std::find(ready.begin(), ready.end(), fd) != ready.end()) continue;  // ran this round
        auto it = fds_.find(fd);
        if (it == fds_.end() || !holds_input(it->second)) continue;
        FdCallback cb = it->second.cb;  // copy: the callback may remove itself
        cb(EPOLLIN);
    }
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
    // A source holding input must be served now, as if its fd were readable.
    Duration wait = any_holds_input() ? Duration::zero() : max_wait;
    if (!timers_.empty()) wait = std::min(wait, std::max(Duration::zero(), timers_.top().when - now()));
    // Round up so a timer is never polled for repeatedly just before it is due.
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
    epoll_event events[64];
    const int n = epoll_wait(epfd_, events, 64, static_cast<int>(std::min<long long>(ms, 1 << 30)));
    if (n < 0 && errno != EINTR) return fail_errno("epoll_wait");
    ready_.clear();
    for (int i = 0; i < n; ++i) {
        auto it = fds_.find(events[i].data.fd);
        if (it == fds_.end()) continue;  // removed by an earlier callback in this round
        ready_.push_back(events[i].data.fd);
        FdCallback cb = it->second.cb;  // copy: the callback may remove itself
        cb(events[i].events);
    }
    if (!probed_.empty()) rerun_pending(ready_);
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
