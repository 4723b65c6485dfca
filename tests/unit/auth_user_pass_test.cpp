// auth-user-pass file and the auth-user-pass-verify program: arguments, environment, exit status,
// never waiting, the kill at the timeout, deferred verdicts (auth_control_file), reason file,
// temporary files removed.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "auth/user_pass.hpp"

namespace wirebridge::auth {
namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char t[] = "/tmp/wb-auth-test-XXXXXX";
        path = mkdtemp(t);
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
    std::string write(const std::string& name, const std::string& text, mode_t mode = 0600) const {
        const std::string f = path + "/" + name;
        std::ofstream(f) << text;
        chmod(f.c_str(), mode);
        return f;
    }
    std::string read(const std::string& name) const {
        std::ifstream in(path + "/" + name);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    size_t count(const std::string& prefix) const {
        size_t n = 0;
        for (const auto& e : std::filesystem::directory_iterator(path))
            n += e.path().filename().string().rfind(prefix, 0) == 0;
        return n;
    }
};

VerifyRequest request(const std::string& password) {
    VerifyRequest r;
    r.username = "site\x01one";
    r.password = password;
    r.common_name = "site-one";
    r.untrusted_ip = "192.0.2.7";
    r.untrusted_port = 40123;
    r.peer_info = "IV_VER=2.6.14\nIV_PLAT=linux\nBAD NAME=x\nUV_ROLE=edge\nother=1\n";
    return r;
}

TEST(UserPassFile, ReadsUsernameAndPasswordLines) {
    TempDir d;
    auto up = read_user_pass_file(d.write("ok", "site\r\nsecret pass\n"));
    ASSERT_TRUE(up);
    EXPECT_EQ(up->username, "site");
    EXPECT_EQ(up->password, "secret pass");
    EXPECT_FALSE(read_user_pass_file(d.write("nopass", "site\n")));
    EXPECT_FALSE(read_user_pass_file(d.write("empty", "")));
    EXPECT_FALSE(read_user_pass_file(d.path + "/missing"));
    EXPECT_FALSE(read_user_pass_file(d.write("long", "u\n" + std::string(200, 'p') + "\n")));
}

TEST(UserPassVerifier, EnvironmentIsOpenVpns) {
    UserPassVerifier v({{"/bin/true"}, false, 5, "/tmp"});
    const auto env = v.environment(request("x"));
    auto has = [&](const std::string& e) { return std::find(env.begin(), env.end(), e) != env.end(); };
    EXPECT_TRUE(has("script_type=user-pass-verify"));
    EXPECT_TRUE(has("username=site_one"));  // control characters become '_', as OpenVPN
    EXPECT_TRUE(has("common_name=site-one"));
    EXPECT_TRUE(has("untrusted_ip=192.0.2.7"));
    EXPECT_TRUE(has("untrusted_port=40123"));
    EXPECT_TRUE(has("IV_VER=2.6.14"));
    EXPECT_TRUE(has("UV_ROLE=edge"));
    for (const auto& e : env) {
        EXPECT_NE(e.rfind("other=", 0), 0u);
        EXPECT_NE(e.rfind("BAD", 0), 0u);
        EXPECT_NE(e.rfind("password=", 0), 0u);  // only verify() adds it, via-env
    }
}

// Waits (at most 10 s) until the run is no longer running; returns its state.
VerifyRun::State wait_exit(VerifyRun& run) {
    for (int i = 0; i < 1000; ++i) {
        const VerifyRun::State st = run.reap();
        if (st != VerifyRun::State::running) return st;
        if (run.pidfd() >= 0) {
            pollfd p{run.pidfd(), POLLIN, 0};
            ::poll(&p, 1, 10);
        } else {
            ::usleep(10000);
        }
    }
    return run.reap();
}

// Runs r to its verdict (deferred ones polled for at most 10 s).
VerifyResult run_to_verdict(const UserPassVerifier& v, const VerifyRequest& r) {
    auto run = v.start(r);
    if (!run) return VerifyResult{false, run.error().message, {}};
    const VerifyRun::State st = wait_exit(*run);
    if (st == VerifyRun::State::done) return run->result();
    for (int i = 0; i < 1000; ++i) {
        if (auto res = run->poll_control()) return *res;
        ::usleep(10000);
    }
    return VerifyResult{false, "no verdict in 10 s", {}};
}

TEST(UserPassVerifier, ViaEnvExitStatusDecides) {
    TempDir d;
    const std::string script = d.write("check", "#!/bin/sh\n"
        "env > \"" + d.path + "/env.out\"\n"
        "echo \"$#\" > \"" + d.path + "/argc.out\"\n"
        "[ \"$password\" = 'right one' ] && exit 0\n"
        "echo 'nope, try again' > \"$auth_failed_reason_file\"\n"
        "exit 3\n", 0755);
    UserPassVerifier v({{script}, false, 10, d.path});
    const VerifyResult ok = run_to_verdict(v, request("right one"));
    EXPECT_TRUE(ok.ok) << ok.why;
    EXPECT_EQ(d.read("argc.out"), "0\n");
    const std::string env = d.read("env.out");
    EXPECT_NE(env.find("password=right one\n"), std::string::npos);
    EXPECT_NE(env.find("untrusted_port=40123\n"), std::string::npos);
    EXPECT_NE(env.find("auth_control_file=" + d.path + "/wirebridge-acf-"), std::string::npos);
    EXPECT_NE(env.find("auth_failed_reason_file=" + d.path + "/wirebridge-reason-"), std::string::npos);
    EXPECT_EQ(env.find("HOME="), std::string::npos);  // its own environment, not the agent's
    const VerifyResult bad = run_to_verdict(v, request("wrong"));
    EXPECT_FALSE(bad.ok);
    EXPECT_NE(bad.why.find("exited with status 3"), std::string::npos) << bad.why;
    EXPECT_EQ(bad.client_reason, "nope, try again");
    EXPECT_EQ(d.count("wirebridge-"), 0u);  // the reason and control files are gone
}

TEST(UserPassVerifier, ViaFileGivesAPrivateFileAsLastArgument) {
    TempDir d;
    const std::string script = d.write("check", "#!/bin/sh\n"
        "echo \"$1|$(stat -c %a \"$2\")|$(cat \"$2\" | tr '\\n' ';')|${password:-none}\" > \"" + d.path + "/seen.out\"\n"
        "[ \"$(sed -n 2p \"$2\")\" = secret ]\n", 0755);
    UserPassVerifier v({{script, "first-arg"}, true, 10, d.path});
    EXPECT_TRUE(run_to_verdict(v, request("secret")).ok);
    EXPECT_EQ(d.read("seen.out"), "first-arg|600|site\x01one;secret;|none\n");
    EXPECT_FALSE(run_to_verdict(v, request("other")).ok);
    EXPECT_EQ(d.count("wirebridge-"), 0u);  // the via-file is removed
}

// Gone, or a zombie waiting for init (a killed orphan).
bool dead(pid_t pid) {
    for (int i = 0; i < 200; ++i) {
        std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        if (!st || !std::getline(st, line)) return true;
        const size_t paren = line.rfind(')');
        if (paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z') return true;
        ::usleep(10000);
    }
    return false;
}

TEST(UserPassVerifier, StartNeverWaitsAndASlowProgramIsKilled) {
    TempDir d;
    // A shell that waits for a child: the kill takes the child too (the program's process group).
    const std::string script = d.write("slow", "#!/bin/sh\nsleep 30 &\necho $! > \"" + d.path + "/child\"\nwait\nexit 0\n", 0755);
    UserPassVerifier v({{script}, false, 1, d.path});
    const auto t0 = std::chrono::steady_clock::now();
    auto run = v.start(request("x"));
    ASSERT_TRUE(run);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
    EXPECT_GE(run->pidfd(), 0);  // kernels of 5.3 and later
    ::usleep(100000);
    EXPECT_EQ(run->reap(), VerifyRun::State::running);
    const pid_t pid = run->pid();
    ASSERT_GT(pid, 0);
    pid_t child = 0;
    for (int i = 0; i < 200 && child <= 0; ++i) {
        std::ifstream(d.path + "/child") >> child;
        if (child <= 0) ::usleep(10000);
    }
    ASSERT_GT(child, 0);
    const VerifyResult r = run->kill_timed_out(1);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.why.find("did not exit within 1 s"), std::string::npos) << r.why;
    EXPECT_EQ(run->pid(), -1);
    EXPECT_EQ(::kill(pid, 0), -1);  // reaped: no pid left to signal
    EXPECT_TRUE(dead(child));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
    EXPECT_EQ(d.count("wirebridge-"), 0u);
}

TEST(UserPassVerifier, DestroyingARunningRunKillsItAndRemovesItsFiles) {
    TempDir d;
    const std::string script = d.write("slow", "#!/bin/sh\necho $$ > \"" + d.path + "/pid\"\nexec sleep 30\n", 0755);
    pid_t pid = -1;
    {
        auto run = UserPassVerifier({{script}, true, 5, d.path}).start(request("x"));
        ASSERT_TRUE(run);
        pid = run->pid();
        ASSERT_GT(pid, 0);
        EXPECT_EQ(d.count("wirebridge-"), 3u);  // via-file, reason, control
    }
    EXPECT_EQ(::kill(pid, 0), -1);
    EXPECT_EQ(d.count("wirebridge-"), 0u);
}

TEST(UserPassVerifier, MissingProgramRefuses) {
    TempDir d;
    UserPassVerifier missing({{d.path + "/nothing"}, false, 5, d.path});
    auto r = missing.start(request("x"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("cannot run"), std::string::npos) << r.error().message;
    EXPECT_EQ(d.count("wirebridge-"), 0u);
}

// OpenVPN 2.6's deferred authentication: exit status 2, the verdict later in auth_control_file.
TEST(UserPassVerifier, DeferredVerdictComesFromTheControlFile) {
    TempDir d;
    // The program leaves a job behind that decides later, as a deferred script does.
    // It reads the via-file before it exits (the file goes then, as with OpenVPN).
    const std::string script = d.write("deferred", "#!/bin/sh\n"
        "password=$(sed -n 2p \"$1\")\n"
        "( sleep 0.3; if [ \"$password\" = good ]; then echo 1 > \"$auth_control_file\"; else\n"
        "  echo 'account locked' > \"$auth_failed_reason_file\"; echo 0 > \"$auth_control_file\"; fi ) &\n"
        "exit 2\n", 0755);
    UserPassVerifier v({{script}, true, 5, d.path});
    for (const char* pw : {"good", "bad"}) {
        auto run = v.start(request(pw));
        ASSERT_TRUE(run);
        ASSERT_EQ(wait_exit(*run), VerifyRun::State::deferred);
        EXPECT_FALSE(run->poll_control());              // nothing written yet
        EXPECT_EQ(d.count("wirebridge-up-"), 0u);       // the via-file goes when it exits, as OpenVPN
        EXPECT_EQ(d.count("wirebridge-acf-"), 1u);
        std::optional<VerifyResult> res;
        for (int i = 0; i < 500 && !res; ++i) {
            ::usleep(10000);
            res = run->poll_control();
        }
        ASSERT_TRUE(res) << pw;
        EXPECT_EQ(res->ok, std::string(pw) == "good");
        if (!res->ok) {
            EXPECT_EQ(res->client_reason, "account locked");
            EXPECT_NE(res->why.find("wrote 0"), std::string::npos) << res->why;
        }
        EXPECT_EQ(d.count("wirebridge-"), 0u);
    }
}

TEST(UserPassVerifier, DeferredAnsweredBeforeExitOrWithGarbage) {
    TempDir d;
    // Written before it exits: the verdict is there at once.
    const std::string early = d.write("early", "#!/bin/sh\necho 1 > \"$auth_control_file\"\nexit 2\n", 0755);
    auto run = UserPassVerifier({{early}, false, 5, d.path}).start(request("x"));
    ASSERT_TRUE(run);
    ASSERT_EQ(wait_exit(*run), VerifyRun::State::done);
    EXPECT_TRUE(run->result().ok);
    // Anything but '1' or '0' first: still waiting (as OpenVPN); the run's end removes the files.
    const std::string junk = d.write("junk", "#!/bin/sh\necho x1 > \"$auth_control_file\"\nexit 2\n", 0755);
    {
        auto r2 = UserPassVerifier({{junk}, false, 5, d.path}).start(request("x"));
        ASSERT_TRUE(r2);
        ASSERT_EQ(wait_exit(*r2), VerifyRun::State::deferred);
        EXPECT_FALSE(r2->poll_control());
    }
    EXPECT_EQ(d.count("wirebridge-"), 0u);
}

}  // namespace
}  // namespace wirebridge::auth
