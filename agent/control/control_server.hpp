// ControlServer: the agent's Unix control socket; one command line in, one answer out, closed.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/result.hpp"
#include "io/event_loop.hpp"
#include "io/stream_listener.hpp"

namespace wirebridge::control {

// Protocol (for `wirebridge status|flows` and scripts, e.g. `socat - UNIX:PATH`): the client
// sends one line ("status", "status json", "flows", ...), the server writes the answer and
// closes. Runs on the agent's event loop; a client that says nothing (or does not read its
// answer) is dropped after 2 s, a command line longer than 256 bytes is refused, answers are
// written without blocking, and at most kMaxClients are served at once (more are closed at
// accept), so a stuck or flooding local client cannot hold the agent's data path.
class ControlServer {
public:
    using Handler = std::function<std::string(const std::string& command)>;

    // Creates the socket's directory if needed; refuses to replace a socket that answers
    // (another agent runs there) and replaces a stale one.
    static Result<std::unique_ptr<ControlServer>> listen(io::EventLoop& loop,
                                                         const std::string& path,
                                                         Handler handler);
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    const std::string& path() const { return path_; }
    static constexpr std::size_t kMaxClients = 16;

private:
    ControlServer(std::string path, Handler handler) : path_(std::move(path)), handler_(std::move(handler)) {}
    void on_client(int fd);
    // Writes what the socket takes of the client's answer; drops the client when all is out.
    void write_answer(int fd);

    struct Client {
        std::string line;
        std::string out;  // the answer, while the socket has no room for all of it
        std::size_t out_off = 0;
        bool answered = false;
    };
    std::string path_;
    Handler handler_;
    std::unordered_map<int, Client> clients_;
    std::unique_ptr<io::StreamListener> listener_;  // last: its clients go before clients_
};

// Sends one command and returns the answer (client side of the protocol above).
Result<std::string> control_request(const std::string& path, const std::string& command,
                                    int timeout_ms = 3000);

}  // namespace wirebridge::control
