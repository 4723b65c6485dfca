// Peer limits: PUSH_REQUEST and SOFT_RESET storms from an authenticated peer are refused beyond
// their budget and counted; a client reacts to a refusal (ICMP port unreachable) sooner than
// ping-restart, but not to refusals while its server still speaks.
#include <gtest/gtest.h>

#include "session/peer_limits.hpp"
#include "session_test_util.hpp"

namespace wirebridge::session::test {
namespace {

std::unique_ptr<Link> up(const std::function<void(SessionConfig&)>& tweak_client = {}) {
    SessionConfig cc = make_config(Role::client, WrapMode::tls_crypt);
    if (tweak_client) tweak_client(cc);
    auto c = Session::create(std::move(cc), kT0);
    auto s = Session::create(make_config(Role::server, WrapMode::tls_crypt), kT0);
    EXPECT_TRUE(c && s);
    auto link = std::make_unique<Link>(std::move(c.value()), std::move(s.value()));
    link->client().start(kT0);
    EXPECT_TRUE(link->run_until([&] { return link->client().established() && link->server().established(); }, 10000));
    return link;
}

TEST(PeriodBucket, BurstThenOneAPeriod) {
    PeriodBucket b(2000, 3);
    int taken = 0;
    for (int i = 0; i < 10; ++i) taken += b.take(kT0);
    EXPECT_EQ(taken, 3);
    EXPECT_FALSE(b.take(kT0 + 1999));
    EXPECT_TRUE(b.take(kT0 + 2000));
    EXPECT_FALSE(b.take(kT0 + 2001));
    // A long pause refills the burst, never more.
    taken = 0;
    for (int i = 0; i < 10; ++i) taken += b.take(kT0 + 60000);
    EXPECT_EQ(taken, 3);
    PeriodBucket unlimited(0, 0);
    for (int i = 0; i < 100; ++i) EXPECT_TRUE(unlimited.take(kT0));
}

TEST(PeerLimits, PushRequestStormIsAnsweredWithinItsBudget) {
    auto link = up();
    const size_t replies_before = link->sent_by_server.size();
    // 200 PUSH_REQUESTs over 2 s: the first few are answered (burst 3, then one per 5 s).
    for (int i = 0; i < 200; ++i) {
        link->client().send_control_message("PUSH_REQUEST", link->now());
        link->advance(10);
    }
    link->advance(3000);
    const SessionCounters& k = link->server().counters();
    EXPECT_GE(k.push_requests_limited, 195u);
    EXPECT_LE(k.push_requests_limited, 198u);  // the client's own first PUSH_REQUEST took a token too
    EXPECT_FALSE(link->server().gone());
    EXPECT_FALSE(link->client().gone());
    // The server's control output stayed small: acks, and a handful of replies.
    EXPECT_LT(link->sent_by_server.size() - replies_before, 260u);
    // Frames still cross.
    ASSERT_TRUE(link->send_frame(true, std::vector<uint8_t>(60, 3)));
    link->advance(100);
    EXPECT_FALSE(link->server_frames().empty());
}

TEST(PeerLimits, SoftResetStormIsRefusedBeyondItsBudget) {
    auto link = up();
    const uint64_t handshakes_before = link->server().counters().handshakes;
    // The client starts a renegotiation whenever it has none under way, for 6 s.
    const TimeMs start = link->now();
    while (link->now() < start + 6000) {
        link->client().renegotiate(link->now());
        link->advance(50);
    }
    const SessionCounters& k = link->server().counters();
    const uint64_t done = k.handshakes - handshakes_before;
    EXPECT_GE(done, 4u);
    EXPECT_LE(done, 4u + 6000 / 2000 + 1);  // burst 4, then one every 2 s
    EXPECT_GE(k.soft_resets_limited, 1u);
    EXPECT_FALSE(link->server().gone());
    ASSERT_TRUE(link->send_frame(true, std::vector<uint8_t>(60, 4)));
    link->advance(100);
    EXPECT_FALSE(link->server_frames().empty());
}

TEST(PeerLimits, ARunOfRefusalsEndsTheClientSessionSoonerThanPingRestart) {
    auto link = up();
    Session& c = link->client();
    ASSERT_EQ(c.counters().errors[static_cast<size_t>(SessionError::ping_timeout)], 0u);
    // The server's process is gone: nothing more reaches the client, its sends are refused.
    link->tap = [](bool, std::vector<uint8_t>&) { return false; };
    const TimeMs dead = link->now();
    uint64_t refused = 100;  // refusals of earlier sessions of this run do not count
    c.note_refusals(refused);
    link->run_until([&] {
        c.note_refusals(++refused);
        return c.gone();
    }, 60000);
    ASSERT_TRUE(c.gone());
    // Pushed keepalive 10/60: ping-restart would take 60 s; twice the ping interval + 1 s here.
    EXPECT_LE(link->now() - dead, 21000 + 100);
    EXPECT_GE(link->now() - dead, 20000);
    EXPECT_EQ(c.counters().errors[static_cast<size_t>(SessionError::ping_timeout)], 1u);
}

// An idle client (it pings every 10 s) whose server crashes and is started again `down_ms` after
// the client's first send into the down time: that one send is refused, and the restarted server
// drops what comes after silently (it knows no such peer). One refusal is enough: the session
// ends at the refusal rule's time (2 x 10 + 1 s after the last packet heard), not ping-restart
// (60 s). A server back 50 ms after that send: the probe ping the client used to send 100 ms
// after a first refusal (to meet a run of two) reached the restarted server, and a run of one
// ended nothing (one of the two ways stress hub_kill's idle site waited its keepalive timeout).
void idle_client_after_a_crash(TimeMs down_ms) {
    auto link = up();
    Session& c = link->client();
    link->advance(1000);  // the server's ping and the client's fall at different times
    uint64_t refused = 7;
    c.note_refusals(refused);
    TimeMs down_until = proto::kNever;
    std::vector<TimeMs> refused_at;
    link->tap = [&](bool from_client, std::vector<uint8_t>&) {
        if (from_client && down_until == proto::kNever) down_until = link->now() + down_ms;
        if (from_client && link->now() <= down_until) {
            ++refused;  // ICMP port unreachable (the runner's counter, woken at once)
            refused_at.push_back(link->now());
        }
        return false;  // down, then a restarted server that drops an unknown peer's packets
    };
    const TimeMs heard = link->now();  // nothing arrives from here on
    const size_t sent_before = link->sent_by_client.size();
    ASSERT_TRUE(link->run_until([&] {
        c.note_refusals(refused);
        return c.gone();
    }, 70000));
    EXPECT_EQ(refused_at.size(), 1u);
    EXPECT_EQ(c.counters().refusals, 1u);
    EXPECT_EQ(c.counters().errors[static_cast<size_t>(SessionError::ping_timeout)], 1u);
    EXPECT_LE(link->now() - heard, 21000 + 100) << "the server back " << down_ms << " ms after the refused send";
    // Not a flood: the pings of 21 s, two or three.
    EXPECT_LE(link->sent_by_client.size() - sent_before, 3u);
}

TEST(PeerLimits, OneRefusalEndsTheIdleClientSessionWhenTheServerIsDownTwoSeconds) {
    idle_client_after_a_crash(2000);
}

TEST(PeerLimits, OneRefusalEndsTheIdleClientSessionWhenTheServerIsBackRightAfterIt) {
    idle_client_after_a_crash(50);
    idle_client_after_a_crash(0);
}

// The data path tells the session of its sends late (the runner syncs once a second): the next
// ping is still due a ping interval after the send itself, and a report older than the session's
// own last send moves nothing. Else an idle site's datagrams could be up to a second further apart
// than its ping interval, and miss a crashed hub's down time of one ping interval (hub_kill).
TEST(PeerLimits, TheNextPingIsDueAPingIntervalAfterTheDataPathsSend) {
    auto link = up();
    Session& c = link->client();
    std::vector<TimeMs> sent_at;
    link->tap = [&](bool from_client, std::vector<uint8_t>&) {
        if (from_client) sent_at.push_back(link->now());
        return true;
    };
    ASSERT_TRUE(link->run_until([&] { return !sent_at.empty(); }, 11000));  // a ping: 10 s to the next
    const TimeMs ping = sent_at.back();
    link->advance(2000);
    const TimeMs frame = link->now();  // the data path sends a frame now...
    link->advance(900);
    c.note_data_sent(100, frame);      // ...and the runner says so at its next sync
    c.note_data_sent(100, ping - 1);   // a report older than what the session knows
    sent_at.clear();
    ASSERT_TRUE(link->run_until([&] { return !sent_at.empty(); }, 11000));
    EXPECT_EQ(sent_at.front(), frame + 10000);
}

// Without the rule (refused_restart_after 0) the same idle client waits for ping-restart.
TEST(PeerLimits, WithoutTheRefusalRuleTheIdleClientWaitsForPingRestart) {
    auto link = up([](SessionConfig& cc) { cc.refused_restart_after = 0; });
    Session& c = link->client();
    uint64_t refused = 0;
    c.note_refusals(refused);
    link->tap = [&](bool from_client, std::vector<uint8_t>&) {
        if (from_client) ++refused;
        return false;
    };
    const TimeMs dead = link->now();
    ASSERT_TRUE(link->run_until([&] {
        c.note_refusals(refused);
        return c.gone();
    }, 70000));
    EXPECT_GE(link->now() - dead, 45000);  // 60 s from the last packet heard (the server pings every 10 s)
    EXPECT_GE(c.counters().refusals, 4u);
}

// A refusal counts only until the next authentic packet: one noted before the server's ping, then
// a path that loses everything (no refusal since): ping-restart decides, not the refusal rule.
TEST(PeerLimits, ARefusalBeforeAnAuthenticPacketEndsNothing) {
    auto link = up();
    Session& c = link->client();
    uint64_t refused = 3;
    c.note_refusals(refused);
    c.note_refusals(++refused);  // forged, or the server's socket was closed for a moment
    const TimeMs heard_before = c.last_received();
    ASSERT_TRUE(link->run_until([&] {
        c.note_refusals(refused);
        return c.last_received() != heard_before;
    }, 15000));
    link->tap = [](bool, std::vector<uint8_t>&) { return false; };  // loss both ways, no ICMP
    const TimeMs heard = c.last_received();
    ASSERT_TRUE(link->run_until([&] {
        c.note_refusals(refused);
        return c.gone();
    }, 70000));
    EXPECT_GE(link->now() - heard, 60000);
    EXPECT_EQ(c.counters().refusals, 1u);
}

TEST(PeerLimits, RefusalsWhileTheServerSpeaksEndNothing) {
    auto link = up();
    Session& c = link->client();
    const size_t sent_before = link->sent_by_client.size();
    // Forged ICMP errors, 10 a second for 60 s, while the server's pings arrive.
    uint64_t refused = 0;
    const TimeMs start = link->now();
    while (link->now() < start + 60000) {
        refused += 1;
        c.note_refusals(refused);
        link->advance(100);
    }
    EXPECT_FALSE(c.gone());
    EXPECT_EQ(c.counters().refusals, refused - 1);  // the first note is the baseline
    // They make the client send nothing: its pings every 10 s, no more.
    EXPECT_LE(link->sent_by_client.size() - sent_before, 60000u / 10000 + 1);
}

}  // namespace
}  // namespace wirebridge::session::test
