// MetricsServer: the agent's optional HTTP endpoint for Prometheus (control.metrics), serving
// GET /metrics with the same text as `wirebridge status --prometheus`.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/result.hpp"
#include "io/event_loop.hpp"
#include "io/socket_address.hpp"
#include "io/stream_listener.hpp"

namespace wirebridge::control {

// Runs on the agent's event loop and never blocks it: sockets are non-blocking, a request head is
// read with parse_http_request (at most kMaxHttpHead bytes), one response is written as the
// client takes it, then the connection is half-closed and closed when the client closes it. A client is dropped 5 s after it connected
// whatever it did, and at most kMaxClients are served at once (more are closed at accept). There
// is no authentication or TLS: bind it to a loopback or management address.
//   GET|HEAD /metrics   200, text/plain; version=0.0.4 (the body from `body()`)
//   GET|HEAD /          200, a line pointing to /metrics
//   other paths 404, other methods 405, malformed heads 400/414/431/505
class MetricsServer {
public:
    using Body = std::function<std::string()>;

    static Result<std::unique_ptr<MetricsServer>> listen(io::EventLoop& loop,
                                                         const io::SocketAddress& address, Body body);
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // Where it listens (the port filled in when the config asked for port 0).
    const io::SocketAddress& address() const { return address_; }
    static constexpr std::size_t kMaxClients = 16;

private:
    explicit MetricsServer(Body body) : body_(std::move(body)) {}
    void on_client(int fd);
    void write_answer(int fd);
    void drain(int fd);

    struct Client {
        std::string in;
        std::string out;
        std::size_t out_off = 0;
        bool answered = false;
        bool draining = false;  // answered and half-closed: reading until the client closes
        std::size_t drained = 0;
    };
    Body body_;
    io::SocketAddress address_;
    std::unordered_map<int, Client> clients_;
    std::unique_ptr<io::StreamListener> listener_;  // last: its clients go before clients_
};

}  // namespace wirebridge::control
