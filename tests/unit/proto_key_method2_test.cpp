// Key-method 2 codec and peer-info: round trips, 2.6's empty strings, truncation, limits.
#include <gtest/gtest.h>

#include "proto/key_method2.hpp"
#include "proto/peer_info.hpp"

namespace wirebridge::proto {
namespace {

KeyMethod2 sample(bool client) {
    KeyMethod2 km;
    km.tls_client = client;
    for (size_t i = 0; i < km.pre_master.size(); ++i) km.pre_master[i] = uint8_t(i);
    km.random1.fill(0xa1);
    km.random2.fill(0xb2);
    km.options = options_string(client, false);
    if (client) {
        km.username = "user";
        km.password = "pass";
        km.peer_info = "IV_PROTO=142\nIV_CIPHERS=AES-256-GCM\n";
    }
    return km;
}

TEST(KeyMethod2, ClientLayout) {
    const KeyMethod2 km = sample(true);
    const auto b = encode_key_method2(km);
    ASSERT_GT(b.size(), 4u + 1 + 48 + 64);
    EXPECT_EQ(b[0] | b[1] | b[2] | b[3], 0);
    EXPECT_EQ(b[4], 2);
    EXPECT_EQ(b[5], 0);       // pre_master starts right after the method byte
    EXPECT_EQ(b[5 + 48], 0xa1);
    const size_t opt = 5 + 48 + 64;
    EXPECT_EQ(size_t(b[opt] << 8 | b[opt + 1]), km.options.size() + 1);
    EXPECT_EQ(b[opt + 2 + km.options.size()], 0);  // NUL counted in the length
    KeyMethod2 back;
    ASSERT_EQ(parse_key_method2(b, true, back), Drop::none);
    EXPECT_EQ(back.pre_master, km.pre_master);
    EXPECT_EQ(back.random2, km.random2);
    EXPECT_EQ(back.options, km.options);
    EXPECT_EQ(back.username, "user");
    EXPECT_EQ(back.password, "pass");
    EXPECT_EQ(PeerInfo::parse(back.peer_info).iv_proto(), 142u);
}

TEST(KeyMethod2, ServerHasNoPreMasterAndEmptyStrings) {
    const KeyMethod2 km = sample(false);
    const auto b = encode_key_method2(km);
    EXPECT_EQ(b.size(), 4u + 1 + 64 + 2 + km.options.size() + 1 + 2 + 2 + 2);
    KeyMethod2 back;
    ASSERT_EQ(parse_key_method2(b, false, back), Drop::none);
    EXPECT_EQ(back.options, km.options);
    EXPECT_TRUE(back.username.empty());
    EXPECT_TRUE(back.peer_info.empty());
    // Fields after the options string may be absent altogether.
    std::vector<uint8_t> cut(b.begin(), b.end() - 6);
    EXPECT_EQ(parse_key_method2(cut, false, back), Drop::none);
}

TEST(KeyMethod2, RefusesBadInput) {
    const auto b = encode_key_method2(sample(true));
    KeyMethod2 km;
    for (size_t n = 0; n < 5 + 48 + 64 + 2; ++n)
        EXPECT_NE(parse_key_method2(std::span(b.data(), n), true, km), Drop::none) << n;
    auto bad = b;
    bad[4] = 1;  // key-method 1
    EXPECT_EQ(parse_key_method2(bad, true, km), Drop::bad_message);
    bad = b;
    bad[3] = 1;  // non-zero literal
    EXPECT_EQ(parse_key_method2(bad, true, km), Drop::bad_message);
    bad = b;
    bad[5 + 48 + 64] = 0x7f;  // options length beyond the buffer and the limit
    EXPECT_NE(parse_key_method2(bad, true, km), Drop::none);
}

TEST(PeerInfo, ParseBuildNegotiate) {
    const PeerInfo pi = PeerInfo::parse(
        "IV_VER=2.6.14\nIV_PLAT=linux\nIV_PROTO=990\nIV_CIPHERS=AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305\n"
        "garbage\n=x\nIV_LZO_STUB=1\n");
    EXPECT_EQ(pi.iv_proto(), 990u);
    EXPECT_TRUE(pi.iv_proto() & iv_proto_tls_key_export);
    EXPECT_TRUE(pi.iv_proto() & iv_proto_cc_exit_notify);
    const auto c = pi.ciphers();
    ASSERT_EQ(c.size(), 3u);
    EXPECT_EQ(c[2], "CHACHA20-POLY1305");
    EXPECT_EQ(negotiate_cipher({"CHACHA20-POLY1305", "AES-256-GCM"}, c), "CHACHA20-POLY1305");
    EXPECT_EQ(negotiate_cipher({"aes-128-gcm"}, c), "aes-128-gcm");
    EXPECT_EQ(negotiate_cipher({"AES-256-CBC"}, c), "");
    const PeerInfo mine = PeerInfo::for_pull_client({"AES-256-GCM", "CHACHA20-POLY1305"}, "wirebridge-0.1");
    EXPECT_EQ(mine.iv_proto(), 2u | 4 | 8 | 128);
    const PeerInfo again = PeerInfo::parse(mine.serialize());
    EXPECT_EQ(again.ciphers(), (std::vector<std::string>{"AES-256-GCM", "CHACHA20-POLY1305"}));
    EXPECT_EQ(PeerInfo::parse("IV_PROTO=12x\n").iv_proto(), 0u);
}

}  // namespace
}  // namespace wirebridge::proto

using wirebridge::proto::choose_server_cipher;
using wirebridge::proto::options_string_cipher;
using wirebridge::proto::PeerInfo;

TEST(PeerInfo, WhatA24ClientSupports) {
    // OpenVPN 2.6's server view: IV_CIPHERS wins; IV_NCP=2 alone means the two GCM ciphers; an
    // older client is known only by the cipher in its options string.
    EXPECT_EQ(PeerInfo::parse("IV_NCP=2\nIV_CIPHERS=AES-256-CBC\n").ncp_ciphers(), std::vector<std::string>{"AES-256-CBC"});
    EXPECT_EQ(PeerInfo::parse("IV_VER=2.4.12\nIV_NCP=2\n").ncp_ciphers(), (std::vector<std::string>{"AES-256-GCM", "AES-128-GCM"}));
    EXPECT_TRUE(PeerInfo::parse("IV_VER=2.3.18\n").ncp_ciphers().empty());
    EXPECT_EQ(options_string_cipher("V4,dev-type tap,link-mtu 1602,tun-mtu 1500,proto UDPv4,cipher AES-256-CBC,auth SHA256,"
                                    "keysize 256,key-method 2,tls-client"),
              "AES-256-CBC");
    EXPECT_EQ(options_string_cipher("V4,dev-type tap,tls-client"), "");
}

TEST(PeerInfo, ServerChoosesAs26) {
    const std::vector<std::string> ours{"AES-256-GCM", "AES-256-CBC"};
    // A 2.6 client: IV_CIPHERS only, its options' cipher ignored.
    EXPECT_EQ(choose_server_cipher(ours, PeerInfo::parse("IV_CIPHERS=AES-256-CBC\n"), "AES-256-GCM", ""), "AES-256-CBC");
    EXPECT_EQ(choose_server_cipher(ours, PeerInfo::parse("IV_CIPHERS=CHACHA20-POLY1305\n"), "AES-256-CBC", "AES-256-CBC"), "");
    // A 2.4 client (IV_NCP=2, no IV_CIPHERS, `cipher AES-256-CBC`): GCM first, as 2.6 pushes it.
    EXPECT_EQ(choose_server_cipher(ours, PeerInfo::parse("IV_NCP=2\n"), "AES-256-CBC", ""), "AES-256-GCM");
    // A 2.4 client against a CBC-only server: its options' cipher.
    EXPECT_EQ(choose_server_cipher({"AES-256-CBC"}, PeerInfo::parse("IV_NCP=2\n"), "AES-256-CBC", ""), "AES-256-CBC");
    // A 2.3 client (no NCP): only its options' cipher; a cipher we do not list is no match, and
    // the fallback is not used for a client that said what it runs.
    EXPECT_EQ(choose_server_cipher(ours, PeerInfo::parse("IV_VER=2.3.18\n"), "AES-256-CBC", ""), "AES-256-CBC");
    EXPECT_EQ(choose_server_cipher(ours, PeerInfo::parse("IV_VER=2.3.18\n"), "BF-CBC", "AES-128-CBC"), "");
    // Nothing announced at all: --data-ciphers-fallback, or nothing.
    EXPECT_EQ(choose_server_cipher(ours, PeerInfo::parse(""), "", "AES-128-CBC"), "AES-128-CBC");
    EXPECT_EQ(choose_server_cipher(ours, PeerInfo::parse(""), "", ""), "");
}
