// StreamListener: a listening stream socket on the event loop that accepts at most max_clients
// at once and drops each client at its deadline, whatever it is doing (the control socket and the
// metrics endpoint).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/result.hpp"
#include "io/event_loop.hpp"
#include "io/fd.hpp"

namespace wirebridge::io {

// Never blocks the loop: the listener and its clients are non-blocking. A client beyond
// max_clients is closed at accept (served clients end within their deadline); out of descriptors,
// the listener is not watched for a second rather than spun on. The owner reads and writes the
// client fds it is handed and ends a client with drop(); on_dropped tells it a client ended
// (dropped, timed out, or the listener destroyed), so it forgets what it kept for that fd.
class StreamListener {
public:
    struct Handlers {
        std::function<void(int fd)> on_ready;    // a client fd is readable (or writable, when asked)
        std::function<void(int fd)> on_dropped;  // the fd is closed right after this returns
    };

    // Takes a bound, listening, non-blocking socket and watches it.
    static Result<std::unique_ptr<StreamListener>> watch(EventLoop& loop, Fd listen_fd, std::size_t max_clients,
                                                         std::chrono::milliseconds deadline, Handlers handlers);
    ~StreamListener();
    StreamListener(const StreamListener&) = delete;
    StreamListener& operator=(const StreamListener&) = delete;

    int fd() const { return listen_fd_.get(); }
    std::size_t clients() const { return clients_.size(); }

    // Closes a client (and tells on_dropped); a no-op for an fd that is not a client.
    void drop(int fd);
    // What send_some did.
    enum class Sent { all, later, gone };
    // Sends what the client's socket takes of out[off..); off moves on. later: the socket is full
    // and the client is watched for writability (on_ready when it has room); gone: it went away.
    Sent send_some(int fd, const std::string& out, std::size_t& off);
    // Watches the client for input again (after send_some said later).
    bool watch_input(int fd);

private:
    StreamListener(EventLoop& loop, Fd listen_fd, std::size_t max_clients, std::chrono::milliseconds deadline,
                   Handlers handlers)
        : loop_(loop), listen_fd_(std::move(listen_fd)), max_clients_(max_clients), deadline_(deadline),
          handlers_(std::move(handlers)) {}
    void on_accept();

    EventLoop& loop_;
    Fd listen_fd_;
    std::size_t max_clients_;
    std::chrono::milliseconds deadline_;
    Handlers handlers_;
    TimerId accept_pause_ = 0;
    std::unordered_map<int, TimerId> clients_;  // fd -> its deadline
};

}  // namespace wirebridge::io
