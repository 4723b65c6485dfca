// ControlServer and control_request over a real Unix socket, the server on its own event loop.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

#include "control/control_server.hpp"
#include "control/status.hpp"

namespace wirebridge::control {
namespace {

class ControlServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/wb-control-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        path_ = dir_ + "/sub/control.sock";  // the server creates sub/
    }
    void TearDown() override {
        stop_server();
        std::filesystem::remove_all(dir_);
    }
    void start_server() {
        started_ = false;
        thread_ = std::thread([this] {
            auto loop = io::EventLoop::create();
            ASSERT_TRUE(loop);
            auto server = ControlServer::listen(*loop, path_, [](const std::string& cmd) {
                if (cmd == "big") return std::string(4 << 20, 'x');  // more than a socket buffer holds
                return cmd == "status" ? std::string("site test\n")
                                       : "error: unknown command '" + cmd + "'\n";
            });
            ASSERT_TRUE(server) << server.error().message;
            started_ = true;
            while (!stop_) (void)loop->run_once(std::chrono::milliseconds(20));
        });
        for (int i = 0; i < 200 && !started_; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        ASSERT_TRUE(started_);
    }
    void stop_server() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
        stop_ = false;
    }

    std::string dir_, path_;
    std::thread thread_;
    std::atomic<bool> started_{false}, stop_{false};
};

TEST_F(ControlServerTest, AnswersCommandsAndPing) {
    start_server();
    auto a = control_request(path_, "status");
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(*a, "site test\n");
    auto b = control_request(path_, "bogus");
    ASSERT_TRUE(b);
    EXPECT_EQ(*b, "error: unknown command 'bogus'\n");
    auto c = control_request(path_, "ping");
    ASSERT_TRUE(c);
    EXPECT_EQ(*c, "pong\n");
    struct stat st {};
    ASSERT_EQ(stat(path_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0660u);
}

TEST_F(ControlServerTest, RefusesToStealARunningAgentsSocket) {
    start_server();
    auto loop = io::EventLoop::create();
    ASSERT_TRUE(loop);
    auto second = ControlServer::listen(*loop, path_, [](const std::string&) { return ""; });
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().message.find("already running"), std::string::npos)
        << second.error().message;
    EXPECT_TRUE(control_request(path_, "status"));  // the first one still answers
}

TEST_F(ControlServerTest, ReplacesAStaleSocketAndRemovesItOnStop) {
    std::filesystem::create_directories(dir_ + "/sub");
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", path_.c_str());
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    close(fd);  // bound, never listened: a dead agent's leftover
    start_server();
    EXPECT_TRUE(control_request(path_, "status"));
    stop_server();
    EXPECT_FALSE(std::filesystem::exists(path_));
}

namespace {
int connect_unix(const std::string& path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", path.c_str());
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}
}  // namespace

// Issue 16: a client that asks for a large answer and never reads it used to stall the agent's
// loop (the data path too) for up to 1 s per request: the answer is now written as the socket
// takes it, and another client is answered at once meanwhile.
TEST_F(ControlServerTest, ASlowReaderDoesNotStallTheLoop) {
    start_server();
    const int slow = connect_unix(path_);
    ASSERT_GE(slow, 0);
    ASSERT_EQ(send(slow, "big\n", 4, 0), 4);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the server has its answer queued
    const auto t0 = std::chrono::steady_clock::now();
    auto a = control_request(path_, "ping", 3000);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(*a, "pong\n");
    EXPECT_LT(ms, 400) << "the ping waited behind the slow reader";
    close(slow);
}

// Issue 16: concurrent control clients are bounded; one over the bound is closed at once (it
// would otherwise hold a descriptor and a timer for 2 s each, without limit).
TEST_F(ControlServerTest, ConcurrentClientsAreBounded) {
    start_server();
    std::vector<int> idle;
    for (std::size_t i = 0; i < ControlServer::kMaxClients; ++i) {
        idle.push_back(connect_unix(path_));
        ASSERT_GE(idle.back(), 0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // all accepted
    const int extra = connect_unix(path_);
    ASSERT_GE(extra, 0);
    pollfd p{extra, POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 500), 1) << "the client over the bound was not closed at once";
    char c;
    EXPECT_EQ(recv(extra, &c, 1, 0), 0);
    close(extra);
    for (int fd : idle) close(fd);
    // Once they are gone, the agent answers again.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_TRUE(control_request(path_, "status"));
}

TEST_F(ControlServerTest, NoAgentIsSaidPlainly) {
    auto r = control_request(path_, "status");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("is it running"), std::string::npos) << r.error().message;
}

TEST(StatusTest, JsonHasEveryFieldAndEscapes) {
    Status s;
    s.site = "branch \"a\"\n";
    s.role = "server";
    s.uptime_seconds = 7;
    PeerStatus p;
    p.name = "site-b";
    p.real_address = "172.31.99.2:40000";
    p.macs = {"02:00:00:00:00:01"};
    p.cipher = "AES-256-GCM";
    p.bytes_in = 1500;
    s.peers.push_back(p);
    s.drops["replay"] = 2;
    std::string j = to_json(s);
    EXPECT_NE(j.find(R"("site":"branch \"a\"\n")"), std::string::npos) << j;
    EXPECT_NE(j.find(R"("macs":["02:00:00:00:00:01"])"), std::string::npos) << j;
    EXPECT_NE(j.find(R"("drops":{"replay":2})"), std::string::npos) << j;
    EXPECT_NE(j.find(R"("fastpath":null)"), std::string::npos) << j;
    EXPECT_EQ(json_quote(std::string("\x01", 1)), "\"\\u0001\"");
    std::string t = to_text(s);
    EXPECT_NE(t.find("1 peer"), std::string::npos) << t;
    EXPECT_NE(t.find("1.5 KiB"), std::string::npos) << t;
}

}  // namespace
}  // namespace wirebridge::control
