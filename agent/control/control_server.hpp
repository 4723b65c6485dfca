// ControlServer: the agent's Unix control socket; one command line in, one answer out, closed.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/result.hpp"
#include "io/event_loop.hpp"

namespace wirebridge::control {

// Protocol (for `wirebridge status|flows` and scripts, e.g. `socat - UNIX:PATH`): the client
// sends one line ("status", "status json", "flows", ...), the server writes the answer and
// closes. Runs on the agent's event loop; a client that says nothing is dropped after 2 s, and
// a command line longer than 256 bytes is refused, so a stuck client cannot hold the agent.
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

private:
    ControlServer(io::EventLoop& loop, std::string path, Handler handler)
        : loop_(loop), path_(std::move(path)), handler_(std::move(handler)) {}
    void on_accept();
    void on_client(int fd);
    void drop(int fd);

    struct Client {
        std::string line;
        io::TimerId timeout = 0;
    };
    io::EventLoop& loop_;
    std::string path_;
    Handler handler_;
    int listen_fd_ = -1;
    std::unordered_map<int, Client> clients_;
};

// Sends one command and returns the answer (client side of the protocol above).
Result<std::string> control_request(const std::string& path, const std::string& command,
                                    int timeout_ms = 3000);

}  // namespace wirebridge::control
