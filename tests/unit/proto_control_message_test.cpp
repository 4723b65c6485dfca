// Control text messages and PUSH_REPLY parsing, on 2.6.14's captured reply.
#include <gtest/gtest.h>

#include "proto/control_message.hpp"

namespace wirebridge::proto {
namespace {

const char kReply[] =
    "PUSH_REPLY,route-gateway 10.77.0.1,ping 10,ping-restart 60,ifconfig 10.77.0.100 255.255.255.0,peer-id 0,"
    "cipher AES-256-GCM,protocol-flags cc-exit tls-ekm dyn-tls-crypt,tun-mtu 1500";

TEST(ControlMessage, Classify) {
    struct C {
        std::string_view raw;
        ControlMessageKind kind;
        std::string_view args;
    } cases[] = {
        {std::string_view("PUSH_REQUEST\0", 13), ControlMessageKind::push_request, ""},
        {"AUTH_FAILED", ControlMessageKind::auth_failed, ""},
        {"AUTH_FAILED,TEMP:try later", ControlMessageKind::auth_failed, "TEMP:try later"},
        {"RESTART,[N]", ControlMessageKind::restart, "[N]"},
        {"HALT", ControlMessageKind::halt, ""},
        {"EXIT", ControlMessageKind::exit, ""},
        {"INFO_PRE,hello", ControlMessageKind::info_pre, "hello"},
        {"INFO,hello", ControlMessageKind::info, "hello"},
        {"PUSH_REQUESTX", ControlMessageKind::unknown, ""},
        {std::string_view("EX\x01IT", 5), ControlMessageKind::unknown, ""},
    };
    for (const auto& c : cases) {
        const auto m = classify_control_message(c.raw);
        EXPECT_EQ(m.kind, c.kind) << c.raw;
        EXPECT_EQ(m.args, c.args) << c.raw;
    }
    EXPECT_EQ(control_message_bytes("EXIT").back(), 0);
}

TEST(PushReply, Parses26Reply) {
    const auto m = classify_control_message(kReply);
    ASSERT_EQ(m.kind, ControlMessageKind::push_reply);
    PushReplyAssembler a;
    ASSERT_EQ(a.feed(m.args), PushReplyAssembler::Status::complete);
    const PushOptions& o = a.options();
    EXPECT_EQ(o.cipher, "AES-256-GCM");
    EXPECT_EQ(o.peer_id, 0u);
    EXPECT_TRUE(o.tls_ekm);
    EXPECT_TRUE(o.cc_exit);
    EXPECT_TRUE(o.dyn_tls_crypt);
    EXPECT_EQ(o.ping, 10u);
    EXPECT_EQ(o.ping_restart, 60u);
    EXPECT_EQ(o.ifconfig_local, "10.77.0.100");
    EXPECT_EQ(o.ifconfig_netmask, "255.255.255.0");
    EXPECT_EQ(o.route_gateway, "10.77.0.1");
    EXPECT_EQ(o.tun_mtu, 1500u);
    EXPECT_TRUE(o.ignored.empty());
}

TEST(PushReply, Continuation) {
    PushReplyAssembler a;
    EXPECT_EQ(a.feed("ping 10,route 10.0.0.0 255.0.0.0,push-continuation 2"), PushReplyAssembler::Status::more);
    EXPECT_EQ(a.feed("cipher AES-128-GCM,key-derivation tls-ekm,push-continuation 1"),
              PushReplyAssembler::Status::complete);
    EXPECT_EQ(a.options().ping, 10u);
    EXPECT_EQ(a.options().cipher, "AES-128-GCM");
    EXPECT_TRUE(a.options().tls_ekm);
    EXPECT_FALSE(a.options().cc_exit);
    ASSERT_EQ(a.options().ignored.size(), 1u);
    EXPECT_EQ(a.options().ignored[0], "route 10.0.0.0 255.0.0.0");
}

TEST(PushReply, RefusesMalformed) {
    for (const char* bad : {"peer-id x", "peer-id 16777216", "ping", "ping -1", "ifconfig 10.0.0.1", "cipher"}) {
        PushReplyAssembler a;
        EXPECT_EQ(a.feed(bad), PushReplyAssembler::Status::error) << bad;
    }
    PushReplyAssembler loop;
    PushReplyAssembler::Status st{};
    for (int i = 0; i < 100; ++i) st = loop.feed("push-continuation 2");
    EXPECT_EQ(st, PushReplyAssembler::Status::error);
}

TEST(PushReply, CompressionAndWords) {
    PushOptions o;
    EXPECT_TRUE(o.apply("comp-lzo no"));
    EXPECT_EQ(o.compression, CompressionFraming::comp_lzo);
    EXPECT_TRUE(o.apply("comp-lzo"));
    EXPECT_EQ(o.compression, CompressionFraming::comp_lzo);
    EXPECT_TRUE(o.apply("compress stub-v2"));
    EXPECT_EQ(o.compression, CompressionFraming::compress_v2);
    EXPECT_TRUE(o.apply("compress lz4-v2"));
    EXPECT_EQ(o.compression, CompressionFraming::compress_v2);
    EXPECT_TRUE(o.apply("compress lz4"));
    EXPECT_EQ(o.compression, CompressionFraming::compress_v1);
    EXPECT_TRUE(o.apply("compress"));
    EXPECT_EQ(o.compression, CompressionFraming::compress_v1);
    EXPECT_TRUE(o.apply("compress lzo"));
    EXPECT_EQ(o.compression, CompressionFraming::comp_lzo);
    EXPECT_TRUE(o.apply("compress snappy"));
    EXPECT_EQ(o.compression, CompressionFraming::unsupported);
    EXPECT_TRUE(o.apply("comp-lzo maybe"));
    EXPECT_EQ(o.compression, CompressionFraming::unsupported);
    // A server pushes only the stub that names the framing.
    PushOptions s;
    s.cipher = "AES-256-GCM";
    s.compression = CompressionFraming::compress_v2;
    EXPECT_NE(build_push_reply(s).find(",compress stub-v2"), std::string::npos);
    s.compression = CompressionFraming::comp_lzo;
    EXPECT_NE(build_push_reply(s).find(",comp-lzo no"), std::string::npos);
    EXPECT_EQ(split_option_words("a \"b c\" d\\ e"), (std::vector<std::string>{"a", "b c", "d e"}));
}

TEST(PushReply, BuildParsesBack) {
    PushOptions o;
    o.route_gateway = "10.77.0.1";
    o.ping = 10;
    o.ping_restart = 60;
    o.ifconfig_local = "10.77.0.100";
    o.ifconfig_netmask = "255.255.255.0";
    o.peer_id = 3;
    o.cipher = "CHACHA20-POLY1305";
    o.cc_exit = true;
    o.tls_ekm = true;
    const std::string s = build_push_reply(o);
    EXPECT_EQ(s,
              "PUSH_REPLY,route-gateway 10.77.0.1,ping 10,ping-restart 60,ifconfig 10.77.0.100 255.255.255.0,"
              "peer-id 3,cipher CHACHA20-POLY1305,protocol-flags cc-exit tls-ekm");
    PushReplyAssembler a;
    ASSERT_EQ(a.feed(classify_control_message(s).args), PushReplyAssembler::Status::complete);
    EXPECT_EQ(a.options().peer_id, 3u);
    EXPECT_TRUE(a.options().tls_ekm);
}

}  // namespace
}  // namespace wirebridge::proto
