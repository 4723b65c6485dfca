// BridgeIntercept: the nft text, and install/replace/remove and the owner flag's lifetime against
// the real kernel in a private network namespace (`nft list` is the witness).
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <string>

#include "nl/bridge_intercept.hpp"
#include "nl/iptables_rules.hpp"

namespace wirebridge::nl {
namespace {

TrafficSelector sel(const char* dst, L4Proto proto = L4Proto::any, std::optional<uint16_t> dport = {},
                    const char* src = nullptr, std::optional<uint16_t> sport = {}) {
    TrafficSelector s;
    if (dst) s.dst = *IfAddress::parse(dst);
    if (src) s.src = *IfAddress::parse(src);
    s.proto = proto;
    s.dport = dport;
    s.sport = sport;
    return s;
}

InterceptPlan plan(bool owned = true) {
    InterceptPlan p;
    p.table = intercept_table_for_site("branch_a");
    p.bridge_mac = "02:00:00:00:00:01";
    p.skip_ports = {"tap0"};
    p.queue_selectors = {sel("10.20.0.0/16"), sel("2001:db8:20::/48"), sel(nullptr, L4Proto::udp, 53)};
    p.bypass_selectors = {sel(nullptr, L4Proto::tcp, 22)};
    p.owned = owned;
    return p;
}

TEST(BridgeInterceptTextTest, TableNamesAreNftIdentifiersAndKeepSitesApart) {
    EXPECT_EQ(intercept_table_for_site("branch_a"), "wb_branch_a");
    const std::string dashed = intercept_table_for_site("branch-a");
    EXPECT_EQ(dashed.rfind("wb_branch_a_", 0), 0u) << dashed;
    EXPECT_NE(dashed, "wb_branch_a");
    const std::string long_name = intercept_table_for_site(std::string(100, 'x'));
    EXPECT_LE(long_name.size(), 40u);
    EXPECT_NE(long_name, intercept_table_for_site(std::string(101, 'x')));
    EXPECT_EQ(intercept_table_for_site(""), "wb_site");
}

TEST(BridgeInterceptTextTest, SelectorsBecomeBridgeFamilyMatches) {
    EXPECT_EQ(nft_match_text(sel("10.20.0.0/16")), "ip daddr 10.20.0.0/16");
    EXPECT_EQ(nft_match_text(sel("2001:db8:20::/48")), "ip6 daddr 2001:db8:20::/48");
    EXPECT_EQ(nft_match_text(sel(nullptr, L4Proto::tcp, 22)), "meta l4proto tcp tcp dport 22");
    EXPECT_EQ(nft_match_text(sel("192.0.2.0/24", L4Proto::udp, 53, "198.51.100.7/32", 5353)),
              "ip saddr 198.51.100.7/32 ip daddr 192.0.2.0/24 meta l4proto udp udp sport 5353 udp dport 53");
    EXPECT_EQ(nft_match_text(sel(nullptr, L4Proto::icmpv6)), "meta l4proto ipv6-icmp");
}

TEST(BridgeInterceptTextTest, ScriptReplacesInOneTransactionBypassFirst) {
    const std::string t = intercept_install_text(plan(), true);
    const char* want[] = {
        "delete table bridge wb_branch_a\ntable bridge wb_branch_a {\n\tflags owner\n",
        "type filter hook prerouting priority 10; policy accept;\n",
        "meta pkttype != other return\n",
        "icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect } return\n",
        "iifname \"tap0\" return\n",
        "meta l4proto tcp tcp dport 22 return\n",
        "ip daddr 10.20.0.0/16 meta pkttype set host ether daddr set 02:00:00:00:00:01 counter\n",
        "ip6 daddr 2001:db8:20::/48 meta pkttype set host ether daddr set 02:00:00:00:00:01 counter\n",
        "meta l4proto udp udp dport 53 meta pkttype set host ether daddr set 02:00:00:00:00:01 counter\n"};
    size_t at = 0;
    for (const char* w : want) {
        const size_t found = t.find(w, at);
        ASSERT_NE(found, std::string::npos) << "missing or out of order: " << w << "\nin:\n" << t;
        at = found;
    }
    EXPECT_EQ(intercept_install_text(plan(false), true).find("flags owner"), std::string::npos);
    EXPECT_EQ(intercept_install_text(plan(), false).rfind("table bridge wb_branch_a {\n", 0), 0u);
    EXPECT_EQ(intercept_remove_text("wb_x"), "delete table bridge wb_x\n");
}

class BridgeInterceptKernelTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace";
        ASSERT_EQ(unshare(CLONE_NEWNET), 0);
    }
    static std::string tables() {
        auto r = run_tool({"/usr/sbin/nft", "list", "tables", "bridge"}, {});
        return r ? *r : "error: " + r.error().message;
    }
    static std::string table(const std::string& name) {
        auto r = run_tool({"/usr/sbin/nft", "list", "table", "bridge", name}, {});
        return r ? *r : "error: " + r.error().message;
    }
};

TEST_F(BridgeInterceptKernelTest, OwnedTableLivesExactlyAsLongAsTheContext) {
    ASSERT_TRUE(run_tool({"/usr/sbin/nft", "add", "table", "bridge", "foreign"}, {}));
    {
        auto bi = BridgeIntercept::open();
        ASSERT_TRUE(bi) << bi.error().message;
        auto r = bi->apply(plan());
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_FALSE(bi->replaced_stale());
        const std::string t = table("wb_branch_a");
        EXPECT_NE(t.find("flags owner"), std::string::npos) << t;
        EXPECT_NE(t.find("ip daddr 10.20.0.0/16 meta pkttype set host ether daddr set 02:00:00:00:00:01"), std::string::npos) << t;
        EXPECT_NE(t.find("udp dport 53"), std::string::npos) << t;
        // Another process (another socket) can neither replace nor delete it.
        auto other = BridgeIntercept::open();
        ASSERT_TRUE(other);
        auto taken = other->apply(plan());
        ASSERT_FALSE(taken);
        EXPECT_NE(taken.error().message.find("another running process"), std::string::npos) << taken.error().message;
        // Applying again (a reload) replaces our own.
        InterceptPlan next = plan();
        next.queue_selectors.pop_back();
        ASSERT_TRUE(bi->apply(next));
        EXPECT_EQ(table("wb_branch_a").find("udp dport 53"), std::string::npos);
    }
    // The context closed (as when the agent is killed): the kernel deleted the table.
    EXPECT_EQ(tables(), "table bridge foreign\n");
}

TEST_F(BridgeInterceptKernelTest, UnownedTableOutlivesTheContextAndIsReplacedThenRemoved) {
    {
        auto bi = BridgeIntercept::open();
        ASSERT_TRUE(bi);
        ASSERT_TRUE(bi->apply(plan(false)));
    }
    EXPECT_NE(tables().find("wb_branch_a"), std::string::npos) << "failure closed: the table outlives the agent";
    auto bi = BridgeIntercept::open();
    ASSERT_TRUE(bi);
    auto r = bi->apply(plan(true));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(bi->replaced_stale());
    EXPECT_NE(table("wb_branch_a").find("flags owner"), std::string::npos);
    ASSERT_TRUE(bi->remove());
    EXPECT_EQ(tables(), "");
    ASSERT_TRUE(bi->remove()) << "idempotent";
    auto gone = bi->remove_stale("wb_branch_a");
    ASSERT_TRUE(gone);
    EXPECT_FALSE(*gone);
}

TEST_F(BridgeInterceptKernelTest, DeviceMacOfALink) {
    ASSERT_TRUE(run_tool({"ip", "link", "add", "wbtbr", "type", "bridge"}, {}));
    ASSERT_TRUE(run_tool({"ip", "link", "set", "wbtbr", "address", "02:11:22:33:44:55"}, {}));
    auto mac = device_mac("wbtbr");
    ASSERT_TRUE(mac) << mac.error().message;
    EXPECT_EQ(*mac, "02:11:22:33:44:55");
    auto none = device_mac("wbtnone");
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().message.find("wbtnone"), std::string::npos);
}

}  // namespace
}  // namespace wirebridge::nl
