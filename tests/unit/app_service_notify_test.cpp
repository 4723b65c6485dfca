// Tests of ServiceNotifier against a real datagram socket standing in for systemd's: READY,
// STATUS, RELOADING with MONOTONIC_USEC, WATCHDOG from the loop, the abstract namespace, and the
// environment cleared; and of the journal's log lines.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "app/service_notify.hpp"

using namespace wirebridge;
using namespace std::chrono_literals;

namespace {

// A bound datagram socket: what systemd listens on.
class FakeSystemd {
public:
    explicit FakeSystemd(const std::string& name) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::memcpy(a.sun_path, name.data(), name.size());
        if (name[0] == '@') a.sun_path[0] = '\0';
        else ::unlink(name.c_str());
        path_ = name;
        const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
        bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) == 0;
    }
    ~FakeSystemd() {
        ::close(fd_);
        if (path_[0] == '/') ::unlink(path_.c_str());
    }
    bool bound() const { return bound_; }
    // The next datagram, or "" after `ms` without one.
    std::string next(int ms = 2000) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, ms) != 1) return "";
        char buf[4096];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
    }

private:
    int fd_ = -1;
    bool bound_ = false;
    std::string path_;
};

std::string temp_socket_path() {
    return "/tmp/wb-notify-test-" + std::to_string(::getpid()) + ".sock";
}

}  // namespace

TEST(ServiceNotify, InactiveWithoutNotifySocket) {
    ::unsetenv("NOTIFY_SOCKET");
    ::setenv("WATCHDOG_USEC", "1000000", 1);
    auto n = app::ServiceNotifier::from_environment();
    EXPECT_FALSE(n.active());
    EXPECT_FALSE(n.watchdog());
    EXPECT_FALSE(n.notify("READY=1"));
    EXPECT_EQ(std::getenv("WATCHDOG_USEC"), nullptr);
}

TEST(ServiceNotify, ReadyStatusReloadingStoppingReachTheSocket) {
    FakeSystemd sd(temp_socket_path());
    ASSERT_TRUE(sd.bound());
    ::setenv("NOTIFY_SOCKET", temp_socket_path().c_str(), 1);
    auto n = app::ServiceNotifier::from_environment();
    ASSERT_TRUE(n.active());
    EXPECT_EQ(std::getenv("NOTIFY_SOCKET"), nullptr);  // children never see it
    n.ready("0 peers up");
    EXPECT_EQ(sd.next(), "READY=1\nSTATUS=0 peers up");
    n.reloading();
    const std::string r = sd.next();
    EXPECT_EQ(r.rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << r;
    EXPECT_GT(std::strtoull(r.c_str() + std::strlen("RELOADING=1\nMONOTONIC_USEC="), nullptr, 10), 0u);
    n.stopping();
    EXPECT_EQ(sd.next(), "STOPPING=1");
}

TEST(ServiceNotify, AbstractNamespaceSocket) {
    const std::string name = "@wb-notify-test-" + std::to_string(::getpid());
    FakeSystemd sd(name);
    ASSERT_TRUE(sd.bound());
    ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
    auto n = app::ServiceNotifier::from_environment();
    ASSERT_TRUE(n.active());
    EXPECT_TRUE(n.notify("READY=1"));
    EXPECT_EQ(sd.next(), "READY=1");
}

TEST(ServiceNotify, WatchdogAndStatusChangesComeFromTheLoop) {
    FakeSystemd sd(temp_socket_path());
    ASSERT_TRUE(sd.bound());
    ::setenv("NOTIFY_SOCKET", temp_socket_path().c_str(), 1);
    ::setenv("WATCHDOG_USEC", "200000", 1);  // 200 ms: a WATCHDOG=1 every 100 ms
    ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
    auto n = app::ServiceNotifier::from_environment();
    ASSERT_TRUE(n.watchdog());
    EXPECT_EQ(n.watchdog()->count(), 200000);
    auto loop = io::EventLoop::create();
    ASSERT_TRUE(loop);
    int peers = 0;
    n.start(*loop, [&peers] { return std::to_string(peers) + " peers up"; });
    // The first tick: the watchdog and the status.
    EXPECT_EQ(sd.next(), "WATCHDOG=1");
    EXPECT_EQ(sd.next(), "STATUS=0 peers up");
    std::vector<std::string> seen;
    peers = 2;
    const auto until = io::Clock::now() + 3s;
    while (io::Clock::now() < until && seen.size() < 40) {
        ASSERT_TRUE(loop->run_once(50ms));
        for (std::string m = sd.next(0); !m.empty(); m = sd.next(0)) seen.push_back(m);
        if (std::count(seen.begin(), seen.end(), "STATUS=2 peers up") == 1 &&
            std::count(seen.begin(), seen.end(), "WATCHDOG=1") >= 5)
            break;
    }
    EXPECT_GE(std::count(seen.begin(), seen.end(), "WATCHDOG=1"), 5);
    EXPECT_EQ(std::count(seen.begin(), seen.end(), "STATUS=2 peers up"), 1);  // sent once, on the change
    EXPECT_EQ(std::count(seen.begin(), seen.end(), "STATUS=0 peers up"), 0);
}

TEST(ServiceNotify, WatchdogForAnotherPidIsIgnored) {
    FakeSystemd sd(temp_socket_path());
    ::setenv("NOTIFY_SOCKET", temp_socket_path().c_str(), 1);
    ::setenv("WATCHDOG_USEC", "200000", 1);
    ::setenv("WATCHDOG_PID", "1", 1);
    auto n = app::ServiceNotifier::from_environment();
    EXPECT_TRUE(n.active());
    EXPECT_FALSE(n.watchdog());
}

TEST(ServiceStatusLine, PeersKeysAndReloads) {
    control::Status s;
    EXPECT_EQ(app::service_status_line(s), "0 peers up");
    control::PeerStatus p;
    p.name = "hub";
    p.cipher = "AES-256-GCM";
    p.key_id = 1;
    s.peers.push_back(p);
    s.reloads = 2;
    EXPECT_EQ(app::service_status_line(s), "1 peer up: hub (AES-256-GCM, key 1); 2 reloads");
}

TEST(Log, JournalLinesCarryThePriorityAndNoTimestamp) {
    const auto t = std::chrono::system_clock::time_point(std::chrono::seconds(3600 + 62));
    EXPECT_EQ(format_log_line(LogLevel::error, "tunnel down", true, t), "<3>tunnel down\n");
    EXPECT_EQ(format_log_line(LogLevel::warn, "w", true, t), "<4>w\n");
    EXPECT_EQ(format_log_line(LogLevel::info, "i", true, t), "<6>i\n");
    EXPECT_EQ(format_log_line(LogLevel::debug, "d", true, t), "<7>d\n");
    EXPECT_EQ(format_log_line(LogLevel::warn, "w", false, t), "01:01:02.000 warn w\n");
}
