// Tests of find_control_socket: NAME, -c FILE, --socket and nothing, against real sockets in a
// scratch runtime folder (several agents side by side, one, none).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "app/control_path.hpp"
#include "config/config.hpp"
#include "config/loader.hpp"

using namespace wirebridge;
using namespace wirebridge::app;
namespace fs = std::filesystem;

namespace {

class ControlPathTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/wb-control-path-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        places_.config_dir = dir_ + "/etc";
        places_.runtime_dir = dir_ + "/run";
        fs::create_directories(places_.config_dir);
        fs::create_directories(places_.runtime_dir);
    }
    void TearDown() override {
        for (int fd : fds_) close(fd);
        fs::remove_all(dir_);
    }
    // A bound unix socket at runtime_dir/NAME/control.sock, as a running agent has.
    void agent(const std::string& name) {
        fs::create_directories(places_.runtime_dir + "/" + name);
        const std::string path = places_.runtime_dir + "/" + name + "/control.sock";
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        ASSERT_GE(fd, 0);
        fds_.push_back(fd);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        ASSERT_LT(path.size(), sizeof a.sun_path);
        std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
        ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
    }
    Result<std::string> find(Command c) { return find_control_socket(c, places_); }

    std::string dir_;
    ControlPlaces places_;
    std::vector<int> fds_;
};

const char* kConfig =
    "site: %s\n"
    "tunnel:\n"
    "  role: client\n"
    "  remote: [192.0.2.1:1194]\n"
    "  ca: ca.crt\n"
    "  cert: site.crt\n"
    "  key: site.key\n";

std::string config_text(const std::string& site, const std::string& extra = "") {
    char buf[256];
    std::snprintf(buf, sizeof buf, kConfig, site.c_str());
    return buf + extra;
}

}  // namespace

TEST(ControlPath, DefaultSocketIsPerSite) {
    const auto a = config::parse_config(config_text("branch-a"), "a.yaml", {false});
    const auto b = config::parse_config(config_text("branch-b"), "b.yaml", {false});
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a.config->control.socket, "/run/wirebridge/branch-a/control.sock");
    EXPECT_EQ(b.config->control.socket, "/run/wirebridge/branch-b/control.sock");
    const auto set = config::parse_config(config_text("c", "control: {socket: /run/x/c.sock}\n"), "c.yaml", {false});
    ASSERT_TRUE(set.ok());
    EXPECT_EQ(set.config->control.socket, "/run/x/c.sock");
}

TEST_F(ControlPathTest, SocketAndConfigFileAsGiven) {
    Command c;
    c.socket = "/somewhere/s.sock";
    EXPECT_EQ(*find(c), "/somewhere/s.sock");
    Command f;
    f.config_file = places_.config_dir + "/x.yaml";
    std::ofstream(f.config_file) << config_text("x", "control: {socket: /run/x/here.sock}\n");
    EXPECT_EQ(*find(f), "/run/x/here.sock");
    std::ofstream(f.config_file) << "site: x\ntunnel: [\n";
    auto bad = find(f);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find(f.config_file + ":"), std::string::npos) << bad.error().message;
}

TEST_F(ControlPathTest, NameIsTheInstanceFileElseTheSite) {
    // wirebridge@hub runs /etc/wirebridge/hub.yaml, whose site is "core": its socket is the site's.
    std::ofstream(places_.config_dir + "/hub.yaml") << config_text("core");
    Command c;
    c.instance = "hub";
    EXPECT_EQ(*find(c), "/run/wirebridge/core/control.sock");
    c.instance = "branch-b";  // no such file: the site's folder under the runtime folder
    EXPECT_EQ(*find(c), places_.runtime_dir + "/branch-b/control.sock");
    c.instance = "../etc";
    EXPECT_FALSE(find(c));
}

TEST_F(ControlPathTest, NoNameFindsTheOnlyAgentAndRefusesToGuessBetweenSeveral) {
    auto none = find(Command{});
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().message.find("no running wirebridge"), std::string::npos);
    agent("site-b");
    fs::create_directories(places_.runtime_dir + "/stale");  // a folder without a socket is no agent
    auto one = find(Command{});
    ASSERT_TRUE(one) << one.error().message;
    EXPECT_EQ(*one, places_.runtime_dir + "/site-b/control.sock");
    agent("site-a");
    auto two = find(Command{});
    ASSERT_FALSE(two);
    EXPECT_NE(two.error().message.find("(site-a, site-b)"), std::string::npos) << two.error().message;
}
