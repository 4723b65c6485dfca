// Conntrack against the real kernel in a private netns: NEW/DESTROY events with the mark a
// CONNMARK rule set, and a remark pass that changes only the decision bits.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <vector>

#include "nl/conntrack.hpp"
#include "nl/iptables_rules.hpp"

namespace wirebridge::nl {
namespace {

class ConntrackTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace";
        ASSERT_EQ(unshare(CLONE_NEWNET), 0);
        ASSERT_EQ(std::system("ip link set lo up"), 0);
        // Marks the connection (0x10000 in the decision bits, 0x5 outside them) as our rules would.
        ASSERT_TRUE(run_tool({"iptables", "-t", "mangle", "-A", "OUTPUT", "-p", "udp", "-j", "CONNMARK", "--set-xmark",
                              "0x10005/0x3000f"},
                             {}));
    }
    static void send_udp(uint16_t sport, uint16_t dport) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(sport);
        ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
        a.sin_port = htons(dport);
        ASSERT_EQ(sendto(s, "x", 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 1);
        close(s);
    }
    // Collects events until `want` matched `pred` or 2 s passed.
    std::vector<ConntrackEntry> collect(ConntrackEvents& ev, size_t want) {
        std::vector<ConntrackEntry> got;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
            pollfd p{ev.fd(), POLLIN, 0};
            poll(&p, 1, 100);
            auto r = ev.process([&got](const ConntrackEntry& e) {
                if (e.orig.proto == IPPROTO_UDP && e.orig.dport == 40001) got.push_back(e);
            });
            EXPECT_TRUE(r) << r.error().message;
        }
        return got;
    }
};

TEST_F(ConntrackTest, EventsCarryTupleAndMark) {
    auto ev = ConntrackEvents::open();
    ASSERT_TRUE(ev) << ev.error().message;
    send_udp(40000, 40001);
    auto news = collect(*ev, 1);
    ASSERT_EQ(news.size(), 1u);
    EXPECT_EQ(news[0].kind, ConntrackEntry::Kind::New);
    EXPECT_EQ(news[0].mark, 0x10005u);
    EXPECT_EQ(news[0].orig.family, AF_INET);
    EXPECT_EQ(news[0].orig.sport, 40000);
    EXPECT_EQ(news[0].orig.to_string(), "udp 127.0.0.1:40000 -> 127.0.0.1:40001");

    ASSERT_TRUE(run_tool({"conntrack", "-D", "-p", "udp", "--dport", "40001"}, {}));
    auto gone = collect(*ev, 1);
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0].kind, ConntrackEntry::Kind::Destroy);
    EXPECT_EQ(gone[0].mark, 0x10005u);
    EXPECT_GE(ev->stats().events, 2u);
}

TEST_F(ConntrackTest, RemarkChangesOnlyTheDecisionBitsOfChosenFlows) {
    send_udp(40000, 40001);
    send_udp(40000, 40002);
    auto table = ConntrackTable::open();
    ASSERT_TRUE(table) << table.error().message;
    auto r = table->remark(0x30000, [](const ConntrackEntry& e) -> std::optional<uint32_t> {
        if (e.orig.dport == 40001) return 0x20000;  // decision changed: bypass now
        if (e.orig.dport == 40002) return 0x10000;  // unchanged
        return std::nullopt;
    });
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_GE(r->seen, 2u);
    EXPECT_EQ(r->changed, 1u);
    auto one = run_tool({"conntrack", "-L", "-p", "udp", "--dport", "40001"}, {});
    ASSERT_TRUE(one);
    EXPECT_NE(one->find("mark=131077"), std::string::npos) << *one;  // 0x20005
    auto two = run_tool({"conntrack", "-L", "-p", "udp", "--dport", "40002"}, {});
    ASSERT_TRUE(two);
    EXPECT_NE(two->find("mark=65541"), std::string::npos) << *two;  // 0x10005
    // Clearing (flush of our decisions) leaves the other bits.
    auto c = table->remark(0x30000, [](const ConntrackEntry&) -> std::optional<uint32_t> { return 0; });
    ASSERT_TRUE(c);
    EXPECT_EQ(c->changed, 2u);
    auto cleared = run_tool({"conntrack", "-L", "-p", "udp"}, {});
    ASSERT_TRUE(cleared);
    EXPECT_EQ(cleared->find("mark=131077"), std::string::npos) << *cleared;
    EXPECT_NE(cleared->find("mark=5 "), std::string::npos) << *cleared;
}

TEST(ConntrackParseTest, RefusesWhatIsNotAnEntry) {
    std::vector<uint8_t> small(8, 0);
    EXPECT_FALSE(parse_conntrack_message(small));
    std::vector<uint8_t> hdr(20, 0);
    hdr[0] = 20;                   // nlmsg_len
    hdr[5] = 3;  // type high byte: NFNL_SUBSYS_QUEUE, not conntrack
    EXPECT_FALSE(parse_conntrack_message(hdr));
    hdr[0] = 200;  // longer than the buffer
    EXPECT_FALSE(parse_conntrack_message(hdr));
}

// A length of 2^31 or more is negative as an int: libmnl's mnl_nlmsg_ok() let it through and the
// attribute walk read past the buffer (libFuzzer's find, kept in the corpus).
TEST(ConntrackParseTest, RefusesALengthPastTwoGigabytes) {
    std::vector<uint8_t> msg(64, 0);
    msg[3] = 0x80;  // nlmsg_len 0x80000000 (little-endian)
    msg[5] = 1;     // NFNL_SUBSYS_CTNETLINK
    msg[4] = 0;     // IPCTNL_MSG_CT_NEW
    EXPECT_FALSE(parse_conntrack_message(msg));
}

}  // namespace
}  // namespace wirebridge::nl
