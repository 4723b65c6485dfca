// StreamListener: accept with a cap, a deadline per client, and non-blocking answers.
#include "io/stream_listener.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace wirebridge::io {

Result<std::unique_ptr<StreamListener>> StreamListener::watch(EventLoop& loop, Fd listen_fd, std::size_t max_clients,
                                                              std::chrono::milliseconds deadline, Handlers handlers) {
    std::unique_ptr<StreamListener> l(
        new StreamListener(loop, std::move(listen_fd), max_clients, deadline, std::move(handlers)));
    StreamListener* self = l.get();
    if (auto r = loop.add_fd(l->fd(), EPOLLIN, [self](uint32_t) { self->on_accept(); }); !r) return fail(r.error());
    return l;
}

StreamListener::~StreamListener() {
    if (accept_pause_) loop_.cancel_timer(accept_pause_);
    while (!clients_.empty()) drop(clients_.begin()->first);
    loop_.remove_fd(fd());
}

void StreamListener::on_accept() {
    for (;;) {
        const int fd = accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            // Out of descriptors (or memory): the connection stays queued and the level-triggered
            // listener readable. Stop watching it for a second rather than spin.
            if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) && !accept_pause_) {
                [[maybe_unused]] auto m = loop_.modify_fd(listen_fd_.get(), 0);
                accept_pause_ = loop_.add_timer(std::chrono::seconds(1), [this] {
                    accept_pause_ = 0;
                    [[maybe_unused]] auto r = loop_.modify_fd(listen_fd_.get(), EPOLLIN);
                });
            }
            return;  // EAGAIN, or a client that went away: nothing to do
        }
        // Busy: the clients being served finish or reach their deadline soon.
        if (clients_.size() >= max_clients_ || !loop_.add_fd(fd, EPOLLIN, [this, fd](uint32_t) { handlers_.on_ready(fd); })) {
            close(fd);
            continue;
        }
        clients_[fd] = loop_.add_timer(deadline_, [this, fd] {
            clients_[fd] = 0;  // fired: nothing to cancel
            drop(fd);
        });
    }
}

void StreamListener::drop(int fd) {
    auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    if (it->second != 0) loop_.cancel_timer(it->second);
    clients_.erase(it);
    loop_.remove_fd(fd);
    if (handlers_.on_dropped) handlers_.on_dropped(fd);
    close(fd);
}

StreamListener::Sent StreamListener::send_some(int fd, const std::string& out, std::size_t& off) {
    while (off < out.size()) {
        const ssize_t n = send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            // The rest when the client reads; its deadline still bounds it.
            [[maybe_unused]] auto m = loop_.modify_fd(fd, EPOLLOUT);
            return Sent::later;
        }
        return Sent::gone;
    }
    return Sent::all;
}

bool StreamListener::watch_input(int fd) { return static_cast<bool>(loop_.modify_fd(fd, EPOLLIN)); }

}  // namespace wirebridge::io
