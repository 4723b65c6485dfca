// IptablesRules: the ruleset text, and install/replace/remove against the real kernel in a
// private network namespace (iptables-save is the witness).
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "nl/iptables_rules.hpp"

namespace wirebridge::nl {
namespace {

TrafficSelector sel(const char* dst, L4Proto proto = L4Proto::any, std::optional<uint16_t> dport = {}) {
    TrafficSelector s;
    if (dst) s.dst = *IfAddress::parse(dst);
    s.proto = proto;
    s.dport = dport;
    return s;
}

RulesetPlan plan() {
    RulesetPlan p;
    p.chain = chain_for_site("branch-a");
    p.tunnel_device = "tap0";
    p.queue = 3;
    p.queue_selectors = {sel("10.20.0.0/16"), sel("2001:db8:20::/48")};
    p.bypass_selectors = {sel(nullptr, L4Proto::tcp, 22)};
    return p;
}

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

TEST(IptablesRulesTextTest, ChainHoldsTheRulesInOrder) {
    const std::string t = install_text(plan(), AF_INET, "");
    const char* want[] = {
        "*mangle\n:WB-branch-a - [0:0]\n-I PREROUTING 1 -j WB-branch-a\n",
        "-A WB-branch-a -i tap0 -j RETURN\n",
        "-A WB-branch-a -m mark ! --mark 0x0/0x30000 -j CONNMARK --save-mark --nfmask 0x30000 --ctmask 0x30000\n",
        "-A WB-branch-a -j CONNMARK --restore-mark --nfmask 0x30000 --ctmask 0x30000\n",
        "-A WB-branch-a -m mark ! --mark 0x0/0x30000 -j RETURN\n",
        "-A WB-branch-a -p tcp --dport 22 -j MARK --set-xmark 0x20000/0x30000\n",
        "-A WB-branch-a -m mark ! --mark 0x0/0x30000 -j CONNMARK --save-mark --nfmask 0x30000 --ctmask 0x30000\n",
        "-A WB-branch-a -m mark ! --mark 0x0/0x30000 -j RETURN\n",
        "-A WB-branch-a -d 10.20.0.0/16 -m conntrack --ctstate NEW -j NFQUEUE --queue-num 3 --queue-bypass\n",
        "COMMIT\n"};
    size_t at = 0;
    for (const char* w : want) {
        size_t found = t.find(w, at);
        ASSERT_NE(found, std::string::npos) << "missing or out of order: " << w << "\nin:\n" << t;
        at = found;
    }
    EXPECT_EQ(t.find("2001:db8"), std::string::npos) << t;
    EXPECT_EQ(t.find("GWMARK"), std::string::npos) << t;
    EXPECT_EQ(t.find("-OUT"), std::string::npos) << t;
}

TEST(IptablesRulesTextTest, FamilyFailModeAndFastpath) {
    RulesetPlan p = plan();
    p.fail_open = false;
    p.reply_mark = 0x32;
    p.orig_mark = 0x33;
    p.tunnel_bridged = true;
    const std::string t = install_text(p, AF_INET6, "");
    EXPECT_NE(t.find("-d 2001:db8:20::/48 -m conntrack --ctstate NEW -j NFQUEUE --queue-num 3\n"), std::string::npos) << t;
    EXPECT_EQ(t.find("--queue-bypass"), std::string::npos) << t;
    EXPECT_EQ(t.find("10.20.0.0"), std::string::npos) << t;
    EXPECT_NE(t.find("-A WB-branch-a -m physdev --physdev-in tap0 -j GWMARK --reply-mark 0x32/0xfffcffff\n"),
              std::string::npos) << t;
    EXPECT_NE(t.find(":WB-branch-a-OUT - [0:0]\n"), std::string::npos) << t;
    EXPECT_NE(t.find("-I OUTPUT 1 -j WB-branch-a-OUT\n"), std::string::npos) << t;
    EXPECT_NE(t.find("-A WB-branch-a-OUT -m connmark ! --mark 0x0/0x30000 -j GWMARK --orig-mark 0x33/0xfffcffff\n"), std::string::npos) << t;
}

TEST(IptablesRulesTextTest, QueueFanoutAndNoBypassSelectors) {
    RulesetPlan p = plan();
    p.queue = 4;
    p.queues = 4;
    p.bypass_selectors.clear();
    const std::string t = install_text(p, AF_INET, "");
    EXPECT_NE(t.find("-A WB-branch-a -d 10.20.0.0/16 -m conntrack --ctstate NEW -j NFQUEUE --queue-balance 4:7 "
                     "--queue-cpu-fanout --queue-bypass\n"),
              std::string::npos) << t;
    EXPECT_EQ(t.find("--queue-num"), std::string::npos) << t;
    // Without bypass selectors there is nothing to save between restore and the queue rules.
    EXPECT_EQ(count(t, "--save-mark"), 1u) << t;
    EXPECT_EQ(t.find("MARK --set-xmark"), std::string::npos) << t;
    EXPECT_TRUE(validate_plan(p));
    p.queue = 65534;
    p.queues = 3;
    EXPECT_FALSE(validate_plan(p));
}

TEST(IptablesRulesTextTest, StaleJumpsAreDeletedAndOthersKept) {
    const std::string saved =
        "*mangle\n:PREROUTING ACCEPT [0:0]\n:WB-branch-a - [0:0]\n:WB-branch-a-OUT - [0:0]\n"
        "-A PREROUTING -j WB-branch-a\n-A PREROUTING -j WB-branch-a\n-A PREROUTING -j WB-branch-ab\n"
        "-A OUTPUT -j WB-branch-a-OUT\n-A PREROUTING -p udp -j MARK --set-xmark 0x1/0xffffffff\nCOMMIT\n";
    const std::string t = install_text(plan(), AF_INET, saved);
    EXPECT_EQ(count(t, "-D PREROUTING -j WB-branch-a\n"), 2u) << t;
    EXPECT_NE(t.find("-D OUTPUT -j WB-branch-a-OUT\n-F WB-branch-a-OUT\n-X WB-branch-a-OUT\n"), std::string::npos) << t;
    EXPECT_EQ(t.find("WB-branch-ab"), std::string::npos) << t;
    EXPECT_EQ(t.find("--set-xmark 0x1/"), std::string::npos) << t;  // the foreign rule is not touched
    EXPECT_TRUE(has_chains("WB-branch-a", saved));
    EXPECT_FALSE(has_chains("WB-branch", saved));

    const std::string r = remove_text("WB-branch-a", saved);
    EXPECT_EQ(r, "*mangle\n-D PREROUTING -j WB-branch-a\n-D PREROUTING -j WB-branch-a\n-F WB-branch-a\n"
                 "-X WB-branch-a\n-D OUTPUT -j WB-branch-a-OUT\n-F WB-branch-a-OUT\n-X WB-branch-a-OUT\nCOMMIT\n");
    EXPECT_EQ(remove_text("WB-other", saved), "");
}

TEST(IptablesRulesTextTest, ChainNamesAndPlanChecks) {
    EXPECT_EQ(chain_for_site("branch a/1"), "WB-branch_a_1");
    const std::string long_a = chain_for_site("a-very-long-site-name-number-one");
    const std::string long_b = chain_for_site("a-very-long-site-name-number-two");
    EXPECT_LE(long_a.size() + 4, 28u);
    EXPECT_NE(long_a, long_b);
    RulesetPlan p = plan();
    EXPECT_TRUE(validate_plan(p));
    p.reply_mark = 0x10032;  // overlaps the decision bits
    auto r = validate_plan(p);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("reply_mark 0x10032"), std::string::npos) << r.error().message;
    p = plan();
    p.tunnel_device = "tap0 -j DROP";
    EXPECT_FALSE(validate_plan(p));
}

TEST(RunToolTest, ReportsExitAndOutput) {
    auto ok = run_tool({"cat"}, "hello\n");
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(*ok, "hello\n");
    auto bad = run_tool({"sh", "-c", "echo nope >&2; exit 3"}, {});
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("exit 3"), std::string::npos) << bad.error().message;
    EXPECT_NE(bad.error().message.find("nope"), std::string::npos) << bad.error().message;
    EXPECT_FALSE(run_tool({"/nonexistent/tool"}, {}));
    auto slow = run_tool({"sleep", "5"}, {}, 200);
    ASSERT_FALSE(slow);
    EXPECT_EQ(slow.error().code, ETIMEDOUT);
}

TEST(RunToolTest, ProgramsAreFoundInFixedDirectoriesNeverThroughPath) {
    // A directory put first in PATH holds a "cat" that would say "hijacked": it is never run.
    char tmpl[] = "/tmp/wb_run_tool_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    const std::string dir = tmpl, fake = dir + "/cat";
    {
        std::FILE* f = std::fopen(fake.c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs("#!/bin/sh\necho hijacked\n", f);
        std::fclose(f);
        ASSERT_EQ(chmod(fake.c_str(), 0755), 0);
    }
    const char* old = std::getenv("PATH");
    const std::string saved = old ? old : "";
    setenv("PATH", (dir + ":" + saved).c_str(), 1);
    auto r = run_tool({"cat"}, "real\n");
    setenv("PATH", saved.c_str(), 1);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, "real\n");
    EXPECT_EQ(resolve_tool("cat").rfind("/", 0), 0u) << resolve_tool("cat");
    EXPECT_EQ(resolve_tool(fake), fake);  // a path is taken as it is
    EXPECT_EQ(resolve_tool("wb-no-such-tool"), "");
    auto missing = run_tool({"wb-no-such-tool"}, {});
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ENOENT);
    std::remove(fake.c_str());
    rmdir(dir.c_str());
}

class IptablesRulesKernelTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace";
        ASSERT_EQ(unshare(CLONE_NEWNET), 0);
    }
    static std::string saved(int family = AF_INET) {
        auto r = run_tool({family == AF_INET ? "iptables-save" : "ip6tables-save", "-t", "mangle"}, {});
        return r ? *r : "error: " + r.error().message;
    }
};

TEST_F(IptablesRulesKernelTest, InstallsReplacesAndRemovesExactlyItsOwn) {
    ASSERT_TRUE(run_tool({"iptables", "-t", "mangle", "-A", "PREROUTING", "-p", "udp", "-j", "MARK", "--set-mark", "7"}, {}));
    // A crashed run's leftovers: same chain, a jump, old rules.
    ASSERT_TRUE(run_tool({"iptables-restore", "--noflush"},
                         "*mangle\n:WB-branch-a - [0:0]\n-A WB-branch-a -p icmp -j RETURN\n"
                         "-A PREROUTING -j WB-branch-a\nCOMMIT\n"));
    {
        IptablesRules rules;
        auto r = rules.apply(plan());
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_TRUE(rules.replaced_stale());
        std::string s4 = saved(), s6 = saved(AF_INET6);
        EXPECT_EQ(count(s4, "-j WB-branch-a\n"), 1u) << s4;
        EXPECT_EQ(s4.find("-p icmp"), std::string::npos) << s4;
        EXPECT_NE(s4.find("-A WB-branch-a -d 10.20.0.0/16 -m conntrack --ctstate NEW -j NFQUEUE --queue-num 3 --queue-bypass"),
                  std::string::npos) << s4;
        EXPECT_NE(s6.find("-A WB-branch-a -d 2001:db8:20::/48"), std::string::npos) << s6;
        // Our jump comes first, the foreign rule stays.
        EXPECT_LT(s4.find("-A PREROUTING -j WB-branch-a"), s4.find("--set-xmark 0x7")) << s4;

        // Applying again (a reload) replaces in place: still one jump, new rules.
        RulesetPlan next = plan();
        next.queue_selectors = {sel("10.30.0.0/16")};
        ASSERT_TRUE(rules.apply(next));
        EXPECT_FALSE(rules.replaced_stale());
        s4 = saved();
        EXPECT_EQ(count(s4, "-j WB-branch-a\n"), 1u) << s4;
        EXPECT_EQ(s4.find("10.20.0.0"), std::string::npos) << s4;
        EXPECT_NE(s4.find("10.30.0.0/16"), std::string::npos) << s4;
        EXPECT_NE(s4.find("-A WB-branch-a -p tcp -m tcp --dport 22 -j MARK --set-xmark 0x20000/0x30000"), std::string::npos)
            << s4;
        // Fanout over four queues, as the kernel takes it.
        next.queue = 4;
        next.queues = 4;
        ASSERT_TRUE(rules.apply(next));
        s4 = saved();
        EXPECT_NE(s4.find("-j NFQUEUE --queue-balance 4:7 --queue-bypass --queue-cpu-fanout"), std::string::npos) << s4;
        ASSERT_TRUE(rules.remove());
        EXPECT_FALSE(rules.installed());
    }
    const std::string s4 = saved(), s6 = saved(AF_INET6);
    EXPECT_EQ(s4.find("WB-"), std::string::npos) << s4;
    EXPECT_EQ(s6.find("WB-"), std::string::npos) << s6;
    EXPECT_NE(s4.find("--set-xmark 0x7"), std::string::npos) << s4;
}

TEST_F(IptablesRulesKernelTest, AFailureHalfWayLeavesNothing) {
    IptablesTools tools;
    tools.restore6 = "false";  // IPv6 refuses: the IPv4 rules already in must go again
    IptablesRules rules(tools);
    auto r = rules.apply(plan());
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("IPv6 rules"), std::string::npos) << r.error().message;
    EXPECT_FALSE(rules.installed());
    EXPECT_EQ(saved().find("WB-"), std::string::npos) << saved();

    // A rule refused in the middle of the text (GWMARK: the host never has xt_GWMARK loaded)
    // fails the whole transaction: nothing half-installed.
    IptablesRules strict;
    RulesetPlan p = plan();
    p.reply_mark = 0x32;
    auto g = strict.apply(p);
    ASSERT_FALSE(g);
    EXPECT_NE(g.error().message.find("IPv4 rules"), std::string::npos) << g.error().message;
    EXPECT_EQ(saved().find("WB-"), std::string::npos) << saved();
}

TEST_F(IptablesRulesKernelTest, DestructorRemoves) {
    {
        IptablesRules rules;
        ASSERT_TRUE(rules.apply(plan()));
        EXPECT_NE(saved().find("WB-branch-a"), std::string::npos);
    }
    EXPECT_EQ(saved().find("WB-"), std::string::npos) << saved();
}

}  // namespace
}  // namespace wirebridge::nl
