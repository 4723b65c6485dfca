// ControlServer and control_request: the Unix-socket control protocol of the agent.
#include "control/control_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

namespace wirebridge::control {

namespace {

constexpr size_t kMaxLine = 256;
constexpr std::chrono::milliseconds kClientTimeout = std::chrono::seconds(2);

Result<sockaddr_un> unix_address(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(a.sun_path))
        return fail("control socket path '" + path + "' is empty or longer than " +
                    std::to_string(sizeof(a.sun_path) - 1) + " bytes");
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    return a;
}

// Writes all of `data` to a socket, waiting at most timeout_ms for room in total.
bool write_all(int fd, const std::string& data, int timeout_ms) {
    size_t off = 0;
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (off < data.size()) {
        ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, POLLOUT, 0};
        poll(&p, 1, static_cast<int>(left.count()));
    }
    return true;
}

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::listen(io::EventLoop& loop,
                                                             const std::string& path,
                                                             Handler handler) {
    auto addr = unix_address(path);
    if (!addr) return fail(addr.error());
    std::error_code ec;
    auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
        std::filesystem::create_directories(dir, ec);
        if (ec) return fail("cannot create " + dir.string() + ": " + ec.message());
        chmod(dir.c_str(), 0750);
    }
    // An existing socket that answers belongs to a running agent: never steal it.
    if (std::filesystem::exists(path, ec)) {
        if (control_request(path, "ping", 500))
            return fail("another wirebridge is already running with control socket " + path,
                        EADDRINUSE);
        unlink(path.c_str());
    }

    io::Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return fail_errno("cannot create the control socket");
    // Root and the agent's group (0660) from the moment it exists: made under a restrictive umask,
    // not chmod'ed afterwards (which leaves a window with the process umask's mode).
    const mode_t old_mask = umask(0117);
    const int bound = bind(fd.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof(*addr));
    const int bind_errno = errno;
    umask(old_mask);
    if (bound < 0) return fail_errno("cannot bind control socket " + path, bind_errno);
    // Bound: from here on the server owns the path (its destructor unlinks it).
    std::unique_ptr<ControlServer> s(new ControlServer(path, std::move(handler)));
    if (::listen(fd.get(), 16) < 0) return fail_errno("cannot listen on " + path);
    ControlServer* self = s.get();
    auto l = io::StreamListener::watch(loop, std::move(fd), kMaxClients, kClientTimeout,
                                       {[self](int c) { self->on_client(c); }, [self](int c) { self->clients_.erase(c); }});
    if (!l) return fail(l.error());
    s->listener_ = std::move(*l);
    return s;
}

ControlServer::~ControlServer() {
    listener_.reset();  // its clients first, while clients_ still stands
    unlink(path_.c_str());
}

void ControlServer::on_client(int fd) {
    Client& c = clients_[fd];
    if (c.answered) return write_answer(fd);
    char buf[kMaxLine];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n > 0) c.line.append(buf, static_cast<size_t>(n));
    std::string& line = c.line;
    size_t nl = line.find('\n');
    if (nl == std::string::npos && n > 0 && line.size() <= kMaxLine) return;  // need more
    if (line.size() > kMaxLine && nl == std::string::npos) {
        c.out = "error: command line too long\n";
        c.answered = true;
        write_answer(fd);
        return;
    }
    std::string command = line.substr(0, nl == std::string::npos ? line.size() : nl);
    while (!command.empty() && (command.back() == '\r' || command.back() == ' '))
        command.pop_back();
    c.out = command == "ping" ? std::string("pong\n") : handler_(command);
    c.answered = true;
    write_answer(fd);
}

void ControlServer::write_answer(int fd) {
    Client& c = clients_[fd];
    if (listener_->send_some(fd, c.out, c.out_off) == io::StreamListener::Sent::later) return;
    listener_->drop(fd);  // all written, or the client went away
}

Result<std::string> control_request(const std::string& path, const std::string& command,
                                    int timeout_ms) {
    auto addr = unix_address(path);
    if (!addr) return fail(addr.error());
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail_errno("cannot create a socket");
    struct Closer {
        int fd;
        ~Closer() { close(fd); }
    } closer{fd};
    if (connect(fd, reinterpret_cast<sockaddr*>(&*addr), sizeof(*addr)) < 0) {
        int err = errno;
        if (err == ENOENT || err == ECONNREFUSED)
            return fail("no wirebridge agent answers on " + path + " (is it running?)", err);
        return fail_errno("cannot connect to " + path, err);
    }
    if (!write_all(fd, command + "\n", timeout_ms))
        return fail_errno("cannot send the command to " + path);
    std::string answer;
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - std::chrono::steady_clock::now());
        if (left.count() <= 0) return fail("the agent on " + path + " did not answer in time");
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n == 0) return answer;
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("cannot read the answer from " + path);
        }
        answer.append(buf, static_cast<size_t>(n));
    }
}

}  // namespace wirebridge::control
