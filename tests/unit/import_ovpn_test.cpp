// `wirebridge import`: the .ovpn tokenizer, and the conversion of OpenVPN's sample configs (adapted
// to dev tap, kept in the fuzz corpus) and of inline-block client files.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "import/ovpn_file.hpp"
#include "import/ovpn_import.hpp"

namespace wirebridge::import {
namespace {

std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

ImportOptions opts() {
    ImportOptions o;
    o.source_dir = "/etc/openvpn";
    o.out_dir = "/etc/wirebridge";
    o.stem = "office";
    o.site = "office";
    return o;
}

bool has(const std::vector<std::string>& v, const std::string& part) {
    for (const auto& s : v)
        if (s.find(part) != std::string::npos) return true;
    return false;
}

TEST(OvpnFile, WordsQuotesCommentsAndBlocks) {
    auto f = parse_ovpn("\xEF\xBB\xBF# comment\n; other\n--remote \"a b\" 'c\\d' e\\ f # tail\n"
                        "push \"route 10.0.0.0 255.0.0.0\"\n<ca>\r\nLINE1\r\n  LINE2\n</ca>\nverb 3;x\n");
    ASSERT_TRUE(f) << f.error().message;
    ASSERT_EQ(f->directives.size(), 3u);
    EXPECT_EQ(f->directives[0].name, "remote");
    EXPECT_EQ(f->directives[0].args, (std::vector<std::string>{"a b", "c\\d", "e f"}));
    EXPECT_EQ(f->directives[0].line, 3u);
    EXPECT_EQ(f->directives[1].args, (std::vector<std::string>{"route 10.0.0.0 255.0.0.0"}));
    EXPECT_EQ(f->directives[2].args, (std::vector<std::string>{"3;x"}));
    ASSERT_TRUE(f->inline_block("ca"));
    EXPECT_EQ(f->inline_block("ca")->text, "LINE1\n  LINE2\n");
    EXPECT_FALSE(parse_ovpn("remote \"open\n"));
    EXPECT_FALSE(parse_ovpn("<ca>\nx\n"));
    EXPECT_FALSE(parse_ovpn("</ca>\n"));
    EXPECT_FALSE(parse_ovpn("<ca>\n</ca>\n<ca>\n</ca>\n"));
    EXPECT_FALSE(parse_ovpn("<c a>\n</c a>\n"));
    EXPECT_FALSE(parse_ovpn(std::string(2 << 20, 'x')));
}

TEST(OvpnImport, SampleClientConfAdaptedToTap) {
    auto f = parse_ovpn(read("../fuzz/corpus/import_ovpn_parse_fuzz/sample_client_tap"));
    ASSERT_TRUE(f);
    const ImportResult r = convert_ovpn(*f, opts());
    ASSERT_TRUE(r.ok()) << r.refused[0];
    EXPECT_EQ(r.yaml,
              "# Imported from an OpenVPN config by `wirebridge import`; check with `wirebridge check -c FILE`.\n"
              "site: office\n"
              "tunnel:\n"
              "  role: client\n"
              "  proto: udp\n"
              "  remote: [my-server-1:1194]\n"
              "  device: tap0\n"
              "  ca: /etc/openvpn/ca.crt\n"
              "  cert: /etc/openvpn/client.crt\n"
              "  key: /etc/openvpn/client.key\n"
              "  remote_cert_tls: server\n"
              "log: {level: info}\n");
    EXPECT_TRUE(r.files.empty());
    EXPECT_TRUE(has(r.ignored, "persist-tun: wirebridge keeps"));
    EXPECT_TRUE(has(r.ignored, "nobind"));
    EXPECT_TRUE(has(r.mapped, "remote my-server-1 1194 -> tunnel.remote"));
}

TEST(OvpnImport, SampleServerConfAdaptedToTap) {
    auto f = parse_ovpn(read("../fuzz/corpus/import_ovpn_parse_fuzz/sample_server_tap"));
    ASSERT_TRUE(f);
    const ImportResult r = convert_ovpn(*f, opts());
    ASSERT_TRUE(r.ok()) << r.refused[0];
    EXPECT_NE(r.yaml.find("  role: server\n  proto: udp\n  local: 0.0.0.0:1194\n"
                          "  pool: {subnet: 10.8.0.0/24, persist: /var/log/openvpn/ipp.txt}\n"
                          "  device: tap0\n  address: 10.8.0.1/24\n"), std::string::npos) << r.yaml;
    EXPECT_NE(r.yaml.find("  dh: /etc/openvpn/dh2048.pem\n"), std::string::npos) << r.yaml;
    EXPECT_NE(r.yaml.find("  keepalive: {interval: 10, timeout: 120}\n"), std::string::npos) << r.yaml;
    EXPECT_TRUE(has(r.ignored, "topology subnet: has no meaning with dev tap"));
    EXPECT_TRUE(has(r.ignored, "explicit-exit-notify 1: always on"));
}

TEST(OvpnImport, TunAndBehaviourChangesAreRefused) {
    auto f = parse_ovpn("client\ndev tun\nremote a 1\npush \"route 10.0.0.0 255.0.0.0\"\nredirect-gateway def1\n"
                        "cipher AES-256-CBC\nplugin /usr/lib/openvpn/pam.so login\nauth-user-pass\n");
    ASSERT_TRUE(f);
    const ImportResult r = convert_ovpn(*f, opts());
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(r.yaml.empty());
    EXPECT_TRUE(has(r.refused, "line 2: dev tun: wirebridge bridges Ethernet frames"));
    EXPECT_TRUE(has(r.refused, "line 4: push route 10.0.0.0 255.0.0.0: the hub pushes no route"));
    EXPECT_TRUE(has(r.refused, "line 5: redirect-gateway def1: wirebridge adds no routes"));
    EXPECT_TRUE(has(r.refused, "line 6: cipher AES-256-CBC"));
    EXPECT_TRUE(has(r.refused, "line 7: plugin"));
    EXPECT_TRUE(has(r.refused, "line 8: auth-user-pass: without a file OpenVPN prompts"));
    EXPECT_FALSE(convert_ovpn(*parse_ovpn("dev tap\nremote a\n"), opts()).ok());  // neither role
    EXPECT_TRUE(has(convert_ovpn(*parse_ovpn("client\ndev vpn0\nremote a\n"), opts()).refused, "add dev-type tap"));
    EXPECT_TRUE(convert_ovpn(*parse_ovpn("client\ndev vpn0\nremote a\ndev-type tap\n"), opts()).ok());
    EXPECT_FALSE(convert_ovpn(*parse_ovpn("client\ndev tap0\ndev-type tun\nremote a\n"), opts()).ok());
    EXPECT_TRUE(has(convert_ovpn(*parse_ovpn("client\ndev tap\nremote a\nfoo-bar 1\n"), opts()).refused, "unknown to the importer"));
}

// The MTU options map to the YAML keys with OpenVPN's values and modes; what wirebridge cannot do
// (a TAP MTU above 1500, link-mtu, a mode it lacks) is refused, never dropped silently.
TEST(OvpnImport, MtuOptionsMap) {
    auto r = convert_ovpn(*parse_ovpn("client\ndev tap\nremote a\ntun-mtu 1400\nmssfix 1360 fixed\nfragment 1300\n"), opts());
    ASSERT_TRUE(r.ok()) << r.refused[0];
    EXPECT_NE(r.yaml.find("  mssfix: \"1360 fixed\"\n  tun_mtu: 1400\n  fragment: 1300\n"), std::string::npos) << r.yaml;
    EXPECT_TRUE(has(r.mapped, "line 4: tun-mtu 1400 -> tunnel.tun_mtu"));
    EXPECT_TRUE(has(r.mapped, "line 6: fragment 1300 -> tunnel.fragment"));
    r = convert_ovpn(*parse_ovpn("client\ndev tap\nremote a\nmssfix\ntun-mtu 1500\nfragment 1400 mtu\nmssfix 0\n"), opts());
    ASSERT_TRUE(r.ok()) << r.refused[0];
    EXPECT_NE(r.yaml.find("  mssfix: 0\n"), std::string::npos) << r.yaml;
    EXPECT_NE(r.yaml.find("  fragment: \"1400 mtu\"\n"), std::string::npos) << r.yaml;
    EXPECT_EQ(r.yaml.find("tun_mtu"), std::string::npos) << r.yaml;  // 1500 is the default
    EXPECT_TRUE(has(r.ignored, "line 4: mssfix: OpenVPN's default"));
    for (const char* bad : {"tun-mtu 9000", "tun-mtu x", "mssfix 1400 udp", "mssfix 100", "fragment 1300 fixed", "link-mtu 1573",
                            "tun-mtu-extra 32", "mtu-disc yes"})
        EXPECT_FALSE(convert_ovpn(*parse_ovpn(std::string("client\ndev tap\nremote a\n") + bad + "\n"), opts()).ok()) << bad;
}

// --txqueuelen maps to tunnel.txqueuelen; a length outside wirebridge's range is refused, and a
// file without it gets wirebridge's default (no key written).
TEST(OvpnImport, TxqueuelenMaps) {
    auto r = convert_ovpn(*parse_ovpn("client\ndev tap\nremote a\ntun-mtu 1400\ntxqueuelen 2000\n"), opts());
    ASSERT_TRUE(r.ok()) << r.refused[0];
    EXPECT_NE(r.yaml.find("  tun_mtu: 1400\n  txqueuelen: 2000\n"), std::string::npos) << r.yaml;
    EXPECT_TRUE(has(r.mapped, "line 5: txqueuelen 2000 -> tunnel.txqueuelen"));
    r = convert_ovpn(*parse_ovpn("client\ndev tap\nremote a\n"), opts());
    ASSERT_TRUE(r.ok()) << r.refused[0];
    EXPECT_EQ(r.yaml.find("txqueuelen"), std::string::npos) << r.yaml;
    for (const char* bad : {"txqueuelen 0", "txqueuelen 15", "txqueuelen 65537", "txqueuelen x", "txqueuelen", "txqueuelen 100 200"}) {
        r = convert_ovpn(*parse_ovpn(std::string("client\ndev tap\nremote a\n") + bad + "\n"), opts());
        EXPECT_FALSE(r.ok()) << bad;
    }
    r = convert_ovpn(*parse_ovpn("client\ndev tap\nremote a\ntxqueuelen 70000\n"), opts());
    EXPECT_TRUE(has(r.refused, "line 4: txqueuelen 70000: wirebridge's TAP queue length is 16 to 65536 frames")) << r.refused[0];
}

// --sndbuf / --rcvbuf map to tunnel.sndbuf / tunnel.rcvbuf; 0 (OpenVPN's "the OS's default") maps to
// wirebridge's 0 (the kernel's), a file without them gets wirebridge's default (no key written),
// a size outside wirebridge's range is refused; a pushed one is the site's business (ignored).
TEST(OvpnImport, SocketBuffersMap) {
    auto r = convert_ovpn(*parse_ovpn("client\ndev tap\nremote a\nsndbuf 393216\nrcvbuf 0\n"), opts());
    ASSERT_TRUE(r.ok()) << r.refused[0];
    EXPECT_NE(r.yaml.find("  rcvbuf: 0\n  sndbuf: 393216\n"), std::string::npos) << r.yaml;
    EXPECT_TRUE(has(r.mapped, "line 4: sndbuf 393216 -> tunnel.sndbuf")) << r.mapped[0];
    EXPECT_TRUE(has(r.mapped, "line 5: rcvbuf 0 -> tunnel.rcvbuf (0: the kernel's default; without the key, 4 MiB over UDP)"));
    r = convert_ovpn(*parse_ovpn("client\ndev tap\nremote a\n"), opts());
    ASSERT_TRUE(r.ok()) << r.refused[0];
    EXPECT_EQ(r.yaml.find("buf"), std::string::npos) << r.yaml;
    for (const char* ok : {"rcvbuf 65536", "rcvbuf 67108864", "sndbuf 0"}) {
        r = convert_ovpn(*parse_ovpn(std::string("client\ndev tap\nremote a\n") + ok + "\n"), opts());
        EXPECT_TRUE(r.ok()) << ok;
    }
    for (const char* bad : {"sndbuf 65535", "rcvbuf 67108865", "sndbuf -1", "rcvbuf x", "sndbuf", "rcvbuf 1 2"}) {
        r = convert_ovpn(*parse_ovpn(std::string("client\ndev tap\nremote a\n") + bad + "\n"), opts());
        EXPECT_FALSE(r.ok()) << bad;
    }
    r = convert_ovpn(*parse_ovpn("client\ndev tap\nremote a\nrcvbuf 4096\n"), opts());
    EXPECT_TRUE(has(r.refused,
                    "line 4: rcvbuf 4096: wirebridge's socket buffers are 0 (the kernel's default) or 65536 to 67108864 bytes"))
        << r.refused[0];
    r = convert_ovpn(*parse_ovpn("server 10.8.0.0 255.255.255.0\ndev tap\npush \"sndbuf 393216\"\n"), opts());
    EXPECT_TRUE(has(r.ignored, "line 3: push sndbuf 393216: each site sets its own buffers"));
}

TEST(OvpnImport, InlineBlocksBecomeFiles) {
    auto f = parse_ovpn(read("../fuzz/corpus/import_ovpn_parse_fuzz/inline_quotes"));
    ASSERT_TRUE(f);
    const ImportResult r = convert_ovpn(*f, opts());
    ASSERT_TRUE(r.ok()) << r.refused[0];
    EXPECT_NE(r.yaml.find("  proto: tcp\n  remote: [\"vpn example.net:443\", \"[fd00::1]:1194\"]\n  device: tap5\n"), std::string::npos) << r.yaml;
    EXPECT_NE(r.yaml.find("  ca: /etc/wirebridge/office-ca.crt\n"), std::string::npos) << r.yaml;
    EXPECT_NE(r.yaml.find("  tls_auth: {key: /etc/wirebridge/office-ta.key, direction: 1, digest: SHA256}\n"), std::string::npos) << r.yaml;
    EXPECT_NE(r.yaml.find("  verify_x509_name: {name: \"C=DE, O=Example, CN=hub\", type: subject}\n"), std::string::npos) << r.yaml;
    EXPECT_NE(r.yaml.find("  data_ciphers: [AES-256-GCM, CHACHA20-POLY1305]\n"), std::string::npos) << r.yaml;
    EXPECT_NE(r.yaml.find("  compress: comp-lzo\n"), std::string::npos) << r.yaml;
    EXPECT_NE(r.yaml.find("  auth_user_pass: /etc/wirebridge/office-auth.txt\n"), std::string::npos) << r.yaml;
    EXPECT_NE(r.yaml.find("  peer_fingerprint: [AB:CD:EF:01"), std::string::npos) << r.yaml;
    EXPECT_NE(r.yaml.find("  remote_cert_tls: none\n"), std::string::npos) << r.yaml;  // OpenVPN without the option
    EXPECT_TRUE(has(r.ignored, "AES-128-CBC"));
    ASSERT_EQ(r.files.size(), 3u);
    for (const auto& file : r.files) {
        if (file.path == "/etc/wirebridge/office-auth.txt") {
            EXPECT_EQ(file.content, "site\nsecret \"with\" quotes\n");
            EXPECT_EQ(file.mode, 0600u);
        } else if (file.path == "/etc/wirebridge/office-ta.key") {
            EXPECT_EQ(file.mode, 0600u);
        } else {
            EXPECT_EQ(file.path, "/etc/wirebridge/office-ca.crt");
            EXPECT_EQ(file.content, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
        }
    }
}

TEST(OvpnImport, ServerBridgeRangeAndVerifyProgram) {
    auto f = parse_ovpn(read("../fuzz/corpus/import_ovpn_parse_fuzz/bridge_server"));
    ASSERT_TRUE(f);
    ImportResult r = convert_ovpn(*f, opts());
    EXPECT_FALSE(r.ok());  // the pushed route
    EXPECT_EQ(r.refused.size(), 1u);
    std::string text = read("../fuzz/corpus/import_ovpn_parse_fuzz/bridge_server");
    text.erase(text.find("push \"route"), text.find('\n', text.find("push \"route")) - text.find("push \"route") + 1);
    r = convert_ovpn(*parse_ovpn(text), opts());
    ASSERT_TRUE(r.ok()) << r.refused[0];
    EXPECT_NE(r.yaml.find("  pool: {subnet: 192.168.1.0/24, start: 192.168.1.200, end: 192.168.1.219, gateway: 192.168.1.1, "
                          "persist: /etc/openvpn/ipp.txt}\n"), std::string::npos) << r.yaml;
    EXPECT_NE(r.yaml.find("  auth_user_pass_verify: {command: [/usr/local/bin/check, \"--db\", /etc/db], method: via-env}\n"),
              std::string::npos) << r.yaml;
    // server-bridge without arguments: no pool.
    r = convert_ovpn(*parse_ovpn("mode server\ntls-server\ndev tap\nserver-bridge\n"), opts());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.yaml.find("pool"), std::string::npos) << r.yaml;
}

}  // namespace
}  // namespace wirebridge::import
