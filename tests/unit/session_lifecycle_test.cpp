// Session lifecycle in memory: renegotiation and lame duck, keepalive, exit notification, restart.
#include <gtest/gtest.h>

#include "proto/constants.hpp"
#include "proto/keepalive.hpp"
#include "session_test_util.hpp"

namespace wirebridge::session::test {
namespace {

std::unique_ptr<Session> make(SessionConfig c) {
    auto s = Session::create(std::move(c), kT0);
    EXPECT_TRUE(s) << (s ? "" : s.error().message);
    return s ? std::move(*s) : nullptr;
}

std::unique_ptr<Link> up(SessionConfig cc, SessionConfig sc, Noise noise = {}, uint64_t seed = 7) {
    auto link = std::make_unique<Link>(make(std::move(cc)), make(std::move(sc)), noise, seed);
    link->client().start(kT0);
    EXPECT_TRUE(link->run_until([&] { return link->client().established() && link->server().established(); }, 60000));
    return link;
}

size_t count(const std::vector<Event>& evs, EventType t) {
    size_t n = 0;
    for (const auto& e : evs) n += e.type == t;
    return n;
}

TEST(Renegotiation, ByTimeFromTheClientKeepsTrafficFlowing) {
    for (WrapMode wrap : {WrapMode::tls_auth, WrapMode::tls_crypt}) {
        SessionConfig cc = make_config(Role::client, wrap);
        cc.reneg_seconds = 60;
        SessionConfig sc = make_config(Role::server, wrap);
        sc.reneg_seconds = 0;
        sc.tran_window_s = 30;
        auto link = up(std::move(cc), std::move(sc));
        // Frames keep flowing across three renegotiations (key_id 1, 2, 3).
        for (int round = 0; round < 3 * 6; ++round) {
            ASSERT_TRUE(link->send_frame(true, std::vector<uint8_t>(100, uint8_t(round))));
            ASSERT_TRUE(link->send_frame(false, std::vector<uint8_t>(100, uint8_t(round))));
            link->advance(11000);
        }
        EXPECT_EQ(link->server_frames().size(), 18u);
        EXPECT_EQ(link->client_frames().size(), 18u);
        ASSERT_TRUE(link->client().primary_key_id());
        EXPECT_EQ(*link->client().primary_key_id(), 3);
        EXPECT_EQ(*link->server().primary_key_id(), 3);
        EXPECT_GE(count(link->client_events(), EventType::keys_primary), 4u);
        EXPECT_GE(count(link->server_events(), EventType::keys_retired), 2u);
        EXPECT_FALSE(link->client().gone());
        EXPECT_EQ(link->server().counters().total_drops(), 0u);
    }
}

TEST(Renegotiation, ServerInitiatedByBytesOverNoisyWire) {
    SessionConfig cc = make_config(Role::client, WrapMode::tls_crypt);
    cc.reneg_seconds = 0;
    SessionConfig sc = make_config(Role::server, WrapMode::tls_crypt);
    sc.reneg_seconds = 0;
    sc.reneg_bytes = 5000;
    auto link = up(std::move(cc), std::move(sc), Noise{50, 30, 80, 10}, 3);
    for (int i = 0; i < 120; ++i) {
        link->send_frame(false, std::vector<uint8_t>(100, 1));
        link->advance(500);
    }
    ASSERT_TRUE(link->server().primary_key_id());
    EXPECT_GE(*link->server().primary_key_id(), 1);
    EXPECT_GE(link->server().counters().renegotiations, 1u);
    EXPECT_FALSE(link->client().gone());
    EXPECT_FALSE(link->server().gone());
    EXPECT_EQ(*link->client().primary_key_id(), *link->server().primary_key_id());
}

TEST(Renegotiation, KeyIdWrapsFrom7To1) {
    SessionConfig cc = make_config(Role::client, WrapMode::none);
    cc.reneg_seconds = 10;
    SessionConfig sc = make_config(Role::server, WrapMode::none);
    sc.reneg_seconds = 0;
    sc.ping_s = 0;
    sc.ping_restart_s = 0;
    auto link = up(std::move(cc), std::move(sc));
    std::vector<uint8_t> seen;
    for (int i = 0; i < 9; ++i) {
        link->advance(10500);
        seen.push_back(*link->client().primary_key_id());
    }
    EXPECT_EQ(seen, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 1, 2}));
}

TEST(Keepalive, PingsKeepTheLinkAliveAndSilenceEndsIt) {
    auto link = up(make_config(Role::client, WrapMode::tls_crypt), make_config(Role::server, WrapMode::tls_crypt));
    link->advance(200000);  // no user traffic: only pings (every 10 s) keep both sides alive
    EXPECT_FALSE(link->client().gone());
    EXPECT_FALSE(link->server().gone());
    size_t pings = 0;
    for (const auto& p : link->sent_by_client) pings += (p[0] >> 3) == 9;
    EXPECT_GE(pings, 19u);
    link->tap = [](bool from_client, std::vector<uint8_t>&) { return from_client; };  // server falls silent
    link->run_until([&] { return link->client().gone(); }, 70000);
    const Event* e = find_event(link->client_events(), EventType::peer_gone);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->error, SessionError::ping_timeout);
}

TEST(Exit, ClientExitOnControlChannelWithCcExit) {
    auto link = up(make_config(Role::client, WrapMode::tls_auth), make_config(Role::server, WrapMode::tls_auth));
    const TimeMs t0 = link->now();
    link->client().close(t0);
    link->run_until([&] { return link->server().gone() && link->client().gone(); }, 5000);
    EXPECT_LT(link->now() - t0, 500);  // finished on the ack, not on the 2 s fallback
    const Event* e = find_event(link->server_events(), EventType::peer_gone);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->error, SessionError::peer_exit);
    EXPECT_EQ(e->message, "EXIT");
    ASSERT_TRUE(link->client().gone());
    EXPECT_EQ(find_event(link->client_events(), EventType::peer_gone)->error, SessionError::local_exit);
}

TEST(Exit, ServerExitSendsRestart) {
    auto link = up(make_config(Role::client, WrapMode::none), make_config(Role::server, WrapMode::none));
    link->server().close(link->now());
    link->run_until([&] { return link->client().gone() && link->server().gone(); }, 5000);
    const Event* e = find_event(link->client_events(), EventType::peer_gone);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->error, SessionError::peer_exit);
    EXPECT_EQ(e->message, "RESTART");
    ASSERT_TRUE(link->server().gone());
}

TEST(Exit, WithoutCcExitTheClientSendsOccExit) {
    SessionConfig cc = make_config(Role::client, WrapMode::tls_crypt);
    cc.cc_exit = false;
    cc.exit_notify_count = 3;
    auto link = up(std::move(cc), make_config(Role::server, WrapMode::tls_crypt));
    EXPECT_FALSE(link->client().pushed().cc_exit);
    const size_t before = link->sent_by_client.size();
    link->client().close(link->now());
    link->run_until([&] { return link->client().gone(); }, 5000);
    link->advance(100);
    size_t data = 0;
    for (size_t i = before; i < link->sent_by_client.size(); ++i) data += (link->sent_by_client[i][0] >> 3) == 9;
    EXPECT_EQ(data, 3u);  // one OCC_EXIT a second, three times
    ASSERT_TRUE(link->server().gone());
    EXPECT_EQ(find_event(link->server_events(), EventType::peer_gone)->error, SessionError::peer_exit);
}

TEST(PushRequest, RepeatedEveryFiveSecondsUntilAnswered) {
    SessionConfig sc = make_config(Role::server, WrapMode::none);
    auto link = std::make_unique<Link>(make(make_config(Role::client, WrapMode::none)), make(std::move(sc)));
    link->client().start(kT0);
    // Drop every server packet that carries a PUSH_REPLY-sized record for a while: simplest is to
    // cut server->client traffic after the server is up, then restore it.
    link->run_until([&] { return link->server().established(); }, 10000);
    const size_t before = link->sent_by_client.size();
    link->tap = [](bool from_client, std::vector<uint8_t>&) { return from_client; };
    link->advance(12000);
    EXPECT_GE(link->sent_by_client.size(), before + 2);  // retransmits and a second PUSH_REQUEST
    link->tap = nullptr;
    ASSERT_TRUE(link->run_until([&] { return link->client().established(); }, 20000));
}

}  // namespace
}  // namespace wirebridge::session::test
