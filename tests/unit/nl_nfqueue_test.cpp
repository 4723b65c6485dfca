// NfQueue against the real kernel: packets queued by iptables in a private netns get verdicts.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "nl/nfqueue.hpp"

namespace wirebridge::nl {
namespace {

std::string run(const std::string& cmd) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return out;
    std::array<char, 512> buf{};
    while (fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
    pclose(p);
    return out;
}

class NfQueueTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace";
        ASSERT_EQ(unshare(CLONE_NEWNET), 0);
        ASSERT_EQ(std::system("ip link set lo up"), 0);
        rx_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        tx_ = socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a = addr(40001);
        ASSERT_EQ(bind(rx_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    }
    void TearDown() override {
        if (rx_ >= 0) close(rx_);
        if (tx_ >= 0) close(tx_);
    }
    static sockaddr_in addr(uint16_t port) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return a;
    }
    void send_to(uint16_t port, const std::string& text) {
        sockaddr_in a = addr(port);
        ASSERT_EQ(sendto(tx_, text.data(), text.size(), 0, reinterpret_cast<sockaddr*>(&a),
                         sizeof(a)),
                  static_cast<ssize_t>(text.size()));
    }
    // Polls the queue until `want` packets were handled or 2 s passed.
    size_t pump(NfQueue& q, const NfQueue::Handler& h, size_t want) {
        size_t got = 0;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (got < want && std::chrono::steady_clock::now() < deadline) {
            pollfd p{q.fd(), POLLIN, 0};
            poll(&p, 1, 100);
            auto r = q.process(h);
            EXPECT_TRUE(r) << r.error().message;
            if (r) got += *r;
        }
        return got;
    }
    std::string receive(int timeout_ms) {
        pollfd p{rx_, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) != 1) return {};
        char buf[256];
        ssize_t n = recv(rx_, buf, sizeof(buf), 0);
        return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    }

    int rx_ = -1;
    int tx_ = -1;
};

TEST_F(NfQueueTest, FirstPacketOfAConnectionIsQueuedMarkedAndDelivered) {
    // The agent's rule pattern, in this order: a fresh decision (the mark of a repeated packet)
    // is saved to the connection, the connection's decision is restored to each packet, and
    // only undecided new connections are queued. (UDP stays NEW until a reply is seen.)
    ASSERT_EQ(std::system("iptables -t mangle -A OUTPUT -m mark ! --mark 0/0xff "
                          "-j CONNMARK --save-mark --mask 0xff"),
              0);
    ASSERT_EQ(std::system("iptables -t mangle -A OUTPUT -j CONNMARK --restore-mark --mask 0xff"), 0);
    ASSERT_EQ(std::system("iptables -t mangle -A OUTPUT -p udp --dport 40001 -m mark --mark "
                          "0/0xff -m conntrack --ctstate NEW -j NFQUEUE --queue-num 7"),
              0);
    auto q = NfQueue::open({.queue = 7});
    ASSERT_TRUE(q) << q.error().message;

    std::vector<QueuedPacket> seen;
    auto handler = [&seen](const QueuedPacket& p) {
        seen.push_back(p);
        seen.back().payload = {};
        return Decision{Decision::Verdict::Repeat, 0x42};
    };
    send_to(40001, "first");
    ASSERT_EQ(pump(*q, handler, 1), 1u);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].hw_protocol, 0x0800);
    EXPECT_EQ(receive(1000), "first");

    // Later packets of the flow carry the connection's decision: they never reach us, and the
    // mark stays on the connection, where conntrack shows it.
    send_to(40001, "second");
    EXPECT_EQ(receive(1000), "second");
    EXPECT_EQ(seen.size(), 1u);
    std::string ct = run("conntrack -L -p udp --dport 40001 2>/dev/null");
    EXPECT_NE(ct.find("mark=66"), std::string::npos) << ct;
    EXPECT_EQ(q->stats().received, 1u);
    EXPECT_EQ(q->stats().verdicts, 1u);
}

TEST_F(NfQueueTest, DropVerdictDropsAndBypassPassesWithoutUs) {
    ASSERT_EQ(std::system("iptables -t mangle -A OUTPUT -p udp --dport 40001 "
                          "-j NFQUEUE --queue-num 8 --queue-bypass"),
              0);
    {
        auto q = NfQueue::open({.queue = 8});
        ASSERT_TRUE(q) << q.error().message;
        send_to(40001, "dropped");
        auto drop = [](const QueuedPacket&) { return Decision{Decision::Verdict::Drop, {}}; };
        ASSERT_EQ(pump(*q, drop, 1), 1u);
        EXPECT_EQ(receive(300), "");
    }
    // The queue is closed: --queue-bypass lets packets through.
    send_to(40001, "bypassed");
    EXPECT_EQ(receive(1000), "bypassed");
}

TEST_F(NfQueueTest, RefusesAQueueBoundElsewhere) {
    auto a = NfQueue::open({.queue = 9});
    ASSERT_TRUE(a) << a.error().message;
    auto b = NfQueue::open({.queue = 9});
    ASSERT_FALSE(b);
    EXPECT_NE(b.error().message.find("NFQUEUE 9"), std::string::npos) << b.error().message;
}

}  // namespace
}  // namespace wirebridge::nl
