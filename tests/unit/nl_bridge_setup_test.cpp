// BridgeSetup and Rtnetlink against the real kernel, each test in a network namespace of its own.
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "nl/bridge_setup.hpp"
#include "nl/rtnetlink.hpp"

namespace wirebridge::nl {
namespace {

class BridgeSetupTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace";
        // gtest_discover_tests runs each test in its own process: the namespace dies with it.
        ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET) failed";
        auto r = Rtnetlink::open();
        ASSERT_TRUE(r) << r.error().message;
        rtnl_.emplace(std::move(*r));
    }
    // Test fixtures are made with iproute2; the code under test uses only rtnetlink.
    static void sh(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }

    LinkInfo link(const std::string& name) {
        auto li = rtnl_->link(name);
        EXPECT_TRUE(li) << li.error().message;
        return li ? *li : LinkInfo{};
    }
    bool exists(const std::string& name) { return static_cast<bool>(rtnl_->link(name)); }

    std::optional<Rtnetlink> rtnl_;
};

TEST(IfAddressTest, ParsesAndRefuses) {
    auto a = IfAddress::parse("192.0.2.2/24");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->to_string(), "192.0.2.2/24");
    auto b = IfAddress::parse("2001:db8::2/64");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->to_string(), "2001:db8::2/64");
    EXPECT_FALSE(IfAddress::parse("192.0.2.2"));
    EXPECT_FALSE(IfAddress::parse("192.0.2.2/33"));
    EXPECT_FALSE(IfAddress::parse("192.0.2.300/24"));
    EXPECT_FALSE(IfAddress::parse("192.0.2.2/x"));
    EXPECT_NE(IfAddress::parse("nonsense/8").error().message.find("nonsense"), std::string::npos);
}

TEST_F(BridgeSetupTest, CreatesEnslavesAddressesAndUndoesExactly) {
    sh("ip link add wbt-lan type veth peer name wbt-lanp");
    sh("ip link add wbt-wan type veth peer name wbt-wanp");
    BridgeSetup setup(*rtnl_);
    BridgePlan plan{"wbt-br", {"wbt-lan", "wbt-wan"}, *IfAddress::parse("192.0.2.2/24")};
    auto r = setup.apply(plan);
    ASSERT_TRUE(r) << r.error().message;

    LinkInfo br = link("wbt-br");
    EXPECT_EQ(br.kind, "bridge");
    EXPECT_TRUE(br.up);
    EXPECT_EQ(link("wbt-lan").master, br.index);
    EXPECT_EQ(link("wbt-wan").master, br.index);
    EXPECT_TRUE(link("wbt-lan").up);
    auto addrs = rtnl_->addresses("wbt-br");
    ASSERT_TRUE(addrs);
    ASSERT_EQ(addrs->size(), 1u);
    EXPECT_EQ((*addrs)[0].to_string(), "192.0.2.2/24");
    // bridge, 2 enslaved, 2 ports up, bridge up, address
    EXPECT_EQ(setup.changes().size(), 7u);

    ASSERT_TRUE(setup.undo());
    EXPECT_FALSE(exists("wbt-br"));
    EXPECT_EQ(link("wbt-lan").master, 0);
    EXPECT_FALSE(link("wbt-lan").up);  // it was down before
    EXPECT_TRUE(setup.changes().empty());
}

TEST_F(BridgeSetupTest, AdoptsWhatExistsAndLeavesIt) {
    sh("ip link add wbt-br type bridge");
    sh("ip link add wbt-lan type veth peer name wbt-lanp");
    sh("ip link set wbt-lan master wbt-br up");
    sh("ip link set wbt-br up");
    sh("ip addr add 192.0.2.2/24 dev wbt-br");
    sh("ip link add wbt-wan type veth peer name wbt-wanp");

    BridgeSetup setup(*rtnl_);
    ASSERT_TRUE(setup.apply({"wbt-br", {"wbt-lan", "wbt-wan"}, *IfAddress::parse("192.0.2.2/24")}));
    auto changes = setup.changes();
    ASSERT_EQ(changes.size(), 2u);  // only wbt-wan was ours to change
    EXPECT_EQ(changes[0], "added wbt-wan to the bridge");
    EXPECT_EQ(changes[1], "set wbt-wan up");

    ASSERT_TRUE(setup.undo());
    LinkInfo br = link("wbt-br");
    EXPECT_TRUE(br.up);
    EXPECT_EQ(link("wbt-lan").master, br.index);
    EXPECT_EQ(link("wbt-wan").master, 0);
    auto addrs = rtnl_->addresses("wbt-br");
    ASSERT_TRUE(addrs);
    EXPECT_EQ(addrs->size(), 1u);
}

TEST_F(BridgeSetupTest, RefusesAPortOfAnotherBridgeAndRollsBack) {
    sh("ip link add wbt-other type bridge");
    sh("ip link add wbt-lan type veth peer name wbt-lanp");
    sh("ip link add wbt-wan type veth peer name wbt-wanp");
    sh("ip link set wbt-wan master wbt-other");

    BridgeSetup setup(*rtnl_);
    auto r = setup.apply({"wbt-br", {"wbt-lan", "wbt-wan"}, std::nullopt});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("wbt-wan"), std::string::npos) << r.error().message;
    EXPECT_FALSE(exists("wbt-br"));            // created, then rolled back
    EXPECT_EQ(link("wbt-lan").master, 0);      // enslaved, then released
    EXPECT_NE(link("wbt-wan").master, 0);      // untouched
}

TEST_F(BridgeSetupTest, NamesAMissingPort) {
    BridgeSetup setup(*rtnl_);
    auto r = setup.apply({"wbt-br", {"wbt-nope"}, std::nullopt});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("wbt-nope"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("does not exist"), std::string::npos) << r.error().message;
    EXPECT_FALSE(exists("wbt-br"));
}

TEST_F(BridgeSetupTest, RefusesANonBridgeWithTheBridgeName) {
    sh("ip link add wbt-br type veth peer name wbt-brp");
    BridgeSetup setup(*rtnl_);
    auto r = setup.apply({"wbt-br", {}, std::nullopt});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("not a bridge"), std::string::npos) << r.error().message;
    EXPECT_TRUE(exists("wbt-br"));
}

}  // namespace
}  // namespace wirebridge::nl
