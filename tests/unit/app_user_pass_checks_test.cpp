// UserPassChecks: auth_user_pass_verify programs watched from a real event loop. The loop never
// waits for a program: timers keep firing while a slow one runs; exit statuses, the kill at the
// timeout, deferred verdicts from auth_control_file, cancellation.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "app/user_pass_checks.hpp"

namespace wirebridge::app {
namespace {

using namespace std::chrono_literals;

struct TempDir {
    std::string path;
    TempDir() {
        char t[] = "/tmp/wb-checks-test-XXXXXX";
        path = mkdtemp(t);
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
    std::string script(const std::string& name, const std::string& body) const {
        const std::string f = path + "/" + name;
        std::ofstream(f) << "#!/bin/sh\n" << body;
        chmod(f.c_str(), 0755);
        return f;
    }
    size_t count(const std::string& prefix) const {
        size_t n = 0;
        for (const auto& e : std::filesystem::directory_iterator(path))
            n += e.path().filename().string().rfind(prefix, 0) == 0;
        return n;
    }
};

session::PeerAddress client_address() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(50123);
    inet_pton(AF_INET, "198.51.100.9", &a.sin_addr);
    return session::PeerAddress::from(reinterpret_cast<sockaddr*>(&a), sizeof a);
}

struct Fixture {
    TempDir dir;
    io::EventLoop loop = std::move(*io::EventLoop::create());
    std::shared_ptr<UserPassChecks> checks;
    std::map<uint64_t, session::UserPassVerdict> verdicts;
    session::ServerConfig sc;

    Fixture(const std::string& body, unsigned timeout_s = 10) {
        checks = std::make_shared<UserPassChecks>(auth::VerifyOptions{{dir.script("check", body)}, false, timeout_s, dir.path});
        checks->wire(sc);
        checks->attach(loop, [this](uint64_t t, session::UserPassVerdict v) { verdicts[t] = std::move(v); });
    }
    std::optional<session::UserPassVerdict> start(uint64_t ticket, const std::string& password) {
        const std::string user = "site", cn = "site-cn", info = "IV_VER=2.6.14\n";
        const session::PeerAddress from = client_address();
        return sc.start_user_pass_check(ticket, session::UserPassCheck{user, password, cn, from, info});
    }
    // Runs the loop until `done` or `limit`; returns how many 20 ms ticks a timer saw meanwhile.
    int run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
        int ticks = 0;
        io::TimerId id = 0;
        std::function<void()> tick = [&] {
            ++ticks;
            id = loop.add_timer(20ms, tick);
        };
        id = loop.add_timer(20ms, tick);
        const auto end = io::EventLoop::now() + limit;
        while (!done() && io::EventLoop::now() < end) EXPECT_TRUE(loop.run_once(50ms));
        loop.cancel_timer(id);
        return ticks;
    }
};

TEST(UserPassChecks, SlowProgramDoesNotStopTheLoop) {
    // Each program marks its start, sleeps, then notes how many had started: 2 from both means
    // they ran side by side (a wall-clock bound failed on a loaded machine).
    Fixture f("d=$(dirname \"$0\")\ntouch \"$d/started.$password\"\nsleep 1\nls \"$d\" | grep -c '^started\\.' > \"$d/seen.$password\"\n"
              "[ \"$password\" = right ] && exit 0\necho \"bad for $username from $untrusted_ip\" > \"$auth_failed_reason_file\"\nexit 1\n");
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(f.start(1, "right"));  // nullopt: running
    EXPECT_FALSE(f.start(2, "wrong"));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
    EXPECT_EQ(f.checks->running(), 2u);
    const int ticks = f.run_until([&] { return f.verdicts.size() == 2; }, 5s);
    ASSERT_EQ(f.verdicts.size(), 2u);
    // The two programs ran side by side (each saw the other started before its sleep ended) and
    // the loop went on every 20 ms meanwhile.
    for (const char* pw : {"right", "wrong"}) {
        std::ifstream seen(f.dir.path + "/seen." + pw);
        int started = 0;
        seen >> started;
        EXPECT_EQ(started, 2) << pw;
    }
    EXPECT_GE(ticks, 25);
    EXPECT_TRUE(f.verdicts[1].ok) << f.verdicts[1].why;
    EXPECT_FALSE(f.verdicts[2].ok);
    EXPECT_EQ(f.verdicts[2].client_reason, "bad for site from 198.51.100.9");
    EXPECT_EQ(f.checks->running(), 0u);
    EXPECT_EQ(f.dir.count("wirebridge-"), 0u);
}

TEST(UserPassChecks, ProgramPastItsTimeoutIsKilledAndRefused) {
    Fixture f("echo $$ > \"$(dirname \"$0\")/pid\"\nexec sleep 30\n", 1);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(f.start(7, "x"));
    f.run_until([&] { return !f.verdicts.empty(); }, 5s);
    ASSERT_EQ(f.verdicts.count(7), 1u);
    EXPECT_FALSE(f.verdicts[7].ok);
    EXPECT_NE(f.verdicts[7].why.find("did not exit within 1 s"), std::string::npos) << f.verdicts[7].why;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
    std::ifstream in(f.dir.path + "/pid");
    pid_t pid = 0;
    in >> pid;
    ASSERT_GT(pid, 0);
    EXPECT_EQ(::kill(pid, 0), -1);
}

TEST(UserPassChecks, DeferredVerdictsFromTheControlFile) {
    Fixture f("( sleep 0.4; if [ \"$password\" = yes ]; then echo 1 > \"$auth_control_file\"; else\n"
              "  echo 'not now' > \"$auth_failed_reason_file\"; echo 0 > \"$auth_control_file\"; fi ) &\nexit 2\n");
    EXPECT_FALSE(f.start(1, "yes"));
    EXPECT_FALSE(f.start(2, "no"));
    f.run_until([&] { return f.verdicts.size() == 2; }, 5s);
    ASSERT_EQ(f.verdicts.size(), 2u);
    EXPECT_TRUE(f.verdicts[1].ok) << f.verdicts[1].why;
    EXPECT_FALSE(f.verdicts[2].ok);
    EXPECT_EQ(f.verdicts[2].client_reason, "not now");
    EXPECT_EQ(f.dir.count("wirebridge-"), 0u);
}

TEST(UserPassChecks, CancelStopsAWaitAndDeliversNothing) {
    Fixture f("exit 2\n");  // deferred, and nobody ever writes the control file
    EXPECT_FALSE(f.start(3, "x"));
    f.run_until([] { return false; }, 300ms);
    EXPECT_EQ(f.checks->running(), 1u);
    EXPECT_EQ(f.dir.count("wirebridge-acf-"), 1u);
    f.sc.cancel_user_pass_check(3);
    EXPECT_EQ(f.checks->running(), 0u);
    EXPECT_EQ(f.dir.count("wirebridge-"), 0u);
    f.run_until([] { return false; }, 200ms);
    EXPECT_TRUE(f.verdicts.empty());
}

TEST(UserPassChecks, ProgramThatCannotStartIsAnAnswerAtOnce) {
    Fixture f("exit 0\n");
    std::filesystem::remove(f.dir.path + "/check");
    const auto v = f.start(4, "x");
    ASSERT_TRUE(v);
    EXPECT_FALSE(v->ok);
    EXPECT_NE(v->why.find("cannot run"), std::string::npos) << v->why;
    EXPECT_EQ(f.checks->running(), 0u);
    // Detached (the hub stopping): nothing starts.
    f.checks->detach();
    std::ofstream(f.dir.path + "/check") << "#!/bin/sh\nexit 0\n";
    const auto after = f.start(5, "x");
    ASSERT_TRUE(after);
    EXPECT_FALSE(after->ok);
}

}  // namespace
}  // namespace wirebridge::app
