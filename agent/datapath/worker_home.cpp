// WorkerHome: a worker's own loop and thread, or its caller's loop.
#include "datapath/worker_home.hpp"

#include <cerrno>

namespace wirebridge::datapath {

Result<void> WorkerHome::open(io::EventLoop* host, std::function<void()> on_wake) {
    if (loop_) return fail("worker home: opened twice", EINVAL);
    if (host) {
        loop_ = host;
        on_wake_ = std::move(on_wake);
        return {};
    }
    auto l = io::EventLoop::create();
    if (!l) return fail(l.error());
    own_.emplace(std::move(*l));
    loop_ = &*own_;
    return thread_.attach(*loop_, std::move(on_wake));
}

void WorkerHome::start(std::function<void()> body) {
    if (own_) thread_.start(std::move(body));
}

void WorkerHome::wake() {
    if (own_) thread_.wake();
    else if (!stopped_ && on_wake_) on_wake_();
}

void WorkerHome::stop() {
    if (own_) thread_.stop();
    else stopped_ = true;
}

}  // namespace wirebridge::datapath
