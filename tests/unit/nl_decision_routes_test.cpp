// DecisionRoutes and the rule/route requests of Rtnetlink against the kernel, each test in a
// network namespace of its own; the routing result is asked of the kernel with `ip route get`.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "nl/decision_routes.hpp"
#include "nl/rtnetlink.hpp"

namespace wirebridge::nl {
namespace {

class DecisionRoutesTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace";
        ASSERT_EQ(unshare(CLONE_NEWNET), 0);
        auto r = Rtnetlink::open();
        ASSERT_TRUE(r) << r.error().message;
        rtnl_.emplace(std::move(*r));
        // The "TAP" (a veth: routing does not care what kind) and an ordinary uplink.
        sh("ip link add wbr-tap type veth peer name wbr-tapp && ip link set wbr-tapp up");
        sh("ip link set wbr-tap up && ip addr add 10.20.0.2/16 dev wbr-tap");
        sh("ip -6 addr add 2001:db8:20::2/64 dev wbr-tap nodad");
        sh("ip link add wbr-up type veth peer name wbr-upp && ip link set wbr-upp up");
        sh("ip link set wbr-up up && ip addr add 198.51.100.2/24 dev wbr-up");
        plan_.device = "wbr-tap";
    }
    static void sh(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }
    // stdout+stderr of a command.
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
    std::vector<PolicyRule> rules(int family) {
        auto r = rtnl_->rules(family);
        EXPECT_TRUE(r) << r.error().message;
        return r ? *r : std::vector<PolicyRule>{};
    }
    size_t count(int family, const PolicyRule& want) {
        auto all = rules(family);
        return static_cast<size_t>(std::count(all.begin(), all.end(), want));
    }
    std::vector<RouteInfo> routes(int family, uint32_t table) {
        auto r = rtnl_->routes(family, table);
        EXPECT_TRUE(r) << r.error().message;
        return r ? *r : std::vector<RouteInfo>{};
    }
    int index(const std::string& dev) {
        auto li = rtnl_->link(dev);
        return li ? li->index : -1;
    }

    std::optional<Rtnetlink> rtnl_;
    DecisionRoutesPlan plan_;
};

TEST(DecisionRulesTest, ThreeRulesPerFamilyInOrder) {
    DecisionRoutesPlan p;
    p.device = "tap0";
    p.table = 300;
    p.priority = 100;
    p.group = 7;
    auto r = decision_rules(p, AF_INET6);
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[0].to_string(), "-6 priority 100 fwmark 0x10000/0x30000 lookup 300");
    EXPECT_EQ(r[1].to_string(), "-6 priority 101 fwmark 0x20000/0x30000 lookup 254 suppress_ifgroup 7");
    EXPECT_EQ(r[2].to_string(), "-6 priority 102 fwmark 0x20000/0x30000 unreachable");
    EXPECT_TRUE(is_decision_rule(p, r[2]));
    PolicyRule other = r[0];
    other.fwmask = 0xffffffff;
    EXPECT_FALSE(is_decision_rule(p, other));
    other = r[0];
    other.priority = 103;
    EXPECT_FALSE(is_decision_rule(p, other));
}

TEST_F(DecisionRoutesTest, RuleRequestsRoundTrip) {
    PolicyRule r{.family = AF_INET, .priority = 700, .fwmark = 0x4, .fwmask = 0xff, .table = 77};
    ASSERT_TRUE(rtnl_->add_rule(r));
    EXPECT_EQ(count(AF_INET, r), 1u);
    EXPECT_EQ(rtnl_->add_rule(r).error().code, EEXIST);
    EXPECT_NE(out("ip rule show").find("700:\tfrom all fwmark 0x4/0xff lookup 77"), std::string::npos) << out("ip rule show");
    ASSERT_TRUE(rtnl_->delete_rule(r));
    EXPECT_EQ(count(AF_INET, r), 0u);
    EXPECT_EQ(rtnl_->delete_rule(r).error().code, ENOENT);
    // A mark without a mask is read back as the kernel's default mask of all ones.
    sh("ip rule add priority 701 fwmark 0x9 lookup 78");
    PolicyRule full{.family = AF_INET, .priority = 701, .fwmark = 0x9, .fwmask = 0xffffffff, .table = 78};
    EXPECT_EQ(count(AF_INET, full), 1u);
}

TEST_F(DecisionRoutesTest, DefaultRouteInATableOfItsOwn) {
    for (uint32_t table : {100u, 70000u}) {
        for (int family : {AF_INET, AF_INET6}) {
            ASSERT_TRUE(rtnl_->replace_default_route(family, table, "wbr-tap"));
            ASSERT_TRUE(rtnl_->replace_default_route(family, table, "wbr-up"));  // replaces
            auto rs = routes(family, table);
            ASSERT_EQ(rs.size(), 1u) << table;
            EXPECT_EQ(rs[0].dst_len, 0u);
            EXPECT_EQ(rs[0].oif, index("wbr-up"));
            EXPECT_EQ(rtnl_->delete_default_route(family, table, "wbr-tap").error().code, ESRCH);
            ASSERT_TRUE(rtnl_->delete_default_route(family, table, "wbr-up"));
            EXPECT_TRUE(routes(family, table).empty());
        }
    }
    EXPECT_FALSE(rtnl_->replace_default_route(AF_INET, 100, "wbr-none"));
}

TEST_F(DecisionRoutesTest, InstallsSteersAndRemovesExactly) {
    // Foreign rules: our marks at another priority, another mark at our priority.
    sh("ip rule add priority 500 fwmark 0x10000/0x30000 lookup 77");
    sh("ip rule add priority 1194 fwmark 0x4 lookup 78");
    sh("ip -6 rule add priority 1195 fwmark 0x4 lookup 78");
    const std::string before4 = out("ip rule show"), before6 = out("ip -6 rule show");
    // Without the rules the decision changes nothing: the TAP's prefix wins.
    EXPECT_NE(out("ip route get 10.20.0.5 mark 0x20000").find("dev wbr-tap"), std::string::npos);

    DecisionRoutes dr;
    auto r = dr.apply(plan_);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(dr.replaced_stale());
    ASSERT_EQ(dr.families().size(), 2u);
    for (int family : {AF_INET, AF_INET6}) {
        for (const PolicyRule& want : decision_rules(plan_, family)) EXPECT_EQ(count(family, want), 1u) << want.to_string();
        auto rs = routes(family, 1194);
        ASSERT_EQ(rs.size(), 1u);
        EXPECT_EQ(rs[0].dst_len, 0u);
        EXPECT_EQ(rs[0].oif, index("wbr-tap"));
    }
    EXPECT_EQ(rtnl_->link("wbr-tap")->group, 1194u);
    EXPECT_EQ(rtnl_->link("wbr-up")->group, 0u);

    // Tunnel flows go to the TAP whatever the destination; bypass flows never do: the TAP's
    // own prefix is passed over (unreachable here, the box has no other way), other routes hold.
    EXPECT_NE(out("ip route get 203.0.113.9 mark 0x10000").find("dev wbr-tap table 1194"), std::string::npos)
        << out("ip route get 203.0.113.9 mark 0x10000");
    EXPECT_NE(out("ip route get 10.20.0.5 mark 0x10000").find("dev wbr-tap table 1194"), std::string::npos);
    EXPECT_NE(out("ip route get 10.20.0.5 mark 0x20000").find("unreachable"), std::string::npos)
        << out("ip route get 10.20.0.5 mark 0x20000");
    EXPECT_NE(out("ip route get 198.51.100.7 mark 0x20000").find("dev wbr-up"), std::string::npos);
    EXPECT_NE(out("ip route get 10.20.0.5").find("dev wbr-tap"), std::string::npos);  // undecided: as before
    EXPECT_NE(out("ip route get 203.0.113.9 mark 0x30000").find("unreachable"), std::string::npos);
    EXPECT_NE(out("ip -6 route get 2001:db8:99::1 mark 0x10000").find("dev wbr-tap table 1194"), std::string::npos)
        << out("ip -6 route get 2001:db8:99::1 mark 0x10000");
    EXPECT_EQ(out("ip -6 route get 2001:db8:20::5 mark 0x20000").find("dev wbr-tap"), std::string::npos)
        << out("ip -6 route get 2001:db8:20::5 mark 0x20000");

    ASSERT_TRUE(dr.apply(plan_));  // the same plan again: nothing changes
    EXPECT_EQ(count(AF_INET, decision_rules(plan_, AF_INET)[0]), 1u);

    ASSERT_TRUE(dr.remove());
    EXPECT_FALSE(dr.installed());
    EXPECT_EQ(out("ip rule show"), before4);
    EXPECT_EQ(out("ip -6 rule show"), before6);
    EXPECT_TRUE(routes(AF_INET, 1194).empty());
    EXPECT_TRUE(routes(AF_INET6, 1194).empty());
    EXPECT_EQ(rtnl_->link("wbr-tap")->group, 0u);
    EXPECT_TRUE(dr.remove());  // idempotent
}

TEST_F(DecisionRoutesTest, StaleRulesOfAKilledRunAreReplaced) {
    sh("ip link set wbr-tap group 5");
    // What a run killed with SIGKILL leaves: its rules (with another table then) and route.
    sh("ip rule add priority 1194 fwmark 0x10000/0x30000 lookup 999");
    sh("ip rule add priority 1195 fwmark 0x20000/0x30000 lookup main suppress_ifgroup 999");
    sh("ip -6 rule add priority 1196 fwmark 0x20000/0x30000 unreachable");
    sh("ip route add default dev wbr-up table 1194");
    sh("ip rule add priority 1194 fwmark 0x7 lookup 78");  // not ours
    DecisionRoutes dr;
    ASSERT_TRUE(dr.apply(plan_));
    EXPECT_TRUE(dr.replaced_stale());
    for (int family : {AF_INET, AF_INET6}) {
        size_t ours = 0;
        for (const PolicyRule& r : rules(family)) ours += is_decision_rule(plan_, r);
        EXPECT_EQ(ours, 3u);
        for (const PolicyRule& want : decision_rules(plan_, family)) EXPECT_EQ(count(family, want), 1u);
    }
    auto rs = routes(AF_INET, 1194);
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].oif, index("wbr-tap"));
    ASSERT_TRUE(dr.remove());
    EXPECT_EQ(rtnl_->link("wbr-tap")->group, 5u);  // the group it had
    EXPECT_NE(out("ip rule show").find("fwmark 0x7 lookup 78"), std::string::npos);
    EXPECT_EQ(out("ip rule show").find("0x30000"), std::string::npos);
}

TEST_F(DecisionRoutesTest, ANewPlanReplacesTheOldAndAMissingDeviceLeavesNothing) {
    DecisionRoutes dr;
    ASSERT_TRUE(dr.apply(plan_));
    DecisionRoutesPlan next = plan_;
    next.table = 2000;
    next.priority = 3000;
    ASSERT_TRUE(dr.apply(next));
    EXPECT_EQ(count(AF_INET, decision_rules(plan_, AF_INET)[0]), 0u);
    EXPECT_EQ(count(AF_INET, decision_rules(next, AF_INET)[0]), 1u);
    EXPECT_TRUE(routes(AF_INET, 1194).empty());
    EXPECT_EQ(routes(AF_INET, 2000).size(), 1u);
    ASSERT_TRUE(dr.remove());
    DecisionRoutesPlan none = plan_;
    none.device = "wbr-none";
    EXPECT_EQ(dr.apply(none).error().code, ENODEV);
    EXPECT_FALSE(dr.installed());
    EXPECT_TRUE(routes(AF_INET, 1194).empty());
    EXPECT_EQ(out("ip rule show").find("0x30000"), std::string::npos);
}

TEST_F(DecisionRoutesTest, IPv6OffOnTheDeviceSteersIPv4Only) {
    sh("sysctl -q -w net.ipv6.conf.wbr-tap.disable_ipv6=1");
    DecisionRoutes dr;
    auto r = dr.apply(plan_);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(dr.families(), std::vector<int>{AF_INET});
    for (const PolicyRule& want : decision_rules(plan_, AF_INET)) EXPECT_EQ(count(AF_INET, want), 1u);
    EXPECT_EQ(out("ip -6 rule show").find("0x30000"), std::string::npos);
    EXPECT_TRUE(routes(AF_INET6, 1194).empty());
    ASSERT_TRUE(dr.remove());
    EXPECT_EQ(out("ip rule show").find("0x30000"), std::string::npos);
}


// The TAP going down flushes table T's route; restore_routes() puts it back once the TAP is up
// again (what Routeless does on the link notification), and only then.
TEST_F(DecisionRoutesTest, RouteComesBackWhenTheDeviceComesBackUp) {
    DecisionRoutes dr;
    auto r = dr.apply(plan_);
    ASSERT_TRUE(r) << r.error().message;
    auto nothing = dr.restore_routes();
    ASSERT_TRUE(nothing) << nothing.error().message;
    EXPECT_EQ(*nothing, 0u) << "all there: nothing to do";

    sh("ip link set wbr-tap down");
    EXPECT_TRUE(routes(AF_INET, 1194).empty()) << "the kernel flushed it";
    EXPECT_TRUE(routes(AF_INET6, 1194).empty());
    auto down = dr.restore_routes();
    ASSERT_TRUE(down) << down.error().message;
    EXPECT_EQ(*down, 0u) << "a down device takes no route";
    EXPECT_TRUE(routes(AF_INET, 1194).empty());

    sh("ip link set wbr-tap up");
    auto up = dr.restore_routes();
    ASSERT_TRUE(up) << up.error().message;
    EXPECT_EQ(*up, 2u);
    for (int family : {AF_INET, AF_INET6}) {
        auto rs = routes(family, 1194);
        ASSERT_EQ(rs.size(), 1u) << family;
        EXPECT_EQ(rs[0].dst_len, 0u);
        EXPECT_EQ(rs[0].oif, index("wbr-tap"));
    }
    EXPECT_NE(out("ip route get 203.0.113.9 mark 0x10000").find("dev wbr-tap table 1194"), std::string::npos)
        << out("ip route get 203.0.113.9 mark 0x10000");
    EXPECT_EQ(*dr.restore_routes(), 0u);

    // Removed exactly as before, the re-added routes included.
    ASSERT_TRUE(dr.remove());
    EXPECT_TRUE(routes(AF_INET, 1194).empty());
    EXPECT_TRUE(routes(AF_INET6, 1194).empty());
    EXPECT_EQ(*dr.restore_routes(), 0u) << "nothing installed: nothing to restore";
    EXPECT_TRUE(routes(AF_INET, 1194).empty());
}

}  // namespace
}  // namespace wirebridge::nl
