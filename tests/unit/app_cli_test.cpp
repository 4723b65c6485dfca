// Tests of the wirebridge command line: every command parses, every misuse is a usage error.
#include <gtest/gtest.h>

#include "app/cli.hpp"

using namespace wirebridge::app;

namespace {
CliResult parse(std::vector<std::string> a) { return parse_cli(a); }
}  // namespace

TEST(Cli, Commands) {
    auto r = parse({"run", "-c", "/etc/wb.yaml"});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.command.kind, Command::Kind::run);
    EXPECT_EQ(r.command.config_file, "/etc/wb.yaml");
    r = parse({"check", "--config=x.yaml"});
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.command.kind, Command::Kind::check);
    EXPECT_EQ(r.command.config_file, "x.yaml");
    r = parse({"cleanup", "-c", "/etc/wirebridge/site.yaml"});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.command.kind, Command::Kind::cleanup);
    EXPECT_EQ(r.command.config_file, "/etc/wirebridge/site.yaml");
    EXPECT_FALSE(parse({"cleanup"}).ok);
    r = parse({"modules", "-c", "/etc/wirebridge/site.yaml"});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.command.kind, Command::Kind::modules);
    EXPECT_EQ(r.command.config_file, "/etc/wirebridge/site.yaml");
    EXPECT_FALSE(parse({"modules"}).ok);
    r = parse({"genkey", "tls-crypt", "tc.key"});
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.command.key_kind, "tls-crypt");
    EXPECT_EQ(r.command.key_file, "tc.key");
    EXPECT_EQ(parse({"--help"}).command.kind, Command::Kind::help);
    EXPECT_EQ(parse({"--version"}).command.kind, Command::Kind::version);
    r = parse({"import", "office.ovpn", "-o", "/etc/wirebridge/office.yaml", "--site", "office"});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.command.kind, Command::Kind::import_ovpn);
    EXPECT_EQ(r.command.import_file, "office.ovpn");
    EXPECT_EQ(r.command.config_file, "/etc/wirebridge/office.yaml");
    EXPECT_EQ(r.command.site, "office");
    EXPECT_NE(parse({"import"}).error.find("needs the OpenVPN config file"), std::string::npos);
    EXPECT_NE(parse({"import", "a.ovpn", "b.ovpn"}).error.find("unexpected 'b.ovpn'"), std::string::npos);
}

TEST(Cli, UsageErrors) {
    EXPECT_NE(parse({}).error.find("no command"), std::string::npos);
    EXPECT_NE(parse({"frobnicate"}).error.find("unknown command 'frobnicate'"), std::string::npos);
    EXPECT_NE(parse({"run"}).error.find("needs -c FILE"), std::string::npos);
    EXPECT_NE(parse({"run", "-c"}).error.find("needs a file name"), std::string::npos);
    EXPECT_NE(parse({"check", "-c", "a", "-c", "b"}).error.find("given twice"), std::string::npos);
    EXPECT_NE(parse({"check", "-c", "a", "--fast"}).error.find("unknown argument '--fast'"), std::string::npos);
    EXPECT_NE(parse({"genkey", "secret", "k"}).error.find("tls-crypt or tls-auth"), std::string::npos);
    EXPECT_NE(parse({"genkey", "tls-auth"}).error.find("needs a kind"), std::string::npos);
    EXPECT_FALSE(parse({"--help", "x"}).ok);
    EXPECT_NE(usage_text().find("wirebridge genkey tls-crypt FILE"), std::string::npos);
}

TEST(Cli, StatusAndFlows) {
    auto r = parse({"status"});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.command.kind, Command::Kind::status);
    EXPECT_FALSE(r.command.json);
    r = parse({"status", "--json", "-c", "site.yaml"});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.command.json);
    EXPECT_EQ(r.command.config_file, "site.yaml");
    r = parse({"flows", "--socket", "/run/x.sock"});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.command.kind, Command::Kind::flows);
    EXPECT_EQ(r.command.socket, "/run/x.sock");
    r = parse({"flows", "--json"});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.command.json);
    EXPECT_NE(parse({"flows", "--prometheus"}).error.find("'--prometheus'"), std::string::npos);
    r = parse({"status", "--prometheus"});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.command.prometheus);
    EXPECT_NE(parse({"status", "--prometheus", "--json"}).error.find("not both"), std::string::npos);
    EXPECT_NE(parse({"status", "-c", "a", "--socket", "b"}).error.find("one of"), std::string::npos);
    r = parse({"status", "site-b", "--json"});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.command.instance, "site-b");
    EXPECT_NE(parse({"status", "a", "b"}).error.find("'b'"), std::string::npos);
    EXPECT_NE(parse({"flows", "a", "-c", "x.yaml"}).error.find("one of"), std::string::npos);
    EXPECT_NE(parse({"status", "--socket"}).error.find("incomplete"), std::string::npos);
}

TEST(Cli, PerCommandHelp) {
    for (const char* cmd : {"run", "check", "status", "flows", "genkey", "import"}) {
        auto r = parse({cmd, "--help"});
        ASSERT_TRUE(r.ok) << cmd << ": " << r.error;
        EXPECT_EQ(r.command.kind, Command::Kind::help);
        EXPECT_EQ(r.command.help_topic, cmd);
        EXPECT_EQ(command_help(cmd).rfind(std::string("usage: wirebridge ") + cmd, 0), 0u) << cmd;
    }
    auto r = parse({"status", "--json", "-h"});
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.command.help_topic, "status");
    EXPECT_EQ(command_help("frobnicate"), "");
    EXPECT_FALSE(parse({"frobnicate", "--help"}).ok);
}
