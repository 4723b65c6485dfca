// UplinkRoute (the box's own tunnel without a route in main) against the kernel, each test in a
// network namespace of its own; what a marked socket would get is asked with `ip route get ... mark`.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "nl/rtnetlink.hpp"
#include "nl/uplink_route.hpp"

namespace wirebridge::nl {
namespace {

class UplinkRouteTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace";
        ASSERT_EQ(unshare(CLONE_NEWNET), 0);
        // The "bridge" (a veth: routing does not care) with the box's one address.
        sh("ip link add wbu-br type veth peer name wbu-brp && ip link set wbu-brp up");
        sh("ip link set wbu-br up && ip addr add 192.0.2.2/24 dev wbu-br");
        plan_.device = "wbu-br";
        plan_.gateway = *IfAddress::parse("192.0.2.1/32");
        plan_.source = *IfAddress::parse("192.0.2.2/24");
    }
    static void sh(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }
    static std::string out(const std::string& cmd) {
        std::string text;
        FILE* p = popen((cmd + " 2>&1").c_str(), "r");
        if (p == nullptr) return text;
        std::array<char, 512> buf;
        size_t n;
        while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) text.append(buf.data(), n);
        pclose(p);
        return text;
    }
    UplinkPlan plan_;
};

TEST(UplinkRuleTest, MarkUnderItsOwnMask) {
    UplinkPlan p;
    p.gateway = *IfAddress::parse("192.0.2.1/32");
    p.table = 500;
    p.priority = 501;
    p.mark = 0x80000;
    EXPECT_EQ(uplink_rule(p).to_string(), "priority 501 fwmark 0x80000/0x80000 lookup 500");
    PolicyRule other = uplink_rule(p);
    EXPECT_TRUE(is_uplink_rule(p, other));
    other.table = 7;  // a killed run's, another table: still ours
    EXPECT_TRUE(is_uplink_rule(p, other));
    other.fwmask = 0xffffffff;  // someone else's
    EXPECT_FALSE(is_uplink_rule(p, other));
}

TEST_F(UplinkRouteTest, OnlyMarkedTrafficGoesToTheGatewayAndStopRemovesExactly) {
    const std::string main_before = out("ip route show table main");
    EXPECT_NE(out("ip route get 203.0.113.1").find("unreachable"), std::string::npos);
    // A foreign rule at our priority with another mark stays.
    sh("ip rule add priority 1193 fwmark 0x1/0x1 lookup 77");
    {
        UplinkRoute up;
        auto r = up.apply(plan_);
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_FALSE(up.replaced_stale());
        EXPECT_NE(out("ip rule show").find("1193:\tfrom all fwmark 0x40000/0x40000 lookup 1193"), std::string::npos)
            << out("ip rule show");
        const std::string t = out("ip route show table 1193");
        EXPECT_NE(t.find("default via 192.0.2.1 dev wbu-br"), std::string::npos) << t;
        EXPECT_NE(t.find("src 192.0.2.2"), std::string::npos) << t;
        EXPECT_NE(t.find("onlink"), std::string::npos) << t;
        const std::string got = out("ip route get 203.0.113.1 mark 0x40000");
        EXPECT_NE(got.find("via 192.0.2.1 dev wbu-br"), std::string::npos) << got;
        EXPECT_NE(got.find("src 192.0.2.2"), std::string::npos) << got;
        EXPECT_NE(out("ip route get 203.0.113.1").find("unreachable"), std::string::npos) << "unmarked must stay unrouted";
        EXPECT_EQ(out("ip route show table main"), main_before) << "main must not change";
        // The bridge going down takes the route; the same plan again puts it back.
        sh("ip link set wbu-br down && ip link set wbu-br up && ip addr replace 192.0.2.2/24 dev wbu-br");
        EXPECT_EQ(out("ip route show table 1193"), "");
        ASSERT_TRUE(up.apply(plan_));
        EXPECT_NE(out("ip route show table 1193").find("default via 192.0.2.1"), std::string::npos);
        ASSERT_TRUE(up.remove());
    }
    EXPECT_EQ(out("ip rule show").find("0x40000"), std::string::npos) << out("ip rule show");
    EXPECT_EQ(out("ip route show table 1193"), "");
    EXPECT_NE(out("ip rule show").find("fwmark 0x1/0x1 lookup 77"), std::string::npos) << "the foreign rule stays";
}

TEST_F(UplinkRouteTest, AKilledRunsRuleIsReplacedAndCleanupRemovesIt) {
    sh("ip rule add priority 1193 fwmark 0x40000/0x40000 lookup 999");
    {
        UplinkRoute up;
        ASSERT_TRUE(up.apply(plan_));
        EXPECT_TRUE(up.replaced_stale());
        const std::string rules = out("ip rule show");
        EXPECT_EQ(rules.find("lookup 999"), std::string::npos) << rules;
        EXPECT_NE(rules.find("lookup 1193"), std::string::npos) << rules;
    }  // the destructor removes what it installed
    EXPECT_EQ(out("ip rule show").find("0x40000"), std::string::npos);
    sh("ip rule add priority 1193 fwmark 0x40000/0x40000 lookup 1193");
    sh("ip -6 rule add priority 1193 fwmark 0x40000/0x40000 lookup 1193");
    auto n = remove_uplink_rules(plan_);
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(*n, 2u);
    EXPECT_EQ(out("ip rule show").find("0x40000"), std::string::npos);
    EXPECT_EQ(out("ip -6 rule show").find("0x40000"), std::string::npos);
}

TEST_F(UplinkRouteTest, Ipv6GatewayLinkLocal) {
    sh("ip -6 addr add 2001:db8:1::2/64 dev wbu-br nodad");
    plan_.gateway = *IfAddress::parse("fe80::1/128");
    plan_.source = *IfAddress::parse("2001:db8:1::2/64");
    UplinkRoute up;
    auto r = up.apply(plan_);
    ASSERT_TRUE(r) << r.error().message;
    const std::string got = out("ip -6 route get 2001:db8:99::1 mark 0x40000");
    EXPECT_NE(got.find("via fe80::1 dev wbu-br"), std::string::npos) << got;
    EXPECT_NE(out("ip -6 rule show").find("fwmark 0x40000/0x40000 lookup 1193"), std::string::npos);
    ASSERT_TRUE(up.remove());
    EXPECT_EQ(out("ip -6 rule show").find("0x40000"), std::string::npos);
    EXPECT_EQ(out("ip -6 route show table 1193"), "");
}

}  // namespace
}  // namespace wirebridge::nl
