// auth-user-pass file and the auth-user-pass-verify program: arguments, environment, exit status,
// timeout, reason file, temporary files removed.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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

TEST(UserPassVerifier, ViaEnvExitStatusDecides) {
    TempDir d;
    const std::string script = d.write("check", "#!/bin/sh\n"
        "env > \"" + d.path + "/env.out\"\n"
        "echo \"$#\" > \"" + d.path + "/argc.out\"\n"
        "[ \"$password\" = 'right one' ] && exit 0\n"
        "echo 'nope, try again' > \"$auth_failed_reason_file\"\n"
        "exit 3\n", 0755);
    UserPassVerifier v({{script}, false, 10, d.path});
    const VerifyResult ok = v.verify(request("right one"));
    EXPECT_TRUE(ok.ok) << ok.why;
    EXPECT_EQ(d.read("argc.out"), "0\n");
    const std::string env = d.read("env.out");
    EXPECT_NE(env.find("password=right one\n"), std::string::npos);
    EXPECT_NE(env.find("untrusted_port=40123\n"), std::string::npos);
    EXPECT_EQ(env.find("HOME="), std::string::npos);  // its own environment, not the agent's
    const VerifyResult bad = v.verify(request("wrong"));
    EXPECT_FALSE(bad.ok);
    EXPECT_NE(bad.why.find("exited with status 3"), std::string::npos) << bad.why;
    EXPECT_EQ(bad.client_reason, "nope, try again");
    EXPECT_EQ(d.count("wirebridge-"), 0u);  // the reason files are gone
}

TEST(UserPassVerifier, ViaFileGivesAPrivateFileAsLastArgument) {
    TempDir d;
    const std::string script = d.write("check", "#!/bin/sh\n"
        "echo \"$1|$(stat -c %a \"$2\")|$(cat \"$2\" | tr '\\n' ';')|${password:-none}\" > \"" + d.path + "/seen.out\"\n"
        "[ \"$(sed -n 2p \"$2\")\" = secret ]\n", 0755);
    UserPassVerifier v({{script, "first-arg"}, true, 10, d.path});
    EXPECT_TRUE(v.verify(request("secret")).ok);
    EXPECT_EQ(d.read("seen.out"), "first-arg|600|site\x01one;secret;|none\n");
    EXPECT_FALSE(v.verify(request("other")).ok);
    EXPECT_EQ(d.count("wirebridge-"), 0u);  // the via-file is removed
}

TEST(UserPassVerifier, SlowProgramIsKilledAndRefused) {
    TempDir d;
    const std::string script = d.write("slow", "#!/bin/sh\nsleep 30\nexit 0\n", 0755);
    UserPassVerifier v({{script}, false, 1, d.path});
    const auto t0 = std::chrono::steady_clock::now();
    const VerifyResult r = v.verify(request("x"));
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.why.find("did not exit within 1 s"), std::string::npos) << r.why;
    EXPECT_LT(took, std::chrono::seconds(10));
}

TEST(UserPassVerifier, MissingProgramAndDeferredStatusRefuse) {
    TempDir d;
    UserPassVerifier missing({{d.path + "/nothing"}, false, 5, d.path});
    const VerifyResult r = missing.verify(request("x"));
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.why.find("cannot run"), std::string::npos) << r.why;
    const std::string script = d.write("deferred", "#!/bin/sh\nexit 2\n", 0755);
    const VerifyResult def = UserPassVerifier({{script}, false, 5, d.path}).verify(request("x"));
    EXPECT_FALSE(def.ok);
    EXPECT_NE(def.why.find("deferred"), std::string::npos) << def.why;
}

}  // namespace
}  // namespace wirebridge::auth
