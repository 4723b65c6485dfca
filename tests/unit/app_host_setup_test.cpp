// HostSetup: which modules and sysctls a config needs, and set/restore against a fake /proc/sys
// (a temporary folder) with a modprobe that fails or succeeds.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "app/host_setup.hpp"

using namespace wirebridge;

namespace {

config::Config inline_box() {
    config::Config c;
    c.site = "branch-a";
    c.tunnel.device = "tap0";
    config::BridgeConfig b;
    b.name = "br0";
    b.ports = {"lan0", "wan0"};
    c.bridge = b;
    c.interest = config::InterestConfig{};
    return c;
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::string v;
    std::getline(in, v);
    return v;
}

class FakeProcSys : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = std::filesystem::temp_directory_path() / ("wb-host-" + std::to_string(::getpid()));
        for (const char* f : {"net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding", "net/ipv4/conf/br0/rp_filter",
                              "net/ipv4/conf/tap0/rp_filter"}) {
            std::filesystem::create_directories((root_ / f).parent_path());
            std::ofstream(root_ / f) << (std::string(f).find("rp_filter") != std::string::npos ? "2\n" : "0\n");
        }
        std::ofstream(root_ / "net/ipv6/conf/all/forwarding") << "1\n";  // already as wanted
    }
    void TearDown() override { std::filesystem::remove_all(root_); }
    std::filesystem::path root_;
};

TEST(HostSetupPlan, FastpathWantsModulesAndBridgeNetfilter) {
    config::Config c = inline_box();
    EXPECT_TRUE(app::wanted_modules(c).empty());
    c.fastpath.enabled = true;
    EXPECT_EQ(app::wanted_modules(c), (std::vector<std::string>{"br_netfilter", "xt_GWMARK"}));
    std::vector<std::string> paths;
    for (const auto& s : app::wanted_sysctls(c)) paths.push_back(s.path + "=" + s.value);
    EXPECT_EQ(paths, (std::vector<std::string>{"net/bridge/bridge-nf-call-iptables=1", "net/bridge/bridge-nf-call-ip6tables=1",
                                               "net/ipv4/ip_forward=1", "net/ipv6/conf/all/forwarding=1",
                                               "net/ipv4/conf/br0/rp_filter=0", "net/ipv4/conf/tap0/rp_filter=0"}));
}

TEST(HostSetupPlan, GatewayAloneWantsTheBridgesRpFilterOff) {
    config::Config c;
    c.tunnel.device = "tap0";
    config::BridgeConfig b;
    b.name = "br0";
    b.ports = {"lan0", "wan0"};
    b.gateway = config::IpAddress{};
    c.bridge = b;
    std::vector<std::string> paths;
    for (const auto& s : app::wanted_sysctls(c)) paths.push_back(s.path + "=" + s.value);
    EXPECT_EQ(paths, (std::vector<std::string>{"net/ipv4/conf/br0/rp_filter=0"}));
}

TEST_F(FakeProcSys, LoadModulesSaysWhatItLoadedAndNothingWhenNoneNeeded) {
    config::Config c = inline_box();
    auto none = app::load_modules(c, root_.string(), "/bin/false");
    ASSERT_TRUE(none) << none.error().message;
    EXPECT_TRUE(none->empty());
    if (std::filesystem::exists("/sys/module/xt_GWMARK") || std::filesystem::exists("/sys/module/br_netfilter"))
        GTEST_SKIP() << "the modules are loaded here";
    c.fastpath.enabled = true;
    auto loaded = app::load_modules(c, root_.string(), "/bin/true");  // a modprobe that succeeds
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_EQ(*loaded, (std::vector<std::string>{"loaded kernel module br_netfilter", "loaded kernel module xt_GWMARK"}));
}

TEST(HostSetupPlan, PlainTunnelWantsNothing) {
    config::Config c;
    c.tunnel.device = "tap0";
    EXPECT_TRUE(app::wanted_sysctls(c).empty());
    EXPECT_TRUE(app::wanted_modules(c).empty());
}

TEST_F(FakeProcSys, SetsWhatDiffersAndRestoresExactlyThat) {
    app::HostSetup h;
    auto r = h.apply(inline_box(), root_.string(), "/bin/false");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(slurp(root_ / "net/ipv4/ip_forward"), "1");
    EXPECT_EQ(slurp(root_ / "net/ipv4/conf/br0/rp_filter"), "0");
    EXPECT_EQ(slurp(root_ / "net/ipv4/conf/tap0/rp_filter"), "0");
    // Three changed (forwarding v6 was already 1); each said with the old value.
    EXPECT_EQ(h.notes().size(), 3u);
    EXPECT_NE(h.notes()[0].find("net/ipv4/ip_forward = 1 (was 0)"), std::string::npos) << h.notes()[0];
    // Someone else changes the v6 value meanwhile: restore leaves it alone.
    std::ofstream(root_ / "net/ipv6/conf/all/forwarding") << "0\n";
    h.restore();
    EXPECT_EQ(slurp(root_ / "net/ipv4/ip_forward"), "0");
    EXPECT_EQ(slurp(root_ / "net/ipv4/conf/br0/rp_filter"), "2");
    EXPECT_EQ(slurp(root_ / "net/ipv4/conf/tap0/rp_filter"), "2");
    EXPECT_EQ(slurp(root_ / "net/ipv6/conf/all/forwarding"), "0");
}

TEST_F(FakeProcSys, MissingModuleIsRefusedNamingThePackageUnlessNotRequired) {
    if (std::filesystem::exists("/sys/module/xt_GWMARK")) GTEST_SKIP() << "xt_GWMARK is loaded here";
    // br_netfilter counts as there when its sysctls are (loaded or built in).
    std::filesystem::create_directories(root_ / "net/bridge");
    config::Config c = inline_box();
    c.fastpath.enabled = true;
    app::HostSetup h;
    auto r = h.apply(c, root_.string(), "/bin/false");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("xt_GWMARK"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("wirebridge package"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("fastpath.require_module: false"), std::string::npos) << r.error().message;
    EXPECT_EQ(slurp(root_ / "net/ipv4/ip_forward"), "0") << "nothing set before the refusal";
    c.fastpath.require_module = false;
    app::HostSetup lenient;
    ASSERT_TRUE(lenient.apply(c, root_.string(), "/bin/false"));
    EXPECT_EQ(slurp(root_ / "net/ipv4/ip_forward"), "1");
    lenient.restore();
}

}  // namespace
