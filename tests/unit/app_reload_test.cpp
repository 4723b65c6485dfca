// Reload planning: which changes apply live, which reconnect, which are refused, and the summaries.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include "app/reload.hpp"

using namespace wirebridge;
using app::plan_reload;

namespace {

config::Config server() {
    config::Config c;
    c.site = "hub";
    c.tunnel.role = config::Role::server;
    c.tunnel.local = config::Endpoint{"0.0.0.0", 1194, false};
    std::string why;
    c.tunnel.pool = config::parse_cidr("10.200.0.0/24", why);
    c.tunnel.ca = "/etc/wb/ca.crt";
    c.tunnel.cert = "/etc/wb/hub.crt";
    c.tunnel.key = "/etc/wb/hub.key";
    return c;
}

config::Config client() {
    config::Config c;
    c.site = "site-a";
    c.tunnel.role = config::Role::client;
    c.tunnel.remote = {config::Endpoint{"192.0.2.1", 1194, false}};
    c.tunnel.ca = "/etc/wb/ca.crt";
    c.tunnel.cert = "/etc/wb/a.crt";
    c.tunnel.key = "/etc/wb/a.key";
    return c;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST(ReloadPlan, NothingChanged) {
    const auto p = plan_reload(server(), server(), "s", "s");
    EXPECT_TRUE(p.ok());
    EXPECT_TRUE(p.changed.empty());
    EXPECT_FALSE(p.switch_settings || p.session || p.reconnect || p.log_level || p.keepalive);
    EXPECT_EQ(p.summary(), "nothing changed");
}

TEST(ReloadPlan, ServerDuplicateCnForNewClients) {
    auto next = server();
    next.tunnel.duplicate_cn = true;
    const auto p = plan_reload(server(), next, "s", "s");
    ASSERT_TRUE(p.ok()) << p.refusal();
    EXPECT_TRUE(p.duplicate_cn);
    EXPECT_FALSE(p.switch_settings || p.session);
    EXPECT_TRUE(has(p.summary(), "tunnel.duplicate_cn false -> true")) << p.summary();
    EXPECT_FALSE(plan_reload(next, next, "s", "s").duplicate_cn);
}

TEST(ReloadPlan, ServerSwitchSettingsApplyLive) {
    auto next = server();
    next.tunnel.client_to_client = true;
    next.tunnel.mac_age = 60;
    next.tunnel.multicast_limit = 100;
    next.tunnel.vlan_tagging = true;
    next.tunnel.vlan_pvid = 7;
    next.tunnel.clients = {config::ClientConfig{"site-b", 20, 8}};
    next.log.level = config::LogLevel::debug;
    const auto p = plan_reload(server(), next, "s", "s");
    ASSERT_TRUE(p.ok()) << p.refusal();
    EXPECT_TRUE(p.switch_settings);
    EXPECT_TRUE(p.log_level);
    EXPECT_FALSE(p.session);
    const std::string s = p.summary();
    EXPECT_TRUE(has(s, "tunnel.client_to_client false -> true")) << s;
    EXPECT_TRUE(has(s, "tunnel.mac_age 300 -> 60")) << s;
    EXPECT_TRUE(has(s, "tunnel.vlan.pvid 1 -> 7")) << s;
    EXPECT_TRUE(has(s, "tunnel.clients [] -> [site-b vlan 20 max_macs 8]")) << s;
    EXPECT_TRUE(has(s, "log.level info -> debug")) << s;
}

TEST(ReloadPlan, ServerRefusesWhatTheProcessSetUp) {
    struct Case {
        const char* key;
        void (*change)(config::Config&);
    };
    const Case cases[] = {
        {"tunnel.proto (udp -> tcp)", [](config::Config& c) { c.tunnel.proto = config::Transport::tcp; }},
        {"tunnel.local (0.0.0.0:1194 -> 0.0.0.0:1195)", [](config::Config& c) { c.tunnel.local->port = 1195; }},
        {"tunnel.device (tap0 -> tap9)", [](config::Config& c) { c.tunnel.device = "tap9"; }},
        {"tunnel.txqueuelen (4096 -> 1000)", [](config::Config& c) { c.tunnel.txqueuelen = 1000; }},
        {"tunnel.rcvbuf (4194304 -> 8388608)", [](config::Config& c) { c.tunnel.rcvbuf = 8388608; }},
        {"tunnel.sndbuf (4194304 -> 0)", [](config::Config& c) { c.tunnel.sndbuf = 0; }},
        {"tunnel.pool", [](config::Config& c) { c.tunnel.pool->prefix = 25; }},
        {"bridge (none -> br0 [eth1])", [](config::Config& c) {
             config::BridgeConfig b;
             b.name = "br0";
             b.ports = {"eth1"};
             c.bridge = b;
         }},
        {"control.socket", [](config::Config& c) { c.control.socket = "/tmp/x.sock"; }},
        {"tunnel.role (server -> client)", [](config::Config& c) { c.tunnel.role = config::Role::client; }},
        {"interest (none -> queue 0", [](config::Config& c) { c.interest = config::InterestConfig{}; }},
    };
    for (const Case& k : cases) {
        auto next = server();
        next.tunnel.client_to_client = true;  // an applicable change alongside is not applied either
        k.change(next);
        const auto p = plan_reload(server(), next, "s", "s");
        EXPECT_FALSE(p.ok()) << k.key;
        EXPECT_TRUE(has(p.refusal(), k.key)) << p.refusal();
        EXPECT_TRUE(has(p.refusal(), "still running the previous configuration")) << p.refusal();
    }
}

// A site's socket takes tunnel.rcvbuf/sndbuf at each connection: it connects again with them; a hub's
// are set at start: refused. A hub's new proto (refused) is not also reported as the buffers'
// defaults moving (4 MiB over UDP, 0 over TCP).
TEST(ReloadPlan, SocketBuffersReconnectASiteAndAreRefusedByAHub) {
    auto next = client();
    next.tunnel.rcvbuf = 16u << 20;
    auto p = plan_reload(client(), next, "s", "s");
    ASSERT_TRUE(p.ok()) << p.refusal();
    EXPECT_TRUE(p.reconnect);
    EXPECT_TRUE(has(p.summary(), "tunnel.rcvbuf 4194304 -> 16777216")) << p.summary();
    next = server();
    next.tunnel.sndbuf = 65536;
    p = plan_reload(server(), next, "s", "s");
    EXPECT_FALSE(p.ok());
    EXPECT_EQ(p.refusal(), "reload refused: tunnel.sndbuf (4194304 -> 65536) cannot change while running (restart to "
                           "apply); still running the previous configuration");
    next = server();
    next.tunnel.proto = config::Transport::tcp;
    next.tunnel.rcvbuf = next.tunnel.sndbuf = 0;
    p = plan_reload(server(), next, "s", "s");
    EXPECT_FALSE(p.ok());
    EXPECT_FALSE(has(p.refusal(), "buf")) << p.refusal();
}

TEST(ReloadPlan, ServerSessionSettingsAreForNewClients) {
    auto next = server();
    next.tunnel.keepalive.interval = 5;
    next.tunnel.data_ciphers = {"CHACHA20-POLY1305"};
    auto p = plan_reload(server(), next, "s", "s");
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p.session);
    EXPECT_FALSE(p.reconnect);  // a server never reconnects anyone
    EXPECT_TRUE(has(p.summary(), "tunnel.keepalive 10/60 -> 5/60")) << p.summary();
    // Same paths, new contents (a renewed certificate): still a session change.
    p = plan_reload(server(), server(), "old", "new");
    EXPECT_TRUE(p.session);
    EXPECT_TRUE(has(p.summary(), "TLS/key file contents")) << p.summary();
}

TEST(ReloadPlan, ClientReconnectsForTransportAndTlsKeepsForKeepalive) {
    auto next = client();
    next.tunnel.keepalive = {5, 30};
    next.log.level = config::LogLevel::warn;
    auto p = plan_reload(client(), next, "s", "s");
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p.keepalive);
    EXPECT_TRUE(p.log_level);
    EXPECT_FALSE(p.reconnect);

    for (auto change : {+[](config::Config& c) { c.tunnel.remote[0].port = 1195; },
                        +[](config::Config& c) { c.tunnel.proto = config::Transport::tcp; },
                        +[](config::Config& c) { c.tunnel.tls_crypt = "/etc/wb/tc.key"; },
                        +[](config::Config& c) { c.tunnel.cert = "/etc/wb/a2.crt"; },
                        +[](config::Config& c) { c.tunnel.data_ciphers = {"AES-128-GCM"}; },
                        +[](config::Config& c) { c.tunnel.rcvbuf = 8388608; },
                        +[](config::Config& c) { c.tunnel.sndbuf = 0; }}) {
        next = client();
        change(next);
        p = plan_reload(client(), next, "s", "s");
        EXPECT_TRUE(p.ok()) << p.refusal();
        EXPECT_TRUE(p.reconnect) << p.summary();
    }
    p = plan_reload(client(), client(), "s", "t");
    EXPECT_TRUE(p.reconnect);
    next = client();
    next.tunnel.reneg_seconds = 60;
    p = plan_reload(client(), next, "s", "s");
    EXPECT_TRUE(p.reneg);
    EXPECT_FALSE(p.reconnect);
    EXPECT_FALSE(p.keepalive);
    // A client's device is as fixed as a server's.
    next = client();
    next.tunnel.device = "tap1";
    EXPECT_FALSE(plan_reload(client(), next, "s", "s").ok());
}

TEST(ReloadPlan, RoutelessRulesAndMarksAreForRoutelessReload) {
    auto running = server();
    running.interest = config::InterestConfig{};
    auto next = running;
    std::string why;
    next.interest->rules.push_back(config::InterestRule{{}, config::parse_cidr("10.20.0.0/16", why), {}, {}, 22, {}});
    auto p = plan_reload(running, next, "s", "s");
    ASSERT_TRUE(p.ok()) << p.refusal();
    EXPECT_TRUE(p.routeless);
    EXPECT_TRUE(has(p.summary(), "10.20.0.0/16")) << p.summary();
    next = running;
    next.fastpath.reply_mark = 0x32;
    EXPECT_TRUE(plan_reload(running, next, "s", "s").routeless);
    // Fanout, the decision's table and the rules' priority are applied live and named in the log.
    for (auto change : {+[](config::InterestConfig& i) { i.queues = 4; },
                        +[](config::InterestConfig& i) { i.table = 200; },
                        +[](config::InterestConfig& i) { i.rule_priority = 300; }}) {
        next = running;
        change(*next.interest);
        p = plan_reload(running, next, "s", "s");
        ASSERT_TRUE(p.ok()) << p.refusal();
        EXPECT_TRUE(p.routeless) << p.summary();
        EXPECT_TRUE(has(p.summary(), "queues 4") || has(p.summary(), "table 200") ||
                    has(p.summary(), "rule_priority 300"))
            << p.summary();
    }
    // Without routeless mode the marks are used by nothing live: a change, not a refusal.
    p = plan_reload(server(), [] { auto c = server(); c.fastpath.enabled = true; return c; }(), "s", "s");
    EXPECT_TRUE(p.ok());
    EXPECT_FALSE(p.routeless);
    // Leaving routeless mode needs a restart.
    EXPECT_FALSE(plan_reload(running, server(), "s", "s").ok());
}

TEST(ReloadPlan, FileStampSeesNewContentsUnderTheSamePath) {
    char path[] = "/tmp/wb-reload-test-XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    auto c = client();
    c.tunnel.ca = path;
    std::ofstream(path) << "one";
    const std::string a = app::tls_files_stamp(c.tunnel);
    EXPECT_EQ(a, app::tls_files_stamp(c.tunnel));
    std::ofstream(path) << "a longer second version";
    EXPECT_NE(a, app::tls_files_stamp(c.tunnel));
    unlink(path);
    EXPECT_TRUE(has(app::tls_files_stamp(c.tunnel), "missing"));
}

TEST(ReloadPlan, SwitchAndPortSettingsFromTheTunnelSection) {
    auto c = server().tunnel;
    c.client_to_client = true;
    c.mac_age = 0;
    c.max_macs_per_client = 16;
    c.multicast_limit = 50;
    c.vlan_tagging = true;
    c.vlan_pvid = 3;
    c.clients = {config::ClientConfig{"site-b", 20, std::nullopt}, config::ClientConfig{"site-c", std::nullopt, 2}};
    const auto s = app::switch_settings(c);
    EXPECT_TRUE(s.client_to_client);
    EXPECT_EQ(s.mac_age_s, 0u);
    EXPECT_EQ(s.max_macs_per_client, 16u);
    EXPECT_EQ(s.multicast_limit, 50u);
    EXPECT_TRUE(s.vlan_tagging);
    EXPECT_EQ(s.vlan_pvid, 3u);
    const auto b = app::port_settings(c, "site-b");
    EXPECT_EQ(b.vlan, std::optional<std::uint16_t>(20));
    EXPECT_FALSE(b.max_macs);
    const auto cc = app::port_settings(c, "site-c");
    EXPECT_FALSE(cc.vlan);
    EXPECT_EQ(cc.max_macs, std::optional<std::uint32_t>(2));
    EXPECT_FALSE(app::port_settings(c, "unknown").vlan);
    EXPECT_FALSE(app::port_settings(c, "").vlan);
}
