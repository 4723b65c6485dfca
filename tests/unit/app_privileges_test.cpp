// Privilege drop for real: each case forks a child in its own network namespace, drops there and reports back.
#include "app/privileges.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "nl/iptables_rules.hpp"
#include "nl/rtnetlink.hpp"

namespace {

using namespace wirebridge;

bool can_drop() { return geteuid() == 0 && getpwnam("nobody") != nullptr; }

#define REQUIRE_ROOT()                                                         \
    do {                                                                       \
        if (!can_drop()) GTEST_SKIP() << "needs root and a user 'nobody'";     \
    } while (0)

// Waits for pid to exit, at most `limit`; kills it past that. Returns its wait status, or -1 when it
// had to be killed.
int wait_bounded(pid_t pid, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return status;
}

// Reads a pipe until EOF or the deadline.
std::string read_until_eof(int fd, std::chrono::seconds limit) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    char buf[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

// Runs `body` in a forked child, in a new network namespace (so links and rules it makes are its
// own and vanish with it). The child reports "" for success or what went wrong; a child that dies
// or hangs past 30 s is a failure too.
std::string in_child(const std::function<std::string()>& body) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return "pipe failed";
    pid_t pid = fork();
    if (pid < 0) return "fork failed";
    if (pid == 0) {
        close(p[0]);
        std::string msg = unshare(CLONE_NEWNET) == 0 ? body() : std::string("unshare(CLONE_NEWNET) failed");
        if (msg.empty()) msg = "OK";
        ssize_t ignored = write(p[1], msg.data(), msg.size());
        (void)ignored;
        _exit(msg == "OK" ? 0 : 1);
    }
    close(p[1]);
    std::string msg = read_until_eof(p[0], std::chrono::seconds(30));
    close(p[0]);
    const int status = wait_bounded(pid, std::chrono::seconds(10));
    if (status == -1) return "child hung: " + msg;
    if (!WIFEXITED(status)) return "child died by signal " + std::to_string(WTERMSIG(status)) + ": " + msg;
    if (WEXITSTATUS(status) != 0 || msg != "OK") return msg.empty() ? "child failed without a word" : msg;
    return "";
}

// Runs argv (no shell), feeding `input`; returns exit status and stdout+stderr.
struct Ran {
    int status = -1;
    std::string output;
};
Ran run_program(const std::vector<std::string>& argv, const std::string& input = "") {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return {};
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(out[1], 2);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    ssize_t ignored = write(in[1], input.data(), input.size());
    (void)ignored;
    close(in[1]);
    Ran r;
    r.output = read_until_eof(out[0], std::chrono::seconds(20));
    close(out[0]);
    const int status = wait_bounded(pid, std::chrono::seconds(10));
    if (status == -1) return r;
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

// "CapEff:\t0000000000003000" -> "0000000000003000", from a /proc/PID/status text.
std::string status_field(const std::string& text, const std::string& name) {
    auto at = text.find("\n" + name + ":");
    if (at == std::string::npos) return "";
    at += name.size() + 2;
    while (at < text.size() && (text[at] == '\t' || text[at] == ' ')) ++at;
    return text.substr(at, text.find('\n', at) - at);
}

std::string own_status() {
    std::ifstream in("/proc/self/status");
    return "\n" + std::string(std::istreambuf_iterator<char>(in), {});
}

std::string hex_mask(std::initializer_list<int> caps) {
    unsigned long long m = 0;
    for (int c : caps) m |= 1ull << c;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", m);
    return buf;
}

// Each check returns "" or what is wrong.
std::string expect_eq(const std::string& what, const std::string& got, const std::string& want) {
    return got == want ? "" : what + " is '" + got + "', expected '" + want + "'";
}

uid_t nobody_uid() { return getpwnam("nobody")->pw_uid; }
gid_t nobody_gid() { return getpwnam("nobody")->pw_gid; }

// Creates and deletes a bridge through the agent's own rtnetlink code; returns the errno of the
// create (0 when it worked).
int try_link_add(const std::string& name) {
    auto rtnl = nl::Rtnetlink::open();
    if (!rtnl) return rtnl.error().code ? rtnl.error().code : -1;
    auto r = rtnl->create_bridge(name);
    if (!r) return r.error().code ? r.error().code : -1;
    auto d = rtnl->delete_link(name);
    return d ? 0 : -2;
}

TEST(Privileges, DropToNobodyKeepsExactlyTheGivenCapabilities) {
    REQUIRE_ROOT();
    const std::string want = hex_mask({CAP_NET_ADMIN, CAP_NET_RAW});
    auto err = in_child([&]() -> std::string {
        const int keep[] = {CAP_NET_ADMIN, CAP_NET_RAW};
        if (auto r = app::drop_privileges("nobody", keep); !r) return "drop failed: " + r.error().message;
        uid_t ru, eu, su;
        gid_t rg, eg, sg;
        getresuid(&ru, &eu, &su);
        getresgid(&rg, &eg, &sg);
        if (ru != nobody_uid() || eu != nobody_uid() || su != nobody_uid()) return "uid not nobody's everywhere";
        if (rg != nobody_gid() || eg != nobody_gid() || sg != nobody_gid()) return "gid not nobody's everywhere";
        gid_t groups[64];
        int n = getgroups(64, groups);
        for (int i = 0; i < n; ++i)
            if (groups[i] == 0) return "root's group is still a supplementary group";
        const std::string st = own_status();
        for (const char* f : {"CapEff", "CapPrm", "CapBnd"})
            if (auto e = expect_eq(f, status_field(st, f), want); !e.empty()) return e;
        for (const char* f : {"CapInh", "CapAmb"})  // no helper capabilities asked for
            if (auto e = expect_eq(f, status_field(st, f), "0000000000000000"); !e.empty()) return e;
        if (auto e = expect_eq("NoNewPrivs", status_field(st, "NoNewPrivs"), "1"); !e.empty()) return e;
        if (int e = try_link_add("wbpkgbr0"); e != 0)
            return "RTM_NEWLINK with CAP_NET_ADMIN failed: " + std::to_string(e);
        if (setuid(0) == 0) return "setuid(0) succeeded after the drop";
        if (setgid(0) == 0) return "setgid(0) succeeded after the drop";
        const std::string line = app::describe_credentials();
        if (line.find("uid=" + std::to_string(nobody_uid()) + "(nobody)") == std::string::npos ||
            line.find("cap_net_admin,cap_net_raw") == std::string::npos || line.find(want) == std::string::npos)
            return "describe_credentials() says: " + line;
        return "";
    });
    EXPECT_EQ(err, "");
}

TEST(Privileges, WithoutCapabilitiesLinkAddIsRefused) {
    REQUIRE_ROOT();
    auto err = in_child([]() -> std::string {
        if (auto r = app::drop_privileges("nobody", {}); !r) return "drop failed: " + r.error().message;
        const std::string st = own_status();
        for (const char* f : {"CapEff", "CapPrm", "CapBnd", "CapAmb"})
            if (auto e = expect_eq(f, status_field(st, f), "0000000000000000"); !e.empty()) return e;
        if (int e = try_link_add("wbpkgbr1"); e != EPERM)
            return "RTM_NEWLINK without CAP_NET_ADMIN: expected EPERM, got " + std::to_string(e);
        if (setuid(0) == 0) return "setuid(0) succeeded after the drop";
        if (app::describe_credentials().find("caps=none") == std::string::npos)
            return "describe_credentials() says: " + app::describe_credentials();
        return "";
    });
    EXPECT_EQ(err, "");
}

// What the daemon does at exit with `interest:`: iptables-restore (nl::run_tool) removes its
// rules. The helper capabilities reach that tool (ambient for its spawn only); any other program
// the daemon execs (auth_user_pass_verify) gets nothing, and the daemon itself has only its own.
TEST(Privileges, OnlyRunToolsHelpersGetTheHelperCapabilities) {
    REQUIRE_ROOT();
    const std::string daemon = hex_mask({CAP_NET_ADMIN});
    const std::string helpers = hex_mask({CAP_NET_ADMIN, CAP_NET_RAW});
    const std::string none = "0000000000000000";
    const bool have_iptables = access("/usr/sbin/iptables-restore", X_OK) == 0;
    auto err = in_child([&]() -> std::string {
        const int keep[] = {CAP_NET_ADMIN};
        const int helper[] = {CAP_NET_ADMIN, CAP_NET_RAW};
        if (auto r = app::drop_privileges("nobody", keep, helper); !r) return "drop failed: " + r.error().message;
        std::string st = own_status();
        for (auto [f, want] : {std::pair{"CapEff", daemon}, {"CapPrm", helpers}, {"CapInh", helpers},
                               {"CapBnd", helpers}, {"CapAmb", none}})
            if (auto e = expect_eq(f, status_field(st, f), want); !e.empty()) return e;
        Ran cat = run_program({"/bin/cat", "/proc/self/status"});
        if (cat.status != 0) return "cat failed: " + cat.output;
        for (const char* f : {"CapEff", "CapPrm", "CapAmb"})
            if (auto e = expect_eq(std::string("a program exec'd directly: ") + f, status_field("\n" + cat.output, f), none);
                !e.empty())
                return e;
        auto tool = nl::run_tool({"cat", "/proc/self/status"}, {});
        if (!tool) return "run_tool cat: " + tool.error().message;
        for (const char* f : {"CapEff", "CapPrm", "CapAmb"})
            if (auto e = expect_eq(std::string("run_tool's program: ") + f, status_field("\n" + *tool, f), helpers); !e.empty())
                return e;
        st = own_status();
        if (auto e = expect_eq("CapAmb after run_tool", status_field(st, "CapAmb"), none); !e.empty()) return e;
        if (auto e = expect_eq("CapEff after run_tool", status_field(st, "CapEff"), daemon); !e.empty()) return e;
        if (!have_iptables) return "";
        const std::string rules =
            "*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -i wbpkg0 -j MARK --set-mark 0x32\nCOMMIT\n";
        auto add = nl::run_tool({"iptables-restore", "--noflush"}, rules);
        if (!add) return "iptables-restore as nobody failed: " + add.error().message;
        Ran direct = run_program({"/usr/sbin/iptables-restore", "--noflush"},
                                 "*mangle\n-D PREROUTING -i wbpkg0 -j MARK --set-mark 0x32\nCOMMIT\n");
        if (direct.status == 0) return "iptables-restore exec'd directly (not by run_tool) had the capabilities";
        auto del = nl::run_tool({"iptables-restore", "--noflush"},
                                "*mangle\n-D PREROUTING -i wbpkg0 -j MARK --set-mark 0x32\nCOMMIT\n");
        if (!del) return "iptables-restore removing the rule as nobody failed: " + del.error().message;
        return "";
    });
    EXPECT_EQ(err, "");
}

TEST(Privileges, ExecedProgramsGetNothingWhenNothingIsKept) {
    REQUIRE_ROOT();
    auto err = in_child([]() -> std::string {
        if (auto r = app::drop_privileges("nobody", {}); !r) return "drop failed: " + r.error().message;
        Ran cat = run_program({"/bin/cat", "/proc/self/status"});
        if (cat.status != 0) return "cat failed: " + cat.output;
        return expect_eq("exec'd CapEff", status_field("\n" + cat.output, "CapEff"), "0000000000000000");
    });
    EXPECT_EQ(err, "");
}

TEST(Privileges, UnknownUserIsAnErrorAndChangesNothing) {
    REQUIRE_ROOT();
    auto err = in_child([]() -> std::string {
        const std::string before = status_field(own_status(), "CapBnd");
        const int keep[] = {CAP_NET_ADMIN};
        auto r = app::drop_privileges("wb-no-such-user", keep);
        if (r) return "dropping to an unknown user succeeded";
        if (r.error().message.find("user 'wb-no-such-user': no such user") == std::string::npos)
            return "unclear message: " + r.error().message;
        if (geteuid() != 0) return "uid changed although the drop was refused";
        return expect_eq("CapBnd after a refused drop", status_field(own_status(), "CapBnd"), before);
    });
    EXPECT_EQ(err, "");
}

TEST(Privileges, RootAsTargetIsRefused) {
    REQUIRE_ROOT();
    auto err = in_child([]() -> std::string {
        const int keep[] = {CAP_NET_ADMIN};
        auto r = app::drop_privileges("root", keep);
        if (r) return "'dropping' to root succeeded";
        if (r.error().message.find("is root (uid 0)") == std::string::npos) return "unclear message: " + r.error().message;
        return "";
    });
    EXPECT_EQ(err, "");
}

TEST(Privileges, KeepingCapSetuidIsRefusedBecauseRootComesBack) {
    REQUIRE_ROOT();
    auto err = in_child([]() -> std::string {
        const int keep[] = {CAP_NET_ADMIN, CAP_SETUID};
        auto r = app::drop_privileges("nobody", keep);
        if (r) return "a drop keeping CAP_SETUID was accepted";
        if (r.error().message.find("setuid(0) still succeeds") == std::string::npos)
            return "unclear message: " + r.error().message;
        return "";
    });
    EXPECT_EQ(err, "");
}

TEST(Privileges, BadCapabilityNumberIsRefusedBeforeAnyChange) {
    REQUIRE_ROOT();
    auto err = in_child([]() -> std::string {
        const int keep[] = {CAP_NET_ADMIN, 99};
        auto r = app::drop_privileges("nobody", keep);
        if (r) return "capability 99 was accepted";
        if (r.error().message.find("cannot keep capability 99") == std::string::npos)
            return "unclear message: " + r.error().message;
        if (geteuid() != 0) return "uid changed although the drop was refused";
        return "";
    });
    EXPECT_EQ(err, "");
}

TEST(Privileges, RefusedWhileAnotherThreadRuns) {
    REQUIRE_ROOT();
    auto err = in_child([]() -> std::string {
        int p[2];
        if (pipe(p) != 0) return "pipe failed";
        std::thread t([fd = p[0]] {
            char c;
            ssize_t ignored = read(fd, &c, 1);
            (void)ignored;
        });
        const int keep[] = {CAP_NET_ADMIN};
        auto r = app::drop_privileges("nobody", keep);
        ssize_t ignored = write(p[1], "x", 1);
        (void)ignored;
        t.join();
        if (r) return "the drop was done with two threads";
        if (r.error().message.find("one thread (it has 2)") == std::string::npos)
            return "unclear message: " + r.error().message;
        if (geteuid() != 0) return "uid changed although the drop was refused";
        return "";
    });
    EXPECT_EQ(err, "");
}

TEST(Privileges, HandOverPathChownsToTheUser) {
    REQUIRE_ROOT();
    char tmpl[] = "/tmp/wbpkg-handover-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    const std::string dir = tmpl;
    ASSERT_TRUE(app::hand_over_path(dir, "nobody"));
    struct stat st {};
    ASSERT_EQ(stat(dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, nobody_uid());
    EXPECT_EQ(st.st_gid, nobody_gid());

    const std::string link = dir + "/link";
    ASSERT_EQ(symlink("/etc", link.c_str()), 0);
    auto r = app::hand_over_path(link, "nobody");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("symbolic link"), std::string::npos) << r.error().message;
    ASSERT_EQ(stat("/etc", &st), 0);
    EXPECT_EQ(st.st_uid, 0u);

    r = app::hand_over_path(dir, "wb-no-such-user");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("no such user"), std::string::npos) << r.error().message;
    r = app::hand_over_path(dir + "/missing", "nobody");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ENOENT);
    std::filesystem::remove_all(dir);
}

TEST(Privileges, RuntimeCapabilitiesFollowTheConfig) {
    config::Config cfg;
    EXPECT_EQ(app::runtime_capabilities(cfg).daemon, (std::vector<int>{CAP_NET_ADMIN}));
    EXPECT_TRUE(app::runtime_capabilities(cfg).helpers.empty());
    cfg.tunnel.local = config::Endpoint{"0.0.0.0", 1194, false};
    EXPECT_EQ(app::runtime_capabilities(cfg).daemon, (std::vector<int>{CAP_NET_ADMIN}));
    cfg.tunnel.local->port = 443;
    EXPECT_EQ(app::runtime_capabilities(cfg).daemon, (std::vector<int>{CAP_NET_ADMIN, CAP_NET_BIND_SERVICE}));
    cfg.interest = config::InterestConfig{};  // iptables-restore at exit
    EXPECT_EQ(app::runtime_capabilities(cfg).helpers, (std::vector<int>{CAP_NET_ADMIN, CAP_NET_RAW}));
    EXPECT_EQ(app::runtime_capabilities(cfg).daemon, (std::vector<int>{CAP_NET_ADMIN, CAP_NET_BIND_SERVICE}));
}

TEST(Privileges, NamesAndDescription) {
    EXPECT_EQ(app::capability_name(CAP_NET_ADMIN), "cap_net_admin");
    EXPECT_EQ(app::capability_name(40), "cap_checkpoint_restore");
    EXPECT_EQ(app::capability_name(55), "cap_55");
    const std::string line = app::describe_credentials();
    EXPECT_EQ(line.rfind("uid=" + std::to_string(geteuid()) + "(", 0), 0u) << line;
    EXPECT_NE(line.find("(CapEff="), std::string::npos) << line;
}

}  // namespace
