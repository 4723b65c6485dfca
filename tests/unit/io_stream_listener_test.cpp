// StreamListener on loopback TCP, on the test's own event loop: the cap closes extra clients at
// accept, the deadline drops a silent client, a dropped client is told to the owner once, and
// send_some writes all of an answer.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "io/stream_listener.hpp"

namespace wirebridge::io {
namespace {

using namespace std::chrono_literals;

class StreamListenerTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto l = EventLoop::create();
        ASSERT_TRUE(l);
        loop_.emplace_back(std::move(*l));
    }
    void TearDown() override {
        listener_.reset();
        for (int fd : conns_) close(fd);
    }
    EventLoop& loop() { return loop_.front(); }

    // A listener on 127.0.0.1 (port chosen by the kernel) with the given cap and deadline.
    void listen(std::size_t cap, std::chrono::milliseconds deadline, StreamListener::Handlers h) {
        Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        ASSERT_TRUE(fd.valid());
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_EQ(bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
        socklen_t len = sizeof(a);
        ASSERT_EQ(getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
        addr_ = a;
        ASSERT_EQ(::listen(fd.get(), 16), 0);
        auto l = StreamListener::watch(loop(), std::move(fd), cap, deadline, std::move(h));
        ASSERT_TRUE(l) << l.error().message;
        listener_ = std::move(*l);
    }
    int connect_one(int rcvbuf = 0) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
        EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr_), sizeof(addr_)), 0);
        conns_.push_back(fd);
        return fd;
    }
    // Runs the loop until pred() or about 3 s.
    template <typename Pred>
    bool run_until(Pred pred) {
        for (int i = 0; i < 300 && !pred(); ++i) (void)loop().run_once(10ms);
        return pred();
    }
    // The peer closed: recv sees the end (0) or a reset.
    static bool closed_by_server(int fd) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 0) != 1) return false;
        char c;
        return recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
    }

    std::vector<EventLoop> loop_;
    std::unique_ptr<StreamListener> listener_;
    sockaddr_in addr_{};
    std::vector<int> conns_;
};

TEST_F(StreamListenerTest, ClientsBeyondTheCapAreClosedAtAccept) {
    int dropped = 0;
    listen(2, 10s, {[](int) {}, [&](int) { ++dropped; }});
    connect_one();
    connect_one();
    ASSERT_TRUE(run_until([&] { return listener_->clients() == 2; }));
    const int third = connect_one();
    ASSERT_TRUE(run_until([&] { return closed_by_server(third); }));
    EXPECT_EQ(listener_->clients(), 2u);
    EXPECT_EQ(dropped, 0);  // never a client: nothing to tell the owner
}

TEST_F(StreamListenerTest, ASilentClientIsDroppedAtItsDeadlineOnce) {
    std::vector<int> dropped;
    listen(4, 200ms, {[](int) {}, [&](int fd) { dropped.push_back(fd); }});
    const int c = connect_one();
    ASSERT_TRUE(run_until([&] { return listener_->clients() == 1; }));
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(run_until([&] { return closed_by_server(c); }));
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 150ms);
    EXPECT_EQ(dropped.size(), 1u);
    EXPECT_EQ(listener_->clients(), 0u);
}

TEST_F(StreamListenerTest, SendSomeWritesAWholeAnswerAsTheClientReads) {
    const std::string answer(16 << 20, 'x');  // more than both socket buffers hold
    std::size_t off = 0;
    int served = -1, later = 0;
    listen(4, 10s, {[&](int fd) {
                        char in[16];
                        if (served == -1) (void)recv(fd, in, sizeof(in), MSG_DONTWAIT);  // its request: unread input would reset at close
                        served = fd;
                        const auto sent = listener_->send_some(fd, answer, off);
                        if (sent == StreamListener::Sent::later) ++later; else listener_->drop(fd);
                    },
                    {}});
    const int c = connect_one(4096);
    ASSERT_EQ(send(c, "go", 2, 0), 2);
    std::string got;
    char buf[65536];
    const auto end = std::chrono::steady_clock::now() + 9s;
    while (got.size() < answer.size() && std::chrono::steady_clock::now() < end) {
        (void)loop().run_once(1ms);
        for (ssize_t n; (n = recv(c, buf, sizeof(buf), MSG_DONTWAIT)) > 0;) got.append(buf, static_cast<std::size_t>(n));
    }
    EXPECT_NE(served, -1);
    EXPECT_GT(later, 0);  // the socket was full at least once: the rest went when it had room
    EXPECT_EQ(got.size(), answer.size());
    EXPECT_TRUE(run_until([&] { return closed_by_server(c); }));
}

}  // namespace
}  // namespace wirebridge::io
