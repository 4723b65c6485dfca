// MetricsServer: see metrics_server.hpp.
#include "control/metrics_server.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "control/http_request.hpp"

namespace wirebridge::control {

namespace {

constexpr std::chrono::milliseconds kClientTimeout = std::chrono::seconds(5);
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
    std::unique_ptr<MetricsServer> s(new MetricsServer(std::move(body)));
    io::Fd fd(socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return fail_errno("cannot create the metrics socket");
    const int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (address.family() == AF_INET6) setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd.get(), address.get(), address.length) < 0)
        return fail_errno("cannot bind the metrics endpoint to " + address.to_string());
    if (::listen(fd.get(), 16) < 0) return fail_errno("cannot listen on " + address.to_string());
    s->address_ = address;
    s->address_.length = sizeof(s->address_.storage);
    if (getsockname(fd.get(), s->address_.get(), &s->address_.length) < 0) s->address_ = address;
    MetricsServer* self = s.get();
    auto l = io::StreamListener::watch(loop, std::move(fd), kMaxClients, kClientTimeout,
                                       {[self](int c) { self->on_client(c); }, [self](int c) { self->clients_.erase(c); }});
    if (!l) return fail(l.error());
    s->listener_ = std::move(*l);
    return s;
}

MetricsServer::~MetricsServer() { listener_.reset(); }  // its clients first, while clients_ still stands

void MetricsServer::on_client(int fd) {
    Client& c = clients_[fd];
    if (c.draining) return drain(fd);
    if (c.answered) return write_answer(fd);
    // Never more than one byte past the limit, so the parser always sees an over-long head.
    char buf[2048];
    const std::size_t room = kMaxHttpHead + 1 - std::min(c.in.size(), kMaxHttpHead + 1);
    const ssize_t n = recv(fd, buf, std::min(sizeof(buf), std::max<std::size_t>(room, 1)), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return listener_->drop(fd);  // closed before a whole request, or an error
    c.in.append(buf, static_cast<std::size_t>(n));
    const HttpParseResult p = parse_http_request(c.in);
    if (p.state == HttpParseResult::State::incomplete) return;
    c.out = answer_for(p, body_);
    c.in.clear();
    c.answered = true;
    write_answer(fd);
}

void MetricsServer::write_answer(int fd) {
    Client& c = clients_[fd];
    if (listener_->send_some(fd, c.out, c.out_off) == io::StreamListener::Sent::later) return;
    // All written (or the client went away): half-close so the client sees the end, then read and
    // discard what it still sends until it closes (a lingering close: closing with unread bytes
    // would send a reset that can destroy the answer before the client reads it, e.g. a 414 to a
    // client still sending). Bounded by kMaxDrain bytes and the client's timeout.
    shutdown(fd, SHUT_WR);
    c.draining = true;
    if (!listener_->watch_input(fd)) return listener_->drop(fd);
    drain(fd);
}

void MetricsServer::drain(int fd) {
    Client& c = clients_[fd];
    char buf[2048];
    for (;;) {
        const ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;  // more may come; the timeout ends it
        if (n <= 0) return listener_->drop(fd);  // the client closed (or an error)
        c.drained += static_cast<std::size_t>(n);
        if (c.drained > kMaxDrain) return listener_->drop(fd);
    }
}

}  // namespace wirebridge::control
