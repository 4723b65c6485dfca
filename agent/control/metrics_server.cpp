// MetricsServer: see metrics_server.hpp.
#include "control/metrics_server.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "control/http_request.hpp"

namespace wirebridge::control {

namespace {

constexpr auto kClientTimeout = std::chrono::seconds(5);
constexpr std::size_t kMaxDrain = 64 * 1024;  // read and dropped after the answer, at most
constexpr std::string_view kMetricsType = "text/plain; version=0.0.4; charset=utf-8";

std::string answer_for(const HttpParseResult& p, const MetricsServer::Body& body) {
    using State = HttpParseResult::State;
    if (p.state == State::bad)
        return http_response(p.status, "text/plain; charset=utf-8", std::string(http_reason(p.status)) + ": " + p.reason + "\n");
    const HttpRequest& r = p.request;
    const bool head = r.method == "HEAD";
    if (r.method != "GET" && !head)
        return http_response(405, "text/plain; charset=utf-8", "only GET and HEAD\n");
    if (r.path == "/metrics") return http_response(200, kMetricsType, body(), !head);
    if (r.path == "/")
        return http_response(200, "text/plain; charset=utf-8", "wirebridge: metrics at /metrics\n", !head);
    return http_response(404, "text/plain; charset=utf-8", "not found: metrics at /metrics\n", !head);
}

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::listen(io::EventLoop& loop,
                                                             const io::SocketAddress& address, Body body) {
    std::unique_ptr<MetricsServer> s(new MetricsServer(loop, std::move(body)));
    s->listen_fd_ = socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->listen_fd_ < 0) return fail_errno("cannot create the metrics socket");
    const int one = 1;
    setsockopt(s->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (address.family() == AF_INET6) setsockopt(s->listen_fd_, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(s->listen_fd_, address.get(), address.length) < 0)
        return fail_errno("cannot bind the metrics endpoint to " + address.to_string());
    if (::listen(s->listen_fd_, 16) < 0) return fail_errno("cannot listen on " + address.to_string());
    s->address_ = address;
    s->address_.length = sizeof(s->address_.storage);
    if (getsockname(s->listen_fd_, s->address_.get(), &s->address_.length) < 0) s->address_ = address;
    MetricsServer* self = s.get();
    if (auto r = loop.add_fd(s->listen_fd_, EPOLLIN, [self](uint32_t) { self->on_accept(); }); !r)
        return fail(r.error());
    return s;
}

MetricsServer::~MetricsServer() {
    if (accept_pause_) loop_.cancel_timer(accept_pause_);
    while (!clients_.empty()) drop(clients_.begin()->first);
    if (listen_fd_ >= 0) {
        loop_.remove_fd(listen_fd_);
        close(listen_fd_);
    }
}

void MetricsServer::on_accept() {
    for (;;) {
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            // Out of descriptors: the connection stays queued; stop watching for a second.
            if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) && !accept_pause_) {
                [[maybe_unused]] auto m = loop_.modify_fd(listen_fd_, 0);
                accept_pause_ = loop_.add_timer(std::chrono::seconds(1), [this] {
                    accept_pause_ = 0;
                    [[maybe_unused]] auto r = loop_.modify_fd(listen_fd_, EPOLLIN);
                });
            }
            return;
        }
        if (clients_.size() >= kMaxClients || !loop_.add_fd(fd, EPOLLIN, [this, fd](uint32_t) { on_client(fd); })) {
            close(fd);
            continue;
        }
        Client& c = clients_[fd];
        c.timeout = loop_.add_timer(kClientTimeout, [this, fd] {
            clients_[fd].timeout = 0;
            drop(fd);
        });
    }
}

void MetricsServer::on_client(int fd) {
    auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    Client& c = it->second;
    if (c.draining) return drain(fd);
    if (c.answered) return write_answer(fd);
    // Never more than one byte past the limit, so the parser always sees an over-long head.
    char buf[2048];
    const std::size_t room = kMaxHttpHead + 1 - std::min(c.in.size(), kMaxHttpHead + 1);
    const ssize_t n = recv(fd, buf, std::min(sizeof(buf), std::max<std::size_t>(room, 1)), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return drop(fd);  // closed before a whole request, or an error
    c.in.append(buf, static_cast<std::size_t>(n));
    const HttpParseResult p = parse_http_request(c.in);
    if (p.state == HttpParseResult::State::incomplete) return;
    c.out = answer_for(p, body_);
    c.in.clear();
    c.answered = true;
    write_answer(fd);
}

void MetricsServer::write_answer(int fd) {
    auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    Client& c = it->second;
    while (c.out_off < c.out.size()) {
        const ssize_t n = send(fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c.out_off += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            [[maybe_unused]] auto m = loop_.modify_fd(fd, EPOLLOUT);  // the rest when it reads
            return;
        }
        break;  // the client went away
    }
    // All written: half-close so the client sees the end, then read and discard what it still
    // sends until it closes (a lingering close: closing with unread bytes would send a reset that
    // can destroy the answer before the client reads it, e.g. a 414 to a client still sending).
    // Bounded by kMaxDrain bytes and the client's timeout.
    shutdown(fd, SHUT_WR);
    c.draining = true;
    if (!loop_.modify_fd(fd, EPOLLIN)) return drop(fd);
    drain(fd);
}

void MetricsServer::drain(int fd) {
    auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    Client& c = it->second;
    char buf[2048];
    for (;;) {
        const ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;  // more may come; the timeout ends it
        if (n <= 0) return drop(fd);           // the client closed (or an error)
        c.drained += static_cast<std::size_t>(n);
        if (c.drained > kMaxDrain) return drop(fd);
    }
}

void MetricsServer::drop(int fd) {
    auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    if (it->second.timeout != 0) loop_.cancel_timer(it->second.timeout);
    loop_.remove_fd(fd);
    close(fd);
    clients_.erase(it);
}

}  // namespace wirebridge::control
