// Tests of the YAML config loader: every rule refuses with the right position, and good files load.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/loader.hpp"

using namespace wirebridge::config;
namespace fs = std::filesystem;

namespace {

// A scratch folder with the key files a valid config references.
class ConfigLoaderTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/wb-config-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        write("ca.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
        write("site.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
        write("site.key", "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n");
        std::string key = "#\n# 2048 bit OpenVPN static key\n#\n-----BEGIN OpenVPN Static key V1-----\n";
        for (int line = 0; line < 16; ++line) key += "0123456789abcdef0123456789abcdef\n";
        write("tc.key", key + "-----END OpenVPN Static key V1-----\n");
    }
    void TearDown() override { fs::remove_all(dir_); }

    void write(const std::string& name, const std::string& content) {
        std::ofstream(dir_ + "/" + name) << content;
    }

    LoadResult load(const std::string& yaml) {
        write("c.yaml", yaml);
        return load_config(dir_ + "/c.yaml");
    }

    // The single error of a config that should have exactly one.
    ConfigError only_error(const std::string& yaml) {
        auto r = load(yaml);
        EXPECT_EQ(r.errors.size(), 1u) << dump(r);
        EXPECT_FALSE(r.config.has_value());
        return r.errors.empty() ? ConfigError{} : r.errors[0];
    }

    static std::string dump(const LoadResult& r) {
        std::string s;
        for (const auto& e : r.errors) s += e.to_string() + "\n";
        return s;
    }

    std::string dir_;
};

const char* kClient =
    "site: branch-a\n"
    "tunnel:\n"
    "  role: client\n"
    "  proto: udp\n"
    "  remote: [203.0.113.1:1194, 'vpn.example.net:443']\n"
    "  device: tap7\n"
    "  ca: ca.crt\n"
    "  cert: site.crt\n"
    "  key: site.key\n"
    "  tls_crypt: tc.key\n";

const char* kServer =
    "site: hub\n"
    "tunnel:\n"
    "  role: server\n"
    "  proto: tcp\n"
    "  local: 0.0.0.0:1194\n"
    "  pool: 10.200.0.0/24\n"
    "  address: 10.200.0.1/24\n"
    "  ca: ca.crt\n"
    "  cert: site.crt\n"
    "  key: site.key\n"
    "  tls_auth: {key: tc.key, direction: 0}\n"
    "  data_ciphers: [chacha20-poly1305, AES-128-GCM]\n"
    "  keepalive: {interval: 5, timeout: 30}\n"
    "  reneg_seconds: 60\n"
    "  client_to_client: true\n";

}  // namespace

TEST_F(ConfigLoaderTest, ClientLoadsWithDefaults) {
    auto r = load(kClient);
    ASSERT_TRUE(r.ok()) << dump(r);
    const Config& c = *r.config;
    EXPECT_EQ(c.site, "branch-a");
    EXPECT_EQ(c.tunnel.role, Role::client);
    EXPECT_EQ(c.tunnel.proto, Transport::udp);
    ASSERT_EQ(c.tunnel.remote.size(), 2u);
    EXPECT_EQ(c.tunnel.remote[0].host, "203.0.113.1");
    EXPECT_EQ(c.tunnel.remote[0].port, 1194);
    EXPECT_FALSE(c.tunnel.remote[0].host_is_name);
    EXPECT_TRUE(c.tunnel.remote[1].host_is_name);
    EXPECT_EQ(c.tunnel.device, "tap7");
    EXPECT_EQ(c.tunnel.ca, dir_ + "/ca.crt");  // relative to the config file
    ASSERT_TRUE(c.tunnel.tls_crypt);
    EXPECT_EQ(*c.tunnel.tls_crypt, dir_ + "/tc.key");
    EXPECT_EQ(c.tunnel.data_ciphers.size(), 3u);
    EXPECT_EQ(c.tunnel.keepalive.interval, 10u);
    EXPECT_EQ(c.tunnel.reneg_seconds, 3600u);
    EXPECT_EQ(c.tunnel.workers, 1u);
    EXPECT_EQ(c.log.level, LogLevel::info);
    EXPECT_NE(c.summary().find("client over udp to 203.0.113.1:1194"), std::string::npos) << c.summary();
}

TEST_F(ConfigLoaderTest, ServerLoads) {
    auto r = load(kServer);
    ASSERT_TRUE(r.ok()) << dump(r);
    const TunnelConfig& t = r.config->tunnel;
    EXPECT_EQ(t.role, Role::server);
    EXPECT_EQ(t.proto, Transport::tcp);
    ASSERT_TRUE(t.pool);
    EXPECT_EQ(t.pool->to_string(), "10.200.0.0/24");
    EXPECT_EQ(t.pool->ipv4_netmask(), 0xffffff00u);
    ASSERT_TRUE(t.tls_auth);
    EXPECT_EQ(t.tls_auth->direction, 0);
    EXPECT_EQ(t.data_ciphers, (std::vector<std::string>{"CHACHA20-POLY1305", "AES-128-GCM"}));
    EXPECT_EQ(t.keepalive.timeout, 30u);
    EXPECT_TRUE(t.client_to_client);
}

TEST_F(ConfigLoaderTest, FullDesignExampleLoads) {
    auto r = load(std::string(kClient) +
                  "  address: 10.200.0.2/24\n"
                  "  join_bridge: true\n"
                  "bridge: {name: br0, ports: [lan0, wan0], address: 192.0.2.2/24}\n"
                  "fastpath: {enabled: true, reply_mark: 0x32, orig_mark: 0x33}\n"
                  "interest:\n  queue: 3\n  rules:\n    - {dst: 10.20.0.0/16}\n"
                  "    - {proto: tcp, dport: 22, action: bypass}\n"
                  "control: {socket: /run/wirebridge/control.sock}\n"
                  "log: {level: debug}\n"
                  "user: root\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    const Config& c = *r.config;
    ASSERT_TRUE(c.bridge);
    EXPECT_EQ(c.bridge->ports.size(), 2u);
    EXPECT_EQ(c.fastpath.reply_mark, 0x32u);
    EXPECT_EQ(c.fastpath.orig_mark, 0x33u);
    ASSERT_TRUE(c.interest);
    EXPECT_EQ(c.interest->queue, 3);
    ASSERT_EQ(c.interest->rules.size(), 2u);
    EXPECT_EQ(c.interest->rules[1].action, InterestAction::bypass);
    EXPECT_EQ(*c.interest->rules[1].dport, 22);
    EXPECT_EQ(c.log.level, LogLevel::debug);
    EXPECT_EQ(*c.user, "root");
}

TEST_F(ConfigLoaderTest, UnknownKeyHasItsPosition) {
    auto e = only_error(std::string(kClient) + "  colour: blue\n");
    EXPECT_EQ(e.line, 11);
    EXPECT_EQ(e.column, 3);
    EXPECT_NE(e.message.find("unknown key 'colour' in tunnel"), std::string::npos) << e.message;
    EXPECT_EQ(e.to_string().rfind(dir_ + "/c.yaml:11:3: ", 0), 0u) << e.to_string();
}

TEST_F(ConfigLoaderTest, Workers) {
    auto r = load(std::string(kClient) + "  workers: 2\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->tunnel.workers, 2u);
    r = load(std::string(kClient) + "  workers: 0\n");  // one per online core
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->tunnel.workers, 0u);
    EXPECT_NE(only_error(std::string(kClient) + "  workers: 65\n").message.find("tunnel.workers"), std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "  workers: two\n").message.find("whole number"), std::string::npos);
    // The hub: workers over UDP; over TCP (kServer's proto) refused with where and why.
    std::string udp = kServer;
    udp.replace(udp.find("proto: tcp"), 10, "proto: udp");
    r = load(udp + "  workers: 2\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->tunnel.workers, 2u);
    EXPECT_TRUE(load(udp + "  workers: 0\n").ok());
    auto e = only_error(std::string(kServer) + "  workers: 2\n");
    EXPECT_NE(e.message.find("proto tcp"), std::string::npos) << e.message;
    EXPECT_EQ(e.to_string().rfind(dir_ + "/c.yaml:16:3: ", 0), 0u) << e.to_string();
    EXPECT_TRUE(load(std::string(kServer) + "  workers: 1\n").ok());
}

TEST_F(ConfigLoaderTest, DuplicateCn) {
    auto r = load(kServer);
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_FALSE(r.config->tunnel.duplicate_cn);  // openvpn's default: one connection per CN
    r = load(std::string(kServer) + "  duplicate_cn: true\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_TRUE(r.config->tunnel.duplicate_cn);
    r = load(std::string(kServer) + "  duplicate_cn: false\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_FALSE(r.config->tunnel.duplicate_cn);
    auto e = only_error(std::string(kServer) + "  duplicate_cn: sometimes\n");
    EXPECT_NE(e.message.find("true or false"), std::string::npos) << e.to_string();
    EXPECT_EQ(e.line, 16);
    EXPECT_EQ(e.column, 17);
    e = only_error(std::string(kClient) + "  duplicate_cn: true\n");
    EXPECT_NE(e.message.find("tunnel.duplicate_cn is only for a server"), std::string::npos) << e.to_string();
    EXPECT_EQ(e.to_string().rfind(dir_ + "/c.yaml:11:3: ", 0), 0u) << e.to_string();
    EXPECT_NE(only_error(std::string(kClient) + "  duplicate_cn: false\n").message.find("only for a server"),
              std::string::npos);
}

TEST_F(ConfigLoaderTest, UnknownTopLevelKey) {
    auto e = only_error(std::string("extra: 1\n") + kClient);
    EXPECT_EQ(e.line, 1);
    EXPECT_EQ(e.column, 1);
}

TEST_F(ConfigLoaderTest, DuplicateKey) {
    auto e = only_error(std::string(kClient) + "  device: tap8\n");
    EXPECT_NE(e.message.find("appears twice"), std::string::npos);
}

TEST_F(ConfigLoaderTest, WrongTypes) {
    EXPECT_NE(only_error(std::string(kClient) + "  reneg_seconds: soon\n").message.find("whole number"), std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "  reneg_seconds: [1]\n").message.find("single value"), std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "log: debug\n").message.find("must be a map"), std::string::npos);
    auto e = only_error("site: a\ntunnel:\n  role: client\n  remote: 1.2.3.4:5\n  ca: ca.crt\n  cert: site.crt\n"
                        "  key: site.key\n");
    EXPECT_NE(e.message.find("must be a list"), std::string::npos);
    EXPECT_EQ(e.line, 4);
    EXPECT_EQ(e.column, 11);
    EXPECT_NE(only_error(std::string(kClient) + "  join_bridge: maybe\n").message.find("true or false"), std::string::npos);
}

TEST_F(ConfigLoaderTest, BadAddresses) {
    auto e = only_error(std::string(kClient) + "  address: 10.0.0.300/24\n");
    EXPECT_NE(e.message.find("not an IPv4 or IPv6 address"), std::string::npos);
    EXPECT_EQ(e.line, 11);
    EXPECT_EQ(e.column, 12);
    EXPECT_NE(only_error(std::string(kClient) + "  address: 10.0.0.1\n").message.find("no /PREFIX"), std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "  address: 10.0.0.1/33\n").message.find("0 to 32"), std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "  address: fd00::1/129\n").message.find("0 to 128"), std::string::npos);
    EXPECT_TRUE(load(std::string(kClient) + "  address: fd00::1/64\n").ok());
}

TEST_F(ConfigLoaderTest, BadEndpoints) {
    auto bad_remote = [&](const std::string& ep) {
        return only_error("site: a\ntunnel:\n  role: client\n  remote: ['" + ep +
                          "']\n  ca: ca.crt\n  cert: site.crt\n  key: site.key\n");
    };
    EXPECT_NE(bad_remote("1.2.3.4").message.find("HOST:PORT"), std::string::npos);
    EXPECT_NE(bad_remote("1.2.3.4:0").message.find("1 to 65535"), std::string::npos);
    EXPECT_NE(bad_remote("1.2.3.4:70000").message.find("1 to 65535"), std::string::npos);
    EXPECT_NE(bad_remote("1.2.3.4:x").message.find("1 to 65535"), std::string::npos);
    EXPECT_NE(bad_remote("fd00::1:1194").message.find("[ADDRESS]:PORT"), std::string::npos);
    EXPECT_NE(bad_remote("[nope]:1194").message.find("not an IPv6"), std::string::npos);
    EXPECT_NE(bad_remote("bad_host!:1194").message.find("neither an IP"), std::string::npos);
    EXPECT_TRUE(load("site: a\ntunnel:\n  role: client\n  remote: ['[fd00::1]:1194']\n  ca: ca.crt\n  cert: site.crt\n"
                     "  key: site.key\n").ok());
    // A listen address must be a literal.
    auto e = only_error(std::string(kServer) + "  local: any.example:1194\n");
    EXPECT_NE(e.message.find("appears twice"), std::string::npos);  // local is already set in kServer
    std::string s = kServer;
    s.replace(s.find("0.0.0.0:1194"), 12, "any.example:1194");
    EXPECT_NE(only_error(s).message.find("does not start with an IP"), std::string::npos);
}

TEST_F(ConfigLoaderTest, MissingAndUnreadableFiles) {
    std::string s = kClient;
    s.replace(s.find("ca.crt"), 6, "nothere.crt");
    auto e = only_error(s);
    EXPECT_NE(e.message.find("nothere.crt' cannot be opened: No such file"), std::string::npos) << e.message;
    EXPECT_EQ(e.line, 7);
    EXPECT_EQ(e.column, 7);

    write("junk.key", "hello\n");
    s = kClient;
    s.replace(s.find("tc.key"), 6, "junk.key");
    EXPECT_NE(only_error(s).message.find("does not contain '-----BEGIN OpenVPN Static key V1-----'"), std::string::npos);

    write("short.key", "-----BEGIN OpenVPN Static key V1-----\n00\n-----END OpenVPN Static key V1-----\n");
    s = kClient;
    s.replace(s.find("tc.key"), 6, "short.key");
    auto short_key = only_error(s);
    EXPECT_EQ(short_key.line, 10);
    EXPECT_NE(short_key.message.find("tunnel.tls_crypt: "), std::string::npos) << short_key.message;

    s = kClient;
    s.replace(s.find("ca.crt"), 6, ".");  // a folder
    EXPECT_NE(only_error(s).message.find("not a regular file"), std::string::npos);

    if (geteuid() != 0) {  // root reads anything; the mode check only means something for other users
        fs::permissions(dir_ + "/site.key", fs::perms::none);
        EXPECT_NE(only_error(kClient).message.find("cannot be read"), std::string::npos);
    }
}

TEST_F(ConfigLoaderTest, UnknownCipher) {
    auto e = only_error(std::string(kClient) + "  data_ciphers: [AES-256-GCM, BF-CBC]\n");
    EXPECT_NE(e.message.find("unknown data cipher 'BF-CBC'"), std::string::npos);
    EXPECT_EQ(e.column, 31);
    EXPECT_NE(only_error(std::string(kClient) + "  data_ciphers: []\n").message.find("is empty"), std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "  data_ciphers: [AES-128-GCM, aes-128-gcm]\n").message.find("twice"),
              std::string::npos);
}

TEST_F(ConfigLoaderTest, RoleRequirements) {
    auto e = only_error("site: a\ntunnel:\n  role: client\n  ca: ca.crt\n  cert: site.crt\n  key: site.key\n");
    EXPECT_NE(e.message.find("no 'remote'"), std::string::npos);
    EXPECT_EQ(e.line, 2);

    // A server without pool pushes no address (server-bridge without arguments).
    auto r = load("site: a\ntunnel:\n  role: server\n  ca: ca.crt\n  cert: site.crt\n  key: site.key\n");
    ASSERT_EQ(r.errors.size(), 1u) << dump(r);
    EXPECT_NE(r.errors[0].message.find("no 'local'"), std::string::npos);

    EXPECT_NE(only_error(std::string(kClient) + "  pool: 10.0.0.0/24\n").message.find("only for a server"),
              std::string::npos);
    EXPECT_NE(only_error(std::string(kServer) + "  remote: [1.2.3.4:1]\n").message.find("only for a client"),
              std::string::npos);
    std::string s = kServer;
    s.replace(s.find("10.200.0.0/24"), 13, "fd00::/64");
    EXPECT_NE(only_error(s).message.find("IPv4 prefix"), std::string::npos);
    EXPECT_NE(only_error("site: a\ntunnel:\n  role: peer\n  ca: ca.crt\n  cert: site.crt\n  key: site.key\n")
                  .message.find("client or server"),
              std::string::npos);
}

TEST_F(ConfigLoaderTest, TlsAuthAndTlsCryptConflict) {
    auto e = only_error(std::string(kClient) + "  tls_auth: {key: tc.key, direction: 1}\n");
    EXPECT_NE(e.message.find("both tls_auth and tls_crypt"), std::string::npos);
    EXPECT_EQ(e.line, 11);
    std::string s = kServer;
    s.replace(s.find("direction: 0"), 12, "direction: 2");
    EXPECT_NE(only_error(s).message.find("from 0 to 1"), std::string::npos);
}

TEST_F(ConfigLoaderTest, TlsAuthDigest) {
    auto r = load(kServer);
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->tunnel.tls_auth->digest, "SHA1");  // OpenVPN's default --auth
    std::string s = kServer;
    s.replace(s.find("direction: 0"), 12, "direction: 0, digest: sha-512");
    r = load(s);
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->tunnel.tls_auth->digest, "SHA512");
    s = kServer;
    s.replace(s.find("direction: 0"), 12, "direction: 0, digest: MD5");
    auto e = only_error(s);
    EXPECT_NE(e.message.find("tunnel.tls_auth.digest must be SHA1, SHA256, SHA384 or SHA512"), std::string::npos) << e.message;
}

TEST_F(ConfigLoaderTest, PoolAsServerBridgeRange) {
    std::string s = kServer;
    s.replace(s.find("10.200.0.0/24"), 13,
              "{subnet: 192.168.1.0/24, start: 192.168.1.200, end: 192.168.1.219, gateway: 192.168.1.1, persist: ipp.txt}");
    auto r = load(s);
    ASSERT_TRUE(r.ok()) << dump(r);
    const TunnelConfig& t = r.config->tunnel;
    EXPECT_EQ(t.pool->to_string(), "192.168.1.0/24");
    EXPECT_EQ(t.pool_options.start->to_string(), "192.168.1.200");
    EXPECT_EQ(t.pool_options.end->to_string(), "192.168.1.219");
    EXPECT_EQ(t.pool_options.gateway->to_string(), "192.168.1.1");
    EXPECT_EQ(*t.pool_options.persist, dir_ + "/ipp.txt");
    auto with = [&](const std::string& pool) {
        std::string x = kServer;
        x.replace(x.find("10.200.0.0/24"), 13, pool);
        return only_error(x).message;
    };
    EXPECT_NE(with("{subnet: 192.168.1.0/24, start: 192.168.2.1, end: 192.168.2.9}").find("inside the subnet"), std::string::npos);
    EXPECT_NE(with("{subnet: 192.168.1.0/24, start: 192.168.1.9, end: 192.168.1.2}").find("after"), std::string::npos);
    EXPECT_NE(with("{subnet: 192.168.1.0/24, start: 192.168.1.9}").find("both 'start' and 'end'"), std::string::npos);
    EXPECT_NE(with("{start: 192.168.1.2, end: 192.168.1.9}").find("no 'subnet'"), std::string::npos);
    EXPECT_NE(with("{subnet: 192.168.1.0/24, gateway: fd00::1}").find("IPv4 address"), std::string::npos);
    EXPECT_NE(with("{subnet: 192.168.1.0/24, start: 192.168.1.0, end: 192.168.1.9}").find("network or broadcast"), std::string::npos);
}

TEST_F(ConfigLoaderTest, AuthUserPassFingerprintAndDh) {
    write("up.txt", "site\npass\n");
    write("check.sh", "#!/bin/sh\nexit 0\n");
    chmod((dir_ + "/check.sh").c_str(), 0755);
    write("dh.pem", "-----BEGIN DH PARAMETERS-----\nMIIB\n-----END DH PARAMETERS-----\n");
    auto r = load(std::string(kClient) + "  auth_user_pass: up.txt\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(*r.config->tunnel.auth_user_pass, dir_ + "/up.txt");
    r = load(std::string(kServer) + "  dh: dh.pem\n  auth_user_pass_verify: {command: check.sh --strict, method: via-env}\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto& v = *r.config->tunnel.auth_user_pass_verify;
    EXPECT_EQ(v.command, (std::vector<std::string>{dir_ + "/check.sh", "--strict"}));
    EXPECT_EQ(v.method, "via-env");
    EXPECT_EQ(v.timeout, 10u);
    EXPECT_EQ(*r.config->tunnel.dh, dir_ + "/dh.pem");
    EXPECT_NE(only_error(std::string(kServer) + "  auth_user_pass_verify: {command: [check.sh], method: via-pipe}\n")
                  .message.find("via-file or via-env"), std::string::npos);
    EXPECT_NE(only_error(std::string(kServer) + "  auth_user_pass_verify: {command: up.txt}\n")
                  .message.find("not an executable"), std::string::npos);
    EXPECT_NE(only_error(std::string(kServer) + "  auth_user_pass: up.txt\n").message.find("only for a client"), std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "  dh: dh.pem\n").message.find("only for a server"), std::string::npos);
    EXPECT_NE(only_error(std::string(kServer) + "  dh: up.txt\n").message.find("DH PARAMETERS"), std::string::npos);
    // peer_fingerprint replaces ca (PKI-less), and must be well formed.
    const std::string fp = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
    std::string s = kClient;
    s.erase(s.find("  ca: ca.crt\n"), 13);
    EXPECT_NE(only_error(s).message.find("or peer_fingerprint instead of ca"), std::string::npos);
    r = load(s + "  peer_fingerprint: [\"" + fp + "\"]\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->tunnel.peer_fingerprint, (std::vector<std::string>{fp}));
    EXPECT_TRUE(r.config->tunnel.ca.empty());
    EXPECT_NE(only_error(s + "  peer_fingerprint: [\"AB:CD\"]\n").message.find("SHA256 fingerprints"), std::string::npos);
}

TEST_F(ConfigLoaderTest, Compress) {
    auto r = load(kClient);
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->tunnel.compress, "none");
    r = load(std::string(kClient) + "  compress: lz4-v2\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->tunnel.compress, "lz4-v2");
    auto e = only_error(std::string(kClient) + "  compress: snappy\n");
    EXPECT_NE(e.message.find("tunnel.compress must be none, comp-lzo"), std::string::npos) << e.message;
}

TEST_F(ConfigLoaderTest, MssfixAndTunMtu) {
    auto r = load(kClient);
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_FALSE(r.config->tunnel.mssfix);  // OpenVPN 2.6's default, decided with tun_mtu
    EXPECT_EQ(r.config->tunnel.tun_mtu, 1500u);
    const std::pair<const char*, std::pair<unsigned, const char*>> good[] = {
        {"0", {0, "payload"}}, {"1450", {1450, "payload"}}, {"'1492 mtu'", {1492, "mtu"}}, {"1400 fixed", {1400, "fixed"}}};
    for (const auto& [text, want] : good) {
        r = load(std::string(kClient) + "  mssfix: " + text + "\n  tun_mtu: 1400\n");
        ASSERT_TRUE(r.ok()) << text << dump(r);
        ASSERT_TRUE(r.config->tunnel.mssfix);
        EXPECT_EQ(r.config->tunnel.mssfix->size, want.first);
        EXPECT_EQ(r.config->tunnel.mssfix->mode, want.second);
        EXPECT_EQ(r.config->tunnel.tun_mtu, 1400u);
    }
    for (const char* bad : {"100", "1492 udp", "1492 mtu x", "big"}) {
        auto e = only_error(std::string(kClient) + "  mssfix: " + bad + "\n");
        EXPECT_NE(e.message.find("tunnel.mssfix must be 0 (off)"), std::string::npos) << e.message;
    }
    auto e = only_error(std::string(kClient) + "  tun_mtu: 9000\n");
    EXPECT_NE(e.message.find("tunnel.tun_mtu must be a whole number from 576 to 1500"), std::string::npos) << e.message;
}

// tunnel.txqueuelen (OpenVPN's --txqueuelen): 4096 unless set, 16..65536, both roles.
TEST_F(ConfigLoaderTest, Txqueuelen) {
    auto r = load(kClient);
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->tunnel.txqueuelen, 4096u);
    r = load(kServer);
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->tunnel.txqueuelen, 4096u);
    for (const auto& [text, want] : {std::pair{"16", 16u}, {"1000", 1000u}, {"65536", 65536u}}) {
        r = load(std::string(kClient) + "  txqueuelen: " + text + "\n");
        ASSERT_TRUE(r.ok()) << text << dump(r);
        EXPECT_EQ(r.config->tunnel.txqueuelen, want);
    }
    r = load(std::string(kServer) + "  txqueuelen: 8192\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->tunnel.txqueuelen, 8192u);
    for (const char* bad : {"0", "15", "65537", "-1", "big", "1000 frames"}) {
        auto e = only_error(std::string(kClient) + "  txqueuelen: " + bad + "\n");
        EXPECT_NE(e.message.find("tunnel.txqueuelen must be a whole number from 16 to 65536, not '" + std::string(bad) + "'"),
                  std::string::npos)
            << e.message;
    }
}

// tunnel.rcvbuf / tunnel.sndbuf (OpenVPN's --rcvbuf / --sndbuf), both roles: unset, 4 MiB over UDP
// and 0 (the kernel's autotuning) over TCP; set, 0 or 65536..67108864 bytes with either proto.
TEST_F(ConfigLoaderTest, SocketBuffers) {
    auto r = load(kClient);
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->tunnel.rcvbuf, 4194304u);
    EXPECT_EQ(r.config->tunnel.sndbuf, 4194304u);
    r = load(kServer);  // proto tcp
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->tunnel.rcvbuf, 0u);
    EXPECT_EQ(r.config->tunnel.sndbuf, 0u);
    std::string udp_server = kServer;
    udp_server.replace(udp_server.find("proto: tcp"), 10, "proto: udp");
    r = load(udp_server);
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->tunnel.rcvbuf, 4194304u);
    EXPECT_EQ(r.config->tunnel.sndbuf, 4194304u);
    r = load(std::string(kServer) + "  rcvbuf: 1048576\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->tunnel.rcvbuf, 1048576u);
    EXPECT_EQ(r.config->tunnel.sndbuf, 0u);  // the other one still the kernel's
    for (const auto& [text, want] : {std::pair{"0", 0u}, {"65536", 65536u}, {"8388608", 8388608u}, {"67108864", 67108864u}}) {
        r = load(std::string(kClient) + "  rcvbuf: " + text + "\n  sndbuf: " + text + "\n");
        ASSERT_TRUE(r.ok()) << text << dump(r);
        EXPECT_EQ(r.config->tunnel.rcvbuf, want);
        EXPECT_EQ(r.config->tunnel.sndbuf, want);
    }
    for (const char* key : {"rcvbuf", "sndbuf"}) {
        for (const char* bad : {"1", "65535", "67108865", "4294967296", "-1", "4M", "4 MiB", "0x400000", "''"}) {
            const std::string shown = std::string(bad) == "''" ? "" : bad;
            auto e = only_error(std::string(kClient) + "  " + key + ": " + bad + "\n");
            EXPECT_EQ(e.message, std::string("tunnel.") + key +
                                     " must be 0 (the kernel's default) or a whole number of bytes from 65536 to "
                                     "67108864, not '" + shown + "'")
                << bad;
            EXPECT_EQ(e.line, 11) << e.to_string();
            EXPECT_EQ(e.column, 11) << e.to_string();
        }
    }
    auto e = only_error(std::string(kClient) + "  rcvbuf: [1]\n");
    EXPECT_NE(e.message.find("tunnel.rcvbuf must be a single value"), std::string::npos) << e.message;
}

TEST_F(ConfigLoaderTest, Fragment) {
    auto r = load(kClient);
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_FALSE(r.config->tunnel.fragment);  // off, as OpenVPN
    r = load(std::string(kClient) + "  fragment: 1300\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    ASSERT_TRUE(r.config->tunnel.fragment);
    EXPECT_EQ(r.config->tunnel.fragment->size, 1300u);
    EXPECT_FALSE(r.config->tunnel.fragment->mtu);
    r = load(std::string(kClient) + "  fragment: 1400 mtu\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    ASSERT_TRUE(r.config->tunnel.fragment);
    EXPECT_TRUE(r.config->tunnel.fragment->mtu);
    r = load(std::string(kClient) + "  fragment: 0\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_FALSE(r.config->tunnel.fragment);
    for (const char* bad : {"100", "1300 fixed", "1300 mtu x", "big"}) {
        auto e = only_error(std::string(kClient) + "  fragment: " + bad + "\n");
        EXPECT_NE(e.message.find("tunnel.fragment must be 0 (off), a size from 576 to 9000 or 'SIZE mtu'"), std::string::npos)
            << e.message;
    }
    // As OpenVPN: "--fragment can only be used with --proto udp".
    std::string tcp = kClient;
    tcp.replace(tcp.find("proto: udp"), 10, "proto: tcp");
    auto e = only_error(tcp + "  fragment: 1300\n");
    EXPECT_NE(e.message.find("tunnel.fragment needs proto udp"), std::string::npos) << e.message;
}

TEST_F(ConfigLoaderTest, CbcCiphersAuthAndFallback) {
    auto r = load(kClient);
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->tunnel.auth, "SHA1");  // OpenVPN's --auth default
    EXPECT_EQ(r.config->tunnel.data_ciphers_fallback, "");
    r = load(std::string(kClient) + "  data_ciphers: [aes-256-gcm, AES-256-CBC]\n  auth: sha-256\n"
                                    "  data_ciphers_fallback: aes-128-cbc\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->tunnel.data_ciphers, (std::vector<std::string>{"AES-256-GCM", "AES-256-CBC"}));
    EXPECT_EQ(r.config->tunnel.auth, "SHA256");
    EXPECT_EQ(r.config->tunnel.data_ciphers_fallback, "AES-128-CBC");
    EXPECT_NE(only_error(std::string(kClient) + "  auth: MD5\n").message.find("tunnel.auth must be SHA1"), std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "  data_ciphers_fallback: BF-CBC\n").message.find("tunnel.data_ciphers_fallback must be"),
              std::string::npos);
}

TEST_F(ConfigLoaderTest, KeepaliveAndMarksAndInterest) {
    EXPECT_NE(only_error(std::string(kClient) + "  keepalive: {interval: 10, timeout: 15}\n").message.find("twice the interval"),
              std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "fastpath: {enabled: true, reply_mark: 5, orig_mark: 5}\n").message.find("differ"),
              std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "fastpath: {enabled: true, orig_mark: 5}\n").message.find("reply_mark is 0"),
              std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "interest: {rules: [{dport: 22}]}\n").message.find("needs proto tcp or udp"),
              std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "interest: {rules: [{action: bypass}]}\n").message.find("selects nothing"),
              std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "interest: {queue: 70000}\n").message.find("0 to 65535"), std::string::npos);
}

TEST_F(ConfigLoaderTest, InterestSteeringAndFanoutKeys) {
    auto d = load(std::string(kClient) + "interest: {rules: [{dst: 10.20.0.0/16}]}\n");
    ASSERT_TRUE(d.ok()) << dump(d);
    EXPECT_EQ(d.config->interest->queues, 1);
    EXPECT_EQ(d.config->interest->table, 1194u);
    EXPECT_EQ(d.config->interest->rule_priority, 1194u);
    auto r = load(std::string(kClient) + "interest: {queue: 4, queues: 4, table: 0x100, rule_priority: 900, rules: [{dst: 10.20.0.0/16}]}\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->interest->queue, 4);
    EXPECT_EQ(r.config->interest->queues, 4);
    EXPECT_EQ(r.config->interest->table, 256u);
    EXPECT_EQ(r.config->interest->rule_priority, 900u);
    for (const char* kernel_table : {"0", "253", "254", "255"}) {
        auto e = only_error(std::string(kClient) + "interest: {table: " + kernel_table + "}\n");
        EXPECT_NE(e.message.find("kernel's own tables"), std::string::npos) << e.message;
        EXPECT_EQ(e.line, 11);
        EXPECT_EQ(e.column, 19);
    }
    EXPECT_NE(only_error(std::string(kClient) + "interest: {table: 4294967296}\n").message.find("0 to 4294967295"),
              std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "interest: {rule_priority: 0}\n").message.find("1 to 32763"), std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "interest: {rule_priority: 32766}\n").message.find("1 to 32763"),
              std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "interest: {queues: 0}\n").message.find("1 to 64"), std::string::npos);
    auto past = only_error(std::string(kClient) + "interest: {queue: 65534, queues: 3}\n");
    EXPECT_NE(past.message.find("past the last queue number"), std::string::npos) << past.message;
    EXPECT_EQ(past.column, 34);
}

TEST_F(ConfigLoaderTest, SwitchKeysLoad) {
    auto r = load(std::string(kServer) +
                  "  mac_age: 120\n"
                  "  max_macs_per_client: 64\n"
                  "  multicast_limit: 500\n"
                  "  vlan: {tagging: true, pvid: 10}\n"
                  "  clients:\n"
                  "    - {name: branch-a, vlan: 20, max_macs: 8}\n"
                  "    - {name: branch-b, macs: ['02:00:5E:10:00:01', 52:54:00:aa:bb:cc]}\n"
                  "interest: {failure: closed, rules: [{dst: 10.20.0.0/16}]}\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    const TunnelConfig& t = r.config->tunnel;
    EXPECT_EQ(t.mac_age, 120u);
    EXPECT_EQ(t.max_macs_per_client, 64u);
    EXPECT_EQ(t.multicast_limit, 500u);
    EXPECT_TRUE(t.vlan_tagging);
    EXPECT_EQ(t.vlan_pvid, 10);
    ASSERT_EQ(t.clients.size(), 2u);
    EXPECT_EQ(t.clients[0].name, "branch-a");
    EXPECT_EQ(t.clients[0].vlan, std::optional<std::uint16_t>(20));
    EXPECT_EQ(t.clients[0].max_macs, std::optional<unsigned>(8));
    EXPECT_FALSE(t.clients[1].vlan);
    EXPECT_FALSE(t.clients[0].macs);
    ASSERT_TRUE(t.clients[1].macs);
    EXPECT_EQ(*t.clients[1].macs, (std::vector<MacAddress>{{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01}, {0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc}}));
    EXPECT_EQ(r.config->interest->failure, FailMode::closed);
}

TEST_F(ConfigLoaderTest, SwitchKeysDefaultsAndRefusals) {
    auto r = load(kServer);
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->tunnel.mac_age, 300u);
    EXPECT_EQ(r.config->tunnel.max_macs_per_client, 1024u);
    EXPECT_EQ(r.config->tunnel.multicast_limit, 1000u);  // a safe default (issue 16)
    EXPECT_FALSE(r.config->tunnel.vlan_tagging);

    auto e = only_error(std::string(kClient) + "  mac_age: 60\n");
    EXPECT_NE(e.message.find("only for a server"), std::string::npos) << e.to_string();
    EXPECT_EQ(e.line, 11);
    EXPECT_EQ(e.column, 3);
    EXPECT_NE(only_error(std::string(kServer) + "  vlan: {pvid: 4095}\n").message.find("1 to 4094"), std::string::npos);
    EXPECT_NE(only_error(std::string(kServer) + "  clients: [{name: a, vlan: 5}]\n").message.find("needs tunnel.vlan.tagging"),
              std::string::npos);
    EXPECT_NE(only_error(std::string(kServer) + "  clients: [{name: a}, {name: a}]\n").message.find("twice"),
              std::string::npos);
    EXPECT_NE(only_error(std::string(kServer) + "  clients: [{vlan: 3}]\n").message.find("needs 'name'"),
              std::string::npos);
    EXPECT_NE(only_error(std::string(kServer) + "  max_macs_per_client: 0\n").message.find("1 to 65536"),
              std::string::npos);
    // tunnel.clients macs: MAC addresses of stations, each once, at least one.
    EXPECT_NE(only_error(std::string(kServer) + "  clients: [{name: a, macs: [02:00:00:00:00]}]\n").message.find("not a MAC"),
              std::string::npos);
    EXPECT_NE(only_error(std::string(kServer) + "  clients: [{name: a, macs: [02-00-00-00-00-01]}]\n").message.find("not a MAC"),
              std::string::npos);
    EXPECT_NE(only_error(std::string(kServer) + "  clients: [{name: a, macs: ['01:00:5e:00:00:01']}]\n").message.find("group"),
              std::string::npos);
    EXPECT_NE(only_error(std::string(kServer) + "  clients: [{name: a, macs: ['02:00:00:00:00:01', '02:00:00:00:00:01']}]\n")
                  .message.find("twice"),
              std::string::npos);
    EXPECT_NE(only_error(std::string(kServer) + "  clients: [{name: a, macs: []}]\n").message.find("empty"), std::string::npos);
    EXPECT_NE(only_error(std::string(kServer) + "  clients: [{name: a, macs: '02:00:00:00:00:01'}]\n").message.find("must be a list"),
              std::string::npos);
    std::string many = "  clients: [{name: a, macs: [";
    for (int i = 0; i < 65; ++i) many += (i ? ", " : "") + std::string("'02:00:00:00:00:") + (i < 16 ? "0" : "") + [&] {
        char b[3];
        std::snprintf(b, sizeof b, "%x", i);
        return std::string(b);
    }() + "'";
    EXPECT_NE(only_error(std::string(kServer) + many + "]}]\n").message.find("at most 64"), std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "interest: {failure: maybe}\n").message.find("open"), std::string::npos);
}

TEST_F(ConfigLoaderTest, BridgeRules) {
    EXPECT_NE(only_error(std::string(kClient) + "  join_bridge: true\n").message.find("no bridge section"), std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "bridge: {name: br0, ports: [lan0, lan0]}\n").message.find("twice"),
              std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "bridge: {name: br0-is-far-too-long, ports: [lan0]}\n").message.find("1 to 15"),
              std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "bridge: {name: br0, ports: [tap7]}\n").message.find("also listed"),
              std::string::npos);
}

TEST_F(ConfigLoaderTest, CollectsAllErrors) {
    auto r = load("site: 'a b'\ntunnel:\n  role: client\n  proto: sctp\n  remote: [1.2.3.4]\n  ca: ca.crt\n"
                  "  cert: site.crt\n  key: site.key\n  wat: 1\nlog: {level: loud}\n");
    EXPECT_EQ(r.errors.size(), 5u) << dump(r);
}

TEST_F(ConfigLoaderTest, SyntaxErrorHasPosition) {
    auto e = only_error("site: a\ntunnel: {role: client\n");
    EXPECT_NE(e.message.find("not valid YAML"), std::string::npos);
    EXPECT_GE(e.line, 2);
    EXPECT_NE(only_error("").message.find("no settings"), std::string::npos);
    EXPECT_NE(only_error("- a\n- b\n").message.find("must be a map"), std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "---\nsite: b\n").message.find("more than one"), std::string::npos);
}

TEST_F(ConfigLoaderTest, MissingConfigFile) {
    auto r = load_config(dir_ + "/absent.yaml");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].line, 0);
    EXPECT_NE(r.errors[0].to_string().find("absent.yaml: cannot open the file: No such file"), std::string::npos);
}

TEST_F(ConfigLoaderTest, UserMustExist) {
    EXPECT_NE(only_error(std::string(kClient) + "user: no-such-user-wb\n").message.find("does not exist"), std::string::npos);
}

TEST(ConfigAddress, ParsersRoundTrip) {
    std::string why;
    auto c = parse_cidr("10.200.0.77/24", why);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->network().to_string(), "10.200.0.0");
    EXPECT_EQ(c->to_string(), "10.200.0.77/24");
    auto ep = parse_endpoint("[fd00::1]:443", false, why);
    ASSERT_TRUE(ep);
    EXPECT_EQ(ep->to_string(), "[fd00::1]:443");
    EXPECT_FALSE(valid_ifname("a/b", why));
    EXPECT_FALSE(valid_ifname("", why));
    EXPECT_TRUE(valid_ifname("tap0", why));
}

// limits: (docs/SECURITY.md): defaults, every key, and refusals with their position.
TEST_F(ConfigLoaderTest, LimitsSectionDefaultsKeysAndRefusals) {
    auto d = load(kServer);
    ASSERT_TRUE(d.ok()) << dump(d);
    const LimitsConfig& l = d.config->limits;
    EXPECT_EQ(l.max_clients, 1024u);
    EXPECT_EQ(l.max_half_open, 256u);
    EXPECT_EQ(l.max_half_open_per_source, 16u);
    EXPECT_EQ(l.reset_rate, 10u);
    EXPECT_EQ(l.reset_burst, 100u);
    EXPECT_EQ(l.reset_rate_per_source, 2u);
    EXPECT_EQ(l.reset_burst_per_source, 20u);
    EXPECT_EQ(l.mac_move_limit, 2u);
    EXPECT_FALSE(l.allow_tagged_frames);

    auto r = load(std::string(kServer) +
                  "limits:\n"
                  "  max_clients: 50\n"
                  "  max_half_open: 30\n"
                  "  max_half_open_per_source: 3\n"
                  "  reset_rate: 0\n"
                  "  reset_burst: 7\n"
                  "  reset_rate_per_source: 1\n"
                  "  reset_burst_per_source: 4\n"
                  "  mac_move_limit: 0\n"
                  "  allow_tagged_frames: true\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    const LimitsConfig& m = r.config->limits;
    EXPECT_EQ(m.max_clients, 50u);
    EXPECT_EQ(m.max_half_open, 30u);
    EXPECT_EQ(m.max_half_open_per_source, 3u);
    EXPECT_EQ(m.reset_rate, 0u);
    EXPECT_EQ(m.reset_burst, 7u);
    EXPECT_EQ(m.reset_rate_per_source, 1u);
    EXPECT_EQ(m.reset_burst_per_source, 4u);
    EXPECT_EQ(m.mac_move_limit, 0u);
    EXPECT_TRUE(m.allow_tagged_frames);

    auto e = only_error(std::string(kServer) + "limits:\n  max_clients: 0\n");
    EXPECT_NE(e.message.find("limits.max_clients"), std::string::npos) << e.to_string();
    auto u = only_error(std::string(kServer) + "limits:\n  max_halfopen: 3\n");
    EXPECT_NE(u.message.find("unknown key 'max_halfopen'"), std::string::npos) << u.to_string();
}

TEST_F(ConfigLoaderTest, BridgeGatewayAndUplinkKeys) {
    const std::string br = "bridge: {name: br0, ports: [lan0, wan0], address: 192.0.2.2/24";
    auto r = load(std::string(kClient) + br + ", gateway: 192.0.2.1}\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    ASSERT_TRUE(r.config->bridge->gateway);
    EXPECT_EQ(r.config->bridge->gateway->to_string(), "192.0.2.1");
    EXPECT_EQ(r.config->bridge->uplink_table, 1193u);
    EXPECT_EQ(r.config->bridge->uplink_mark, 0x40000u);
    r = load(std::string(kClient) + br + ", gateway: 192.0.2.1, uplink_table: 2000, uplink_mark: 0x100}\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->bridge->uplink_table, 2000u);
    EXPECT_EQ(r.config->bridge->uplink_mark, 0x100u);
    r = load(std::string(kClient) + "bridge: {name: br0, ports: [lan0], address: '2001:db8:1::2/64', gateway: 'fe80::1'}\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    // A hub placed inline answers its sites through the same table (docs/INLINE.md).
    r = load(std::string(kServer) + br + ", gateway: 192.0.2.1}\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    ASSERT_TRUE(r.config->bridge->gateway);
    auto has = [&](const std::string& yaml, const std::string& what) {
        const auto e = only_error(yaml);
        EXPECT_NE(e.message.find(what), std::string::npos) << e.to_string();
    };
    has(std::string(kClient) + "bridge: {name: br0, ports: [lan0], gateway: 192.0.2.1}\n", "needs bridge.address");
    has(std::string(kClient) + br + ", gateway: '2001:db8::1'}\n", "not of the same family");
    has(std::string(kClient) + br + ", gateway: 192.0.2.2}\n", "the box's own address");
    has(std::string(kClient) + br + ", gateway: 192.0.2.300}\n", "bridge.gateway");
    has(std::string(kClient) + br + ", gateway: 192.0.2.1, uplink_table: 254}\n", "kernel's own tables");
    has(std::string(kClient) + br + ", gateway: 192.0.2.1, uplink_mark: 0x10000}\n", "decision bits");
    has(std::string(kClient) + br + ", gateway: 192.0.2.1, uplink_table: 1195}\ninterest: {rules: [{dst: 10.0.0.0/8}]}\n",
        "interest.table or the interest rules' priorities");
    has(std::string(kClient) + br + ", gateway: 192.0.2.1, uplink_mark: 0x32}\n" +
            "fastpath: {enabled: true, reply_mark: 0x32, orig_mark: 0x33}\n",
        "shares bits with fastpath");
}

TEST_F(ConfigLoaderTest, InlineKeysRemoveOnStopAndRequireModule) {
    auto r = load(kClient);
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_TRUE(r.config->fastpath.require_module);
    r = load(std::string(kClient) + "bridge: {name: br0, ports: [lan0, wan0]}\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_FALSE(r.config->bridge->remove_on_stop) << "the wire stays by default";
    r = load(std::string(kClient) + "bridge: {name: br0, ports: [lan0], remove_on_stop: true}\n" +
             "fastpath: {enabled: true, reply_mark: 0x32, orig_mark: 0x33, require_module: false}\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_TRUE(r.config->bridge->remove_on_stop);
    EXPECT_FALSE(r.config->fastpath.require_module);
    EXPECT_NE(only_error(std::string(kClient) + "bridge: {name: br0, ports: [lan0], remove_on_stop: later}\n")
                  .message.find("true or false"),
              std::string::npos);
    EXPECT_NE(only_error(std::string(kClient) + "fastpath: {enabled: true, reply_mark: 1, orig_mark: 2, require_module: 3}\n")
                  .message.find("true or false"),
              std::string::npos);
}

namespace {

TEST_F(ConfigLoaderTest, ControlMetricsIsOffByDefaultAndTakesAnAddressLiteral) {
    auto off = load(std::string(kClient));
    ASSERT_TRUE(off.ok()) << dump(off);
    EXPECT_FALSE(off.config->control.metrics.has_value());

    auto v4 = load(std::string(kClient) + "control: {metrics: \"127.0.0.1:9433\"}\n");
    ASSERT_TRUE(v4.ok()) << dump(v4);
    ASSERT_TRUE(v4.config->control.metrics);
    EXPECT_EQ(v4.config->control.metrics->host, "127.0.0.1");
    EXPECT_EQ(v4.config->control.metrics->port, 9433);

    auto v6 = load(std::string(kClient) + "control: {metrics: \"[::1]:80\"}\n");
    ASSERT_TRUE(v6.ok()) << dump(v6);
    EXPECT_EQ(v6.config->control.metrics->host, "::1");

    for (const char* bad : {"\"localhost:9433\"", "\"127.0.0.1\"", "\"127.0.0.1:0\"", "[1, 2]"}) {
        auto e = only_error(std::string(kClient) + "control: {metrics: " + bad + "}\n");
        EXPECT_NE(e.message.find("control.metrics"), std::string::npos) << bad << ": " << e.message;
        EXPECT_EQ(e.column, 20) << bad;
    }
}

}  // namespace
