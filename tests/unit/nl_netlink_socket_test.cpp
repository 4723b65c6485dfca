// Tests of NetlinkSocket in a private network namespace: a dump runs through the callback to its
// end, the kernel's error comes back with its errno, a drain with nothing pending reads nothing
// and never blocks, a notification is drained; and Rtnetlink::delete_rules on top of it.
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <string>

#include "nl/netlink_socket.hpp"
#include "nl/rtnetlink.hpp"

namespace wirebridge::nl {
namespace {

class NetlinkSocketTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace";
        ASSERT_EQ(unshare(CLONE_NEWNET), 0);
    }
    static void sh(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }

    // A link dump request in the socket's buffer.
    static nlmsghdr* link_request(NetlinkSocket& s, uint16_t type, uint16_t flags) {
        nlmsghdr* nlh = mnl_nlmsg_put_header(s.buffer());
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | flags;
        auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
        ifi->ifi_family = AF_UNSPEC;
        return nlh;
    }
    static int count(const nlmsghdr* nlh, void* data) {
        if (nlh->nlmsg_type == RTM_NEWLINK) ++*static_cast<int*>(data);
        return MNL_CB_OK;
    }
};

TEST_F(NetlinkSocketTest, ADumpRunsToItsEnd) {
    sh("ip link add wbs-a type veth peer name wbs-b");
    auto s = NetlinkSocket::open(NETLINK_ROUTE, 0, 32768, "a test");
    ASSERT_TRUE(s) << s.error().message;
    int links = 0;
    auto r = s->transact(link_request(*s, RTM_GETLINK, NLM_F_DUMP), "dump", count, &links);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(links, 3);  // lo and the veth pair
}

TEST_F(NetlinkSocketTest, TheKernelsErrorKeepsItsErrno) {
    auto s = NetlinkSocket::open(NETLINK_ROUTE, 0, 32768, "a test");
    ASSERT_TRUE(s) << s.error().message;
    nlmsghdr* nlh = link_request(*s, RTM_DELLINK, NLM_F_ACK);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, "wbs-none");
    auto r = s->transact(nlh, "cannot delete wbs-none");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ENODEV);
    EXPECT_EQ(r.error().message.rfind("cannot delete wbs-none: ", 0), 0u) << r.error().message;
}

TEST_F(NetlinkSocketTest, DrainReadsNothingPendingAtOnceThenANotification) {
    auto s = NetlinkSocket::open(NETLINK_ROUTE, RTMGRP_LINK, MNL_SOCKET_BUFFER_SIZE, "a test");
    ASSERT_TRUE(s) << s.error().message;
    int links = 0;
    NetlinkSocket::DrainCounts counts;
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(s->drain(8, count, &links, false, counts, "drain"));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500));
    EXPECT_EQ(links, 0);

    sh("ip link add wbs-a type veth peer name wbs-b");
    pollfd p{s->fd(), POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 2000), 1);
    ASSERT_TRUE(s->drain(8, count, &links, false, counts, "drain"));
    EXPECT_GE(links, 2);
    EXPECT_EQ(counts.overruns, 0u);
    EXPECT_EQ(counts.malformed, 0u);
    EXPECT_EQ(counts.error, 0);
}

TEST_F(NetlinkSocketTest, DrainStopsWhenTheCallerHasNoRoom) {
    auto s = NetlinkSocket::open(NETLINK_ROUTE, RTMGRP_LINK, MNL_SOCKET_BUFFER_SIZE, "a test");
    ASSERT_TRUE(s) << s.error().message;
    sh("ip link add wbs-a type veth peer name wbs-b");
    pollfd p{s->fd(), POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 2000), 1);
    int links = 0;
    NetlinkSocket::DrainCounts counts;
    ASSERT_TRUE(s->drain(8, count, &links, false, counts, "drain", [] { return false; }));
    EXPECT_EQ(links, 0);
    EXPECT_EQ(poll(&p, 1, 0), 1);  // still pending
}

TEST_F(NetlinkSocketTest, DeleteRulesTakesOnlyTheMatchingOnesInBothFamilies) {
    sh("ip rule add priority 1300 fwmark 0x5/0xff lookup 1300");
    sh("ip -6 rule add priority 1300 fwmark 0x5/0xff lookup 1300");
    sh("ip rule add priority 1301 fwmark 0x6/0xff lookup 1300");
    auto rtnl = Rtnetlink::open();
    ASSERT_TRUE(rtnl) << rtnl.error().message;
    auto n = rtnl->delete_rules([](const PolicyRule& r) { return r.priority == 1300; });
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(*n, 2u);
    auto left = rtnl->rules(AF_INET);
    ASSERT_TRUE(left);
    int ours = 0;
    for (const PolicyRule& r : *left) ours += r.priority == 1300 || r.priority == 1301;
    EXPECT_EQ(ours, 1);
    auto again = rtnl->delete_rules(AF_INET, [](const PolicyRule& r) { return r.priority == 1300; });
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, 0u);
}

}  // namespace
}  // namespace wirebridge::nl
