// Client and server sessions in memory: handshake, push, data both ways, for every wrap and cipher,
// over a clean and a noisy wire.
#include <gtest/gtest.h>

#include "proto/constants.hpp"
#include "session_test_util.hpp"

namespace wirebridge::session::test {
namespace {

std::unique_ptr<Session> make(SessionConfig c) {
    auto s = Session::create(std::move(c), kT0);
    EXPECT_TRUE(s) << (s ? "" : s.error().message);
    return s ? std::move(*s) : nullptr;
}

std::unique_ptr<Link> connect(WrapMode wrap, std::vector<std::string> client_ciphers,
                              std::vector<std::string> server_ciphers, Noise noise = {}, uint64_t seed = 1) {
    auto link = std::make_unique<Link>(make(make_config(Role::client, wrap, std::move(client_ciphers))),
                                       make(make_config(Role::server, wrap, std::move(server_ciphers))), noise, seed);
    link->client().start(kT0);
    return link;
}

bool both_up(Link& l) { return l.client().established() && l.server().established(); }

void exchange_frames(Link& l, int n) {
    for (int i = 0; i < n; ++i) {
        std::vector<uint8_t> f(60 + i, static_cast<uint8_t>(i));
        ASSERT_TRUE(l.send_frame(true, f));
        ASSERT_TRUE(l.send_frame(false, f));
    }
}

struct Case {
    WrapMode wrap;
    const char* cipher;
};

class Handshake : public ::testing::TestWithParam<Case> {};

TEST_P(Handshake, CleanWire) {
    const Case c = GetParam();
    auto link = connect(c.wrap, {"AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"}, {c.cipher, "AES-256-GCM"});
    ASSERT_TRUE(link->run_until([&] { return both_up(*link); }, 10000));
    const Event* up = find_event(link->client_events(), EventType::tunnel_up);
    ASSERT_NE(up, nullptr);
    EXPECT_EQ(up->pushed.cipher, c.cipher);
    EXPECT_EQ(up->pushed.peer_id, 7u);
    EXPECT_TRUE(up->pushed.tls_ekm);
    EXPECT_TRUE(up->pushed.cc_exit);
    EXPECT_EQ(up->pushed.ifconfig_local, "10.200.0.2");
    EXPECT_EQ(link->client().cipher_name(), c.cipher);
    EXPECT_EQ(link->server().cipher_name(), c.cipher);
    // Both sides derived the same keys, mirrored.
    auto ck = link->client().export_keys(0);
    auto sk = link->server().export_keys(0);
    ASSERT_TRUE(ck && sk);
    EXPECT_EQ(ck->peer_id, 7u);
    EXPECT_TRUE(std::equal(ck->send.key.span().begin(), ck->send.key.span().end(), sk->recv.key.span().begin(),
                           sk->recv.key.span().end()));
    EXPECT_EQ(ck->recv.implicit_iv.span()[0], sk->send.implicit_iv.span()[0]);
    exchange_frames(*link, 5);
    link->advance(100);
    ASSERT_EQ(link->server_frames().size(), 5u);
    ASSERT_EQ(link->client_frames().size(), 5u);
    EXPECT_EQ(link->server_frames()[3], std::vector<uint8_t>(63, 3));
    // The first data packet uses DATA_V2 with the pushed peer-id.
    size_t data_packets = 0;
    for (const auto& p : link->sent_by_client) {
        if ((p[0] >> 3) != 9) continue;
        ++data_packets;
        EXPECT_EQ(p[1] << 16 | p[2] << 8 | p[3], 7);
    }
    EXPECT_GE(data_packets, 5u);
    EXPECT_EQ(link->client().counters().total_drops(), 0u);
    EXPECT_EQ(link->server().counters().total_drops(), 0u);
    // Every control packet fits in tls-mtu.
    for (const auto& p : link->sent_by_server) EXPECT_LE(p.size(), proto::kDefaultTlsMtu);
}

INSTANTIATE_TEST_SUITE_P(WrapsAndCiphers, Handshake,
                         ::testing::Values(Case{WrapMode::none, "AES-256-GCM"}, Case{WrapMode::tls_auth, "AES-128-GCM"},
                                           Case{WrapMode::tls_crypt, "CHACHA20-POLY1305"},
                                           Case{WrapMode::tls_crypt, "AES-256-GCM"},
                                           Case{WrapMode::tls_auth, "CHACHA20-POLY1305"},
                                           Case{WrapMode::none, "AES-128-GCM"}));

TEST(HandshakeWire, FirstPacketLayouts) {
    for (auto [wrap, len] : {std::pair{WrapMode::none, 14u}, std::pair{WrapMode::tls_auth, 42u},
                             std::pair{WrapMode::tls_crypt, 54u}}) {
        auto link = connect(wrap, {"AES-256-GCM"}, {"AES-256-GCM"});
        link->advance(1);
        ASSERT_FALSE(link->sent_by_client.empty());
        const auto& reset = link->sent_by_client.front();
        EXPECT_EQ(reset.size(), len);  // openvpn 2.6.14: 14 / 42 (SHA1) / 54 bytes
        EXPECT_EQ(reset[0], 0x38);
    }
}

TEST(HandshakeWire, NoisyWireStillConnects) {
    for (WrapMode wrap : {WrapMode::none, WrapMode::tls_auth, WrapMode::tls_crypt}) {
        for (uint64_t seed = 1; seed <= 3; ++seed) {
            Noise n{100, 60, 120, 30};  // 10% drop, 6% dup, 12% reorder, 3% corrupt
            auto link = connect(wrap, {"AES-256-GCM"}, {"AES-256-GCM"}, n, seed);
            ASSERT_TRUE(link->run_until([&] { return both_up(*link); }, 55000))
                << "wrap " << int(wrap) << " seed " << seed;
            EXPECT_FALSE(link->client().gone());
            EXPECT_FALSE(link->server().gone());
        }
    }
}

TEST(HandshakeWire, WithoutEkmBothSidesUseThePrf) {
    SessionConfig cc = make_config(Role::client, WrapMode::tls_auth);
    cc.tls_ekm = false;
    Link link(Session::create(std::move(cc), kT0).value(), Session::create(make_config(Role::server, WrapMode::tls_auth), kT0).value());
    link.client().start(kT0);
    ASSERT_TRUE(link.run_until([&] { return both_up(link); }, 10000));
    EXPECT_FALSE(link.client().pushed().tls_ekm);
    ASSERT_TRUE(link.send_frame(true, std::vector<uint8_t>(70, 9)));
    link.advance(50);
    ASSERT_EQ(link.server_frames().size(), 1u);
    // PRF and EKM give different keys for the same handshake; the PRF keys still match across sides.
    auto ck = link.client().export_keys(0);
    auto sk = link.server().export_keys(0);
    ASSERT_TRUE(ck && sk);
    EXPECT_TRUE(std::equal(ck->recv.key.span().begin(), ck->recv.key.span().end(), sk->send.key.span().begin(),
                           sk->send.key.span().end()));
}

TEST(HandshakeWire, NoCommonCipherFailsTheServer) {
    auto link = connect(WrapMode::none, {"CHACHA20-POLY1305"}, {"AES-256-GCM"});
    link->run_until([&] { return link->server().gone(); }, 10000);
    ASSERT_TRUE(link->server().gone());
    const Event* e = find_event(link->server_events(), EventType::peer_gone);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->error, SessionError::no_common_cipher);
    // The client is told why (AUTH_FAILED, as an OpenVPN server sends it), not left to time out.
    link->run_until([&] { return link->client().gone(); }, 10000);
    ASSERT_TRUE(link->client().gone());
    const Event* c = find_event(link->client_events(), EventType::peer_gone);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->error, SessionError::auth_failed);
    EXPECT_NE(c->message.find("no shared cipher"), std::string::npos) << c->message;
}

TEST(HandshakeWire, CbcCipherNegotiatedAndCarriesFrames) {
    // The server prefers GCM but the client offers only AES-256-CBC (as `data-ciphers
    // AES-256-CBC` + `auth SHA256`): CBC + HMAC keys on both sides, frames cross both ways, and the
    // MSS limit counts HMAC, IV and padding.
    SessionConfig cc = make_config(Role::client, WrapMode::tls_crypt, {"AES-256-CBC"});
    cc.auth = crypto::Digest::Sha256;
    SessionConfig sc = make_config(Role::server, WrapMode::tls_crypt, {"AES-256-GCM", "AES-256-CBC"});
    sc.auth = crypto::Digest::Sha256;
    Link link(make(std::move(cc)), make(std::move(sc)));
    link.client().start(kT0);
    ASSERT_TRUE(link.run_until([&] { return both_up(link); }, 10000));
    EXPECT_EQ(link.client().cipher_name(), "AES-256-CBC with SHA256");
    EXPECT_EQ(link.server().cipher_name(), "AES-256-CBC with SHA256");
    auto ck = link.client().export_keys(0);
    auto sk = link.server().export_keys(0);
    ASSERT_TRUE(ck && sk && ck->cbc && sk->cbc);
    EXPECT_EQ(ck->cbc->digest, crypto::Digest::Sha256);
    EXPECT_EQ(ck->send_hmac.size(), 32u);
    EXPECT_EQ(ck->mss_limit, 1331);
    ASSERT_TRUE(link.send_frame(true, std::vector<uint8_t>(1514, 3)));
    // HMAC (32) + IV (16) + CBC(id + 1514 + padding) after the 4-byte header.
    EXPECT_EQ(link.sent_by_client.back().size(), 4u + 32u + 16u + 1520u);
    ASSERT_TRUE(link.send_frame(false, std::vector<uint8_t>(60, 4)));
    link.advance(50);
    ASSERT_EQ(link.server_frames().size(), 1u);
    EXPECT_EQ(link.server_frames()[0], std::vector<uint8_t>(1514, 3));
    ASSERT_EQ(link.client_frames().size(), 1u);
    EXPECT_EQ(link.client_frames()[0], std::vector<uint8_t>(60, 4));
}

TEST(HandshakeWire, AuthMismatchWithCbcCarriesNothing) {
    // OpenVPN does not negotiate `auth`: with different digests the HMAC never verifies.
    SessionConfig cc = make_config(Role::client, WrapMode::none, {"AES-128-CBC"});
    cc.auth = crypto::Digest::Sha512;
    SessionConfig sc = make_config(Role::server, WrapMode::none, {"AES-128-CBC"});
    Link link(make(std::move(cc)), make(std::move(sc)));
    link.client().start(kT0);
    ASSERT_TRUE(link.run_until([&] { return both_up(link); }, 10000));
    ASSERT_TRUE(link.send_frame(true, std::vector<uint8_t>(100, 1)));
    link.advance(50);
    EXPECT_TRUE(link.server_frames().empty());
}

TEST(HandshakeWire, ServerPushesItsCompressionFraming) {
    // The server pushes the stub of its framing; the client takes it over its own setting, and
    // both export keys with the same framing for the data path.
    SessionConfig cc = make_config(Role::client, WrapMode::none);
    cc.compression = proto::CompressionFraming::comp_lzo;
    SessionConfig sc = make_config(Role::server, WrapMode::none);
    sc.compression = proto::CompressionFraming::compress_v2;
    Link link(make(std::move(cc)), make(std::move(sc)));
    link.client().start(kT0);
    ASSERT_TRUE(link.run_until([&] { return both_up(link); }, 10000));
    const Event* up = find_event(link.client_events(), EventType::tunnel_up);
    ASSERT_NE(up, nullptr);
    EXPECT_EQ(up->pushed.compression, proto::CompressionFraming::compress_v2);
    EXPECT_EQ(link.client().compression(), proto::CompressionFraming::compress_v2);
    auto ck = link.client().export_keys(0);
    auto sk = link.server().export_keys(0);
    ASSERT_TRUE(ck && sk);
    EXPECT_EQ(ck->compression, proto::CompressionFraming::compress_v2);
    EXPECT_EQ(sk->compression, proto::CompressionFraming::compress_v2);
}

TEST(HandshakeWire, WrongWrapKeyNeverConnects) {
    SessionConfig cc = make_config(Role::client, WrapMode::tls_crypt);
    cc.wrap.key = crypto::StaticKey::generate();
    Link link(make(std::move(cc)), make(make_config(Role::server, WrapMode::tls_crypt)));
    link.client().start(kT0);
    link.advance(5000);
    EXPECT_FALSE(link.server().established());
    EXPECT_GT(link.server().counters().dropped(proto::Drop::auth_failed), 0u);
}

TEST(HandshakeWire, UntrustedCertificateIsRefused) {
    SessionConfig cc = make_config(Role::client, WrapMode::none);
    cc.tls = tls_context(Role::client, /*rogue=*/true);
    Link link(make(std::move(cc)), make(make_config(Role::server, WrapMode::none)));
    link.client().start(kT0);
    link.run_until([&] { return link.server().gone() || link.client().gone(); }, 10000);
    EXPECT_FALSE(link.server().established());
    const Event* e = find_event(link.server_events(), EventType::peer_gone);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->error, SessionError::tls_failed);
}

TEST(HandshakeWire, HandWindowTimeout) {
    auto link = connect(WrapMode::none, {"AES-256-GCM"}, {"AES-256-GCM"});
    link->tap = [](bool, std::vector<uint8_t>&) { return false; };  // the wire is cut
    link->run_until([&] { return link->client().gone(); }, 70000);
    const Event* e = find_event(link->client_events(), EventType::peer_gone);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->error, SessionError::handshake_timeout);
    // Retransmits backed off: far fewer than one every 2 s.
    EXPECT_LT(link->sent_by_client.size(), 10u);
    EXPECT_GE(link->sent_by_client.size(), 4u);
}

}  // namespace
}  // namespace wirebridge::session::test
