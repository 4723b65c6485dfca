// Replayed, tampered and truncated packets are refused and counted (data by the data channel the
// session's keys are installed in, control by the session); the session survives them.
#include <gtest/gtest.h>

#include "proto/constants.hpp"
#include "session_test_util.hpp"

namespace wirebridge::session::test {
namespace {

using proto::Drop;

std::unique_ptr<Link> up(WrapMode wrap) {
    auto c = Session::create(make_config(Role::client, wrap), kT0);
    auto s = Session::create(make_config(Role::server, wrap), kT0);
    EXPECT_TRUE(c && s);
    auto link = std::make_unique<Link>(std::move(c.value()), std::move(s.value()));
    link->client().start(kT0);
    EXPECT_TRUE(link->run_until([&] { return link->client().established() && link->server().established(); }, 10000));
    return link;
}

std::vector<uint8_t> data_packet(Link& l, uint8_t fill = 0x5a) {
    std::vector<uint8_t> pkt;
    EXPECT_TRUE(l.client().encrypt_frame(std::vector<uint8_t>(80, fill), pkt, l.now()));
    return pkt;
}

// The server's data path (the data channel its runner installs from the session's keys) opens a
// copy of `pkt`: the payload's length, or 0 and why not in `why`.
size_t open_at_server(Link& l, std::vector<uint8_t> pkt, datapath::DataDrop* why = nullptr) {
    std::span<uint8_t> payload;
    const datapath::DataDrop d = l.server_data().open(pkt, l.now() / 1000, payload);
    if (why) *why = d;
    return d == datapath::DataDrop::none ? payload.size() : 0;
}
uint64_t data_drops(Link& l, datapath::DataDrop d) { return l.server_data().counters().drops[static_cast<size_t>(d)]; }

// The session opens no data packet: one given to it is refused as no_keys (the data path had no
// key for it) and counted; its checks are the data channel's, with the keys the session made.
TEST(Security, TheSessionOpensNoData) {
    auto link = up(WrapMode::tls_crypt);
    Session& srv = link->server();
    auto pkt = data_packet(*link);
    auto copy = pkt;
    const uint64_t before = srv.counters().dropped(Drop::no_keys);
    EXPECT_EQ(srv.on_packet(copy, link->now()).drop, Drop::no_keys);
    EXPECT_EQ(srv.counters().dropped(Drop::no_keys), before + 1);
    EXPECT_EQ(open_at_server(*link, pkt), 80u);
}

TEST(Security, ReplayedDataPacketIsRefused) {
    auto link = up(WrapMode::tls_crypt);
    const auto pkt = data_packet(*link);
    EXPECT_EQ(open_at_server(*link, pkt), 80u);
    for (int i = 0; i < 3; ++i) {
        datapath::DataDrop why{};
        EXPECT_EQ(open_at_server(*link, pkt, &why), 0u);
        EXPECT_EQ(why, datapath::DataDrop::replay);
    }
    EXPECT_EQ(data_drops(*link, datapath::DataDrop::replay), 3u);
}

TEST(Security, EveryTamperedByteIsRefused) {
    auto link = up(WrapMode::tls_auth);
    const auto pkt = data_packet(*link);
    for (size_t i = 0; i < pkt.size(); ++i) {
        auto t = pkt;
        t[i] ^= 0x01;
        EXPECT_EQ(open_at_server(*link, t), 0u) << "byte " << i;
    }
    // The opcode/key_id byte fails on the key id, a packet id on the replay check, the rest (the
    // peer-id included: it is authenticated) on the AEAD tag.
    EXPECT_GE(data_drops(*link, datapath::DataDrop::auth_failed), pkt.size() - 4);
    // The untampered packet is still good: tampering did not advance the replay window.
    EXPECT_EQ(open_at_server(*link, pkt), 80u);
}

TEST(Security, EveryTruncationIsRefused) {
    auto link = up(WrapMode::none);
    const auto pkt = data_packet(*link);
    for (size_t n = 0; n < pkt.size(); ++n) {
        std::vector<uint8_t> t(pkt.begin(), pkt.begin() + static_cast<long>(n));
        EXPECT_EQ(open_at_server(*link, t), 0u) << n;
    }
    EXPECT_GT(data_drops(*link, datapath::DataDrop::truncated), 0u);
}

TEST(Security, WrongKeyIdAndPeerIdAreRefused) {
    auto link = up(WrapMode::none);
    auto pkt = data_packet(*link);
    auto k = pkt;
    k[0] = static_cast<uint8_t>((k[0] & 0xf8) | 5);
    datapath::DataDrop why{};
    EXPECT_EQ(open_at_server(*link, k, &why), 0u);
    EXPECT_EQ(why, datapath::DataDrop::no_key);
    auto p = pkt;
    p[3] ^= 0x10;  // the peer-id is authenticated data
    EXPECT_EQ(open_at_server(*link, p, &why), 0u);
    EXPECT_EQ(why, datapath::DataDrop::auth_failed);
    EXPECT_EQ(open_at_server(*link, pkt), 80u);
}

TEST(Security, ControlPacketsReplayedTamperedOrForeignAreRefused) {
    for (WrapMode wrap : {WrapMode::tls_auth, WrapMode::tls_crypt}) {
        auto link = up(wrap);
        Session& srv = link->server();
        // The client's control packets as they went out; the first is the reset.
        ASSERT_GE(link->sent_by_client.size(), 3u);
        const auto ctrl = link->sent_by_client[1];
        auto r = ctrl;
        EXPECT_EQ(srv.on_packet(r, link->now()).drop, Drop::replay);
        for (size_t i = 0; i < ctrl.size(); i += 7) {
            auto t = ctrl;
            t[i] ^= 0x80;
            EXPECT_NE(srv.on_packet(t, link->now()).drop, Drop::none) << i;
        }
        for (size_t n = 0; n < std::min<size_t>(ctrl.size(), 80); ++n) {
            std::vector<uint8_t> t(ctrl.begin(), ctrl.begin() + static_cast<long>(n));
            EXPECT_NE(srv.on_packet(t, link->now()).drop, Drop::none) << n;
        }
        EXPECT_GE(srv.counters().dropped(Drop::auth_failed) + srv.counters().dropped(Drop::truncated), 20u);
        EXPECT_FALSE(srv.gone());
        // Still working afterwards.
        EXPECT_EQ(open_at_server(*link, data_packet(*link)), 80u);
    }
}

TEST(Security, ForeignSessionIdIsRefused) {
    auto link = up(WrapMode::none);
    Session& srv = link->server();
    auto ctrl = link->sent_by_client[1];  // plain CONTROL_V1: sid at bytes 1..8
    ctrl[1] ^= 0xff;
    EXPECT_EQ(srv.on_packet(ctrl, link->now()).drop, Drop::bad_session_id);
    // A second client reset with another session id on an established session is not taken.
    auto reset = link->sent_by_client[0];
    reset[2] ^= 0xff;
    EXPECT_EQ(srv.on_packet(reset, link->now()).drop, Drop::bad_session_id);
    EXPECT_TRUE(srv.established());
}

TEST(Security, RandomMutationsNeverYieldFramesOrCrash) {
    auto link = up(WrapMode::tls_crypt);
    Session& srv = link->server();
    std::vector<std::vector<uint8_t>> seeds = link->sent_by_client;
    seeds.push_back(data_packet(*link));
    std::mt19937_64 rng(42);
    for (int i = 0; i < 3000; ++i) {
        auto p = seeds[rng() % seeds.size()];
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips && !p.empty(); ++f) p[rng() % p.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
        if (rng() % 4 == 0) p.resize(rng() % (p.size() + 1));
        // As the runner takes it: data to the data channel (which must open none), the rest to the session.
        if (proto::is_data_packet(p)) EXPECT_EQ(open_at_server(*link, p), 0u);
        else (void)srv.on_packet(p, link->now());
    }
    EXPECT_FALSE(srv.gone());
    EXPECT_EQ(open_at_server(*link, data_packet(*link)), 80u);
}

TEST(Security, DataBeforeKeysIsRefused) {
    auto c = Session::create(make_config(Role::client, WrapMode::none), kT0);
    ASSERT_TRUE(c);
    std::vector<uint8_t> pkt = {0x48, 0, 0, 0, 0, 0, 0, 1};
    pkt.resize(60, 0xaa);
    EXPECT_EQ((*c)->on_packet(pkt, kT0).drop, Drop::no_keys);
    std::vector<uint8_t> junk = {0xff, 1, 2};
    EXPECT_NE((*c)->on_packet(junk, kT0).drop, Drop::none);
    EXPECT_EQ((*c)->counters().total_drops(), 2u);
}

}  // namespace
}  // namespace wirebridge::session::test
