// systemd's notify protocol over NOTIFY_SOCKET (sd_notify(3) semantics, written out).
#include "app/service_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace wirebridge::app {

ServiceNotifier ServiceNotifier::from_environment() {
    ServiceNotifier n;
    const char* path = std::getenv("NOTIFY_SOCKET");
    const char* wd_usec = std::getenv("WATCHDOG_USEC");
    const char* wd_pid = std::getenv("WATCHDOG_PID");
    if (wd_usec != nullptr && (wd_pid == nullptr || std::strtoll(wd_pid, nullptr, 10) == getpid())) {
        const long long us = std::strtoll(wd_usec, nullptr, 10);
        if (us > 0) n.watchdog_ = std::chrono::microseconds(us);
    }
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    const std::string p = path != nullptr ? path : "";
    // An absolute path, or '@' for the abstract namespace (a leading NUL byte on the wire).
    if (!p.empty() && (p[0] == '/' || p[0] == '@') && p.size() < sizeof a.sun_path) {
        std::memcpy(a.sun_path, p.data(), p.size());
        if (p[0] == '@') a.sun_path[0] = '\0';
        io::Fd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + p.size());
        if (fd.valid() && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), len) == 0) n.fd_ = std::move(fd);
    }
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
    if (!n.fd_.valid()) n.watchdog_.reset();
    return n;
}

bool ServiceNotifier::notify(const std::string& state) {
    if (!fd_.valid()) return false;
    return ::send(fd_.get(), state.data(), state.size(), MSG_NOSIGNAL | MSG_DONTWAIT) ==
           static_cast<ssize_t>(state.size());
}

void ServiceNotifier::reloading() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const auto usec = static_cast<std::uint64_t>(ts.tv_sec) * 1000000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
    notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void ServiceNotifier::start(io::EventLoop& loop, std::function<std::string()> status_line,
                            std::chrono::milliseconds tick) {
    if (!active()) return;
    loop_ = &loop;
    status_line_ = std::move(status_line);
    tick_ = tick;
    if (watchdog_) tick_ = std::min<io::Duration>(tick_, *watchdog_ / 2);
    next_status_ = io::Clock::now();
    on_tick();
}

void ServiceNotifier::on_tick() {
    if (watchdog_) notify("WATCHDOG=1");
    if (status_line_ && io::Clock::now() >= next_status_) {
        // Status at most once a second, however short the watchdog's tick.
        next_status_ = io::Clock::now() + std::chrono::seconds(1);
        std::string line = status_line_();
        if (line != last_status_ && notify("STATUS=" + line)) last_status_ = std::move(line);
    }
    loop_->add_timer(tick_, [this] { on_tick(); });
}

ServiceNotifier& service_notifier() {
    static ServiceNotifier n = ServiceNotifier::from_environment();
    return n;
}

std::string service_status_line(const control::Status& s) {
    std::string line = std::to_string(s.peers.size()) + (s.peers.size() == 1 ? " peer up" : " peers up");
    if (!s.peers.empty()) {
        line += ": ";
        const std::size_t shown = std::min<std::size_t>(s.peers.size(), 4);
        for (std::size_t i = 0; i < shown; ++i) {
            const auto& p = s.peers[i];
            line += (i ? ", " : "") + (p.name.empty() ? "peer-id " + std::to_string(p.peer_id) : p.name) +
                    " (" + p.cipher + ", key " + std::to_string(p.key_id) + ")";
        }
        if (shown < s.peers.size()) line += ", ...";
    }
    if (s.reloads) line += "; " + std::to_string(s.reloads) + (s.reloads == 1 ? " reload" : " reloads");
    return line;
}

}  // namespace wirebridge::app
