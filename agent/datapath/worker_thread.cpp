// WorkerThread: attach the wake-up, start, wake, stop and join.
#include "datapath/worker_thread.hpp"

#include <sys/epoll.h>

#include "datapath/worker_mailbox.hpp"

namespace wirebridge::datapath {

Result<void> WorkerThread::attach(io::EventLoop& loop, std::function<void()> on_wake) {
    if (loop_) return fail("worker thread: attached twice", EINVAL);
    auto fd = make_wake_fd();
    if (!fd) return fail(fd.error());
    if (auto r = loop.add_fd(fd->get(), EPOLLIN, [this](std::uint32_t) { on_event(); }); !r) return fail(r.error());
    wake_ = std::move(*fd);
    loop_ = &loop;
    on_wake_ = std::move(on_wake);
    return {};
}

void WorkerThread::start(std::function<void()> body) {
    if (thread_.joinable()) return;
    thread_ = std::thread(std::move(body));
}

void WorkerThread::wake() {
    if (wake_.valid()) signal_wake_fd(wake_.get());
}

void WorkerThread::stop() {
    if (!thread_.joinable()) return;
    stop_.store(true, std::memory_order_release);
    wake();
    thread_.join();
}

void WorkerThread::on_event() {
    drain_wake_fd(wake_.get());
    if (stop_.load(std::memory_order_acquire)) {
        loop_->stop();
        return;
    }
    if (on_wake_) on_wake_();
}

}  // namespace wirebridge::datapath
