// ControlServer and control_request: the Unix-socket control protocol of the agent.
#include "control/control_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
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
constexpr auto kClientTimeout = std::chrono::seconds(2);

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

    std::unique_ptr<ControlServer> s(new ControlServer(loop, path, std::move(handler)));
    s->listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->listen_fd_ < 0) return fail_errno("cannot create the control socket");
    // Root and the agent's group (0660) from the moment it exists: made under a restrictive umask,
    // not chmod'ed afterwards (which leaves a window with the process umask's mode).
    const mode_t old_mask = umask(0117);
    const int bound = bind(s->listen_fd_, reinterpret_cast<sockaddr*>(&*addr), sizeof(*addr));
    const int bind_errno = errno;
    umask(old_mask);
    if (bound < 0) return fail_errno("cannot bind control socket " + path, bind_errno);
    if (::listen(s->listen_fd_, 16) < 0) return fail_errno("cannot listen on " + path);
    ControlServer* self = s.get();
    if (auto r = loop.add_fd(s->listen_fd_, EPOLLIN, [self](uint32_t) { self->on_accept(); });
        !r)
        return fail(r.error());
    return s;
}

ControlServer::~ControlServer() {
    if (accept_pause_) loop_.cancel_timer(accept_pause_);
    while (!clients_.empty()) drop(clients_.begin()->first);
    if (listen_fd_ >= 0) {
        loop_.remove_fd(listen_fd_);
        close(listen_fd_);
        unlink(path_.c_str());
    }
}

void ControlServer::on_accept() {
    for (;;) {
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            // Out of descriptors (or memory): the connection stays queued and the level-triggered
            // listener readable. Stop watching it for a second rather than spin.
            if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) && !accept_pause_) {
                [[maybe_unused]] auto m = loop_.modify_fd(listen_fd_, 0);
                accept_pause_ = loop_.add_timer(std::chrono::seconds(1), [this] {
                    accept_pause_ = 0;
                    [[maybe_unused]] auto r = loop_.modify_fd(listen_fd_, EPOLLIN);
                });
            }
            return;  // EAGAIN, or a client that went away: nothing to do
        }
        if (clients_.size() >= kMaxClients) {
            close(fd);  // busy: served clients finish or time out within 2 s
            continue;
        }
        if (!loop_.add_fd(fd, EPOLLIN, [this, fd](uint32_t) { on_client(fd); })) {
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

void ControlServer::on_client(int fd) {
    auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    if (it->second.answered) return write_answer(fd);
    char buf[kMaxLine];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n > 0) it->second.line.append(buf, static_cast<size_t>(n));
    std::string& line = it->second.line;
    size_t nl = line.find('\n');
    if (nl == std::string::npos && n > 0 && line.size() <= kMaxLine) return;  // need more
    if (line.size() > kMaxLine && nl == std::string::npos) {
        it->second.out = "error: command line too long\n";
        it->second.answered = true;
        write_answer(fd);
        return;
    }
    std::string command = line.substr(0, nl == std::string::npos ? line.size() : nl);
    while (!command.empty() && (command.back() == '\r' || command.back() == ' '))
        command.pop_back();
    it->second.out = command == "ping" ? std::string("pong\n") : handler_(command);
    it->second.answered = true;
    write_answer(fd);
}

void ControlServer::write_answer(int fd) {
    auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    Client& c = it->second;
    while (c.out_off < c.out.size()) {
        const ssize_t n = send(fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c.out_off += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            // The rest when the client reads; its 2 s timeout still bounds it.
            [[maybe_unused]] auto m = loop_.modify_fd(fd, EPOLLOUT);
            return;
        }
        break;  // the client went away
    }
    drop(fd);
}

void ControlServer::drop(int fd) {
    auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    if (it->second.timeout != 0) loop_.cancel_timer(it->second.timeout);
    loop_.remove_fd(fd);
    close(fd);
    clients_.erase(it);
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
