// ServerDispatcher: stateless cookie handshake, several clients, peer-ids, pool, restarts, TCP.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>

#include "session/server_dispatcher.hpp"
#include "session_test_util.hpp"

namespace wirebridge::session::test {
namespace {

PeerAddress addr(uint16_t port, const char* ip = "192.0.2.1") {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return PeerAddress::from(reinterpret_cast<sockaddr*>(&a), sizeof a);
}

struct Hub {
    std::unique_ptr<ServerDispatcher> server;
    std::vector<std::unique_ptr<Session>> clients;
    std::vector<PeerAddress> addrs;
    std::vector<ServerDispatcher::PeerEvent> events;
    TimeMs now = kT0;
    size_t server_frames = 0;
    ServerDispatcher::Input last_input;
    std::map<PeerAddress, DataFollower> at_server;  // by client address
    std::map<size_t, DataFollower> at_client;
    std::function<bool(size_t, std::vector<uint8_t>&)> client_tap;  // client index -> keep?

    explicit Hub(WrapMode wrap, Transport t = Transport::udp, bool duplicate_cn = false, AdmissionLimits limits = {},
                 const std::function<void(ServerConfig&)>& tweak = {}) {
        ServerConfig sc;
        sc.duplicate_cn = duplicate_cn;
        sc.limits = limits;
        sc.session = make_config(Role::server, wrap);
        sc.session.transport = t;
        sc.pool = Ipv4Pool::from_cidr("10.200.0.0/24");
        if (tweak) tweak(sc);
        auto d = ServerDispatcher::create(std::move(sc), now);
        EXPECT_TRUE(d);
        server = std::move(*d);
    }
    size_t add_client(WrapMode wrap, uint16_t port, Transport t = Transport::udp, const char* ip = "192.0.2.1") {
        SessionConfig cc = make_config(Role::client, wrap);
        cc.transport = t;
        auto s = Session::create(std::move(cc), now);
        EXPECT_TRUE(s);
        clients.push_back(std::move(*s));
        addrs.push_back(addr(port, ip));
        clients.back()->start(now);
        return clients.size() - 1;
    }
    void step() {
        std::vector<uint8_t> p;
        for (size_t i = 0; i < clients.size(); ++i) {
            if (!clients[i]) continue;
            while (clients[i]->pop_output(p)) {
                if (client_tap && !client_tap(i, p)) continue;
                if (to_server(i, p)) ++server_frames;
            }
        }
        ServerDispatcher::Output o;
        while (server->pop_output(o)) {
            for (size_t i = 0; i < clients.size(); ++i)
                if (clients[i] && addrs[i] == o.to) to_client(i, o.bytes);
        }
        ServerDispatcher::PeerEvent e;
        while (server->pop_event(e)) events.push_back(std::move(e));
    }
    // As the hub's runner takes client i's packet: data is opened by the client's data channel (its
    // session found by address, as for DATA_V1), the rest goes to the dispatcher (last_input). The
    // payload frame's length (0: none).
    size_t to_server(size_t i, std::vector<uint8_t>& p) {
        size_t n = 0;
        Session* s = server->find(addrs[i]);
        if (s && server->peer_id_of(addrs[i]) != proto::kUndefinedPeerId && at_server[addrs[i]].open(*s, p, now, &n)) return n;
        last_input = server->on_datagram(addrs[i], p, now);
        return 0;
    }
    void to_client(size_t i, std::vector<uint8_t>& p) {
        if (!at_client[i].open(*clients[i], p, now)) clients[i]->on_packet(p, now);
    }
    // A frame sealed by client i's session (or `from`'s, sent from client i's address).
    size_t frame_from(size_t i, Session& from, uint8_t fill = 1) {
        std::vector<uint8_t> pkt;
        EXPECT_TRUE(from.encrypt_frame(std::vector<uint8_t>(64, fill), pkt, now));
        return to_server(i, pkt);
    }
    bool run(const std::function<bool()>& done, TimeMs limit) {
        const TimeMs end = now + limit;
        while (now < end) {
            for (int i = 0; i < 4; ++i) step();
            if (done()) return true;
            now += 10;
            for (auto& c : clients)
                if (c && c->next_deadline() <= now) c->on_timer(now);
            if (server->next_deadline() <= now) server->on_timer(now);
        }
        return done();
    }
};

TEST(Dispatcher, ThreeClientsGetDistinctPeerIdsAndAddresses) {
    // Every test client has the same certificate: with duplicate_cn they may all stay.
    Hub hub(WrapMode::tls_crypt, Transport::udp, true);
    for (uint16_t port : {40001, 40002, 40003}) hub.add_client(WrapMode::tls_crypt, port);
    ASSERT_TRUE(hub.run([&] {
        return std::all_of(hub.clients.begin(), hub.clients.end(), [](auto& c) { return c->established(); });
    }, 20000));
    std::set<uint32_t> ids;
    std::set<std::string> ips;
    for (auto& c : hub.clients) {
        ids.insert(c->peer_id());
        ips.insert(*c->pushed().ifconfig_local);
        EXPECT_EQ(c->pushed().ifconfig_netmask, "255.255.255.0");
    }
    EXPECT_EQ(ids, (std::set<uint32_t>{0, 1, 2}));
    EXPECT_EQ(ips, (std::set<std::string>{"10.200.0.2", "10.200.0.3", "10.200.0.4"}));
    EXPECT_EQ(hub.server->size(), 3u);
    // Frames from each client reach the hub: its address names its peer-id (what a DATA_V1 packet
    // goes by), whose data channel opens them.
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(hub.server->peer_id_of(hub.addrs[i]), hub.clients[i]->peer_id());
        EXPECT_EQ(hub.frame_from(i, *hub.clients[i]), 64u);
    }
    EXPECT_EQ(hub.server->peer_id_of(addr(49999)), proto::kUndefinedPeerId);
    // A client's packet from another address is not accepted as that client's: the session opens
    // no data, and the address has no session.
    std::vector<uint8_t> pkt;
    ASSERT_TRUE(hub.clients[0]->encrypt_frame(std::vector<uint8_t>(64, 1), pkt, hub.now));
    EXPECT_EQ(hub.server->on_datagram(addr(49999), pkt, hub.now).drop, proto::Drop::no_keys);
    ASSERT_TRUE(hub.clients[0]->encrypt_frame(std::vector<uint8_t>(64, 1), pkt, hub.now));
    EXPECT_EQ(hub.server->on_datagram(hub.addrs[0], pkt, hub.now).drop, proto::Drop::no_keys);
}

AdmissionLimits no_reset_limit() {
    AdmissionLimits l;
    l.reset_rate = 0;
    l.reset_rate_per_source = 0;
    return l;
}

TEST(Dispatcher, ResetAloneCreatesNoState) {
    Hub hub(WrapMode::tls_auth, Transport::udp, false, no_reset_limit());
    hub.add_client(WrapMode::tls_auth, 40010);
    std::vector<uint8_t> reset;
    ASSERT_TRUE(hub.clients[0]->pop_output(reset));
    for (int i = 0; i < 50; ++i) hub.server->on_datagram(addr(static_cast<uint16_t>(41000 + i)), reset, hub.now);
    EXPECT_EQ(hub.server->size(), 0u);
    ServerDispatcher::Output o;
    size_t replies = 0;
    while (hub.server->pop_output(o)) {
        ++replies;
        EXPECT_EQ(o.bytes[0], 0x40);  // HARD_RESET_SERVER_V2, key_id 0
    }
    EXPECT_EQ(replies, 50u);
}

TEST(Dispatcher, ForgedCookieIsRefused) {
    Hub hub(WrapMode::none);
    hub.add_client(WrapMode::none, 40020);
    // Let the real handshake start, then replay the client's second packet from another address.
    std::vector<std::vector<uint8_t>> client_packets;
    hub.client_tap = [&](size_t, std::vector<uint8_t>& p) {
        client_packets.push_back(p);
        return true;
    };
    ASSERT_TRUE(hub.run([&] { return hub.clients[0]->established(); }, 10000));
    ASSERT_GE(client_packets.size(), 2u);
    auto in = hub.server->on_datagram(addr(40021), client_packets[1], hub.now);
    EXPECT_EQ(in.drop, proto::Drop::bad_session_id);
    EXPECT_EQ(hub.server->size(), 1u);
}

TEST(Dispatcher, ClientRestartReplacesItsSession) {
    Hub hub(WrapMode::tls_crypt);
    hub.add_client(WrapMode::tls_crypt, 40030);
    ASSERT_TRUE(hub.run([&] { return hub.clients[0]->established(); }, 10000));
    const uint32_t first_id = hub.clients[0]->peer_id();
    // The client process restarts: same address, new session.
    SessionConfig cc = make_config(Role::client, WrapMode::tls_crypt);
    auto fresh = Session::create(std::move(cc), hub.now);
    ASSERT_TRUE(fresh);
    hub.clients[0] = std::move(fresh.value());
    hub.clients[0]->start(hub.now);
    ASSERT_TRUE(hub.run([&] { return hub.clients[0]->established(); }, 10000));
    EXPECT_EQ(hub.server->size(), 1u);
    EXPECT_EQ(hub.clients[0]->peer_id(), first_id);  // the old one was released first
    bool restart_reported = false;
    for (const auto& e : hub.events) restart_reported |= e.event.type == EventType::peer_gone;
    EXPECT_TRUE(restart_reported);
}

TEST(Dispatcher, AResetFromAConnectedAddressLeavesItsSessionUpUntilTheNewOneIsUp) {
    Hub hub(WrapMode::tls_crypt);
    hub.add_client(WrapMode::tls_crypt, 40035);
    ASSERT_TRUE(hub.run([&] { return hub.clients[0]->established(); }, 10000));
    const uint32_t first_id = hub.clients[0]->peer_id();
    // Someone holding the wrap key sends client resets (and echoes the cookie) from the site's
    // address, then stops before TLS is done: the site's session carries data all along.
    std::unique_ptr<Session> site = std::move(hub.clients[0]);
    for (int round = 0; round < 3; ++round) {
        auto intruder = Session::create(make_config(Role::client, WrapMode::tls_crypt), hub.now);
        ASSERT_TRUE(intruder);
        hub.clients[0] = std::move(*intruder);
        hub.clients[0]->start(hub.now);
        size_t sent = 0;
        hub.client_tap = [&](size_t, std::vector<uint8_t>&) { return ++sent <= 2; };  // reset, cookie echo
        hub.run([] { return false; }, 300);
        hub.client_tap = {};
        EXPECT_EQ(hub.server->size(), 1u);
        EXPECT_EQ(hub.server->peer_id_of(hub.addrs[0]), first_id);
        EXPECT_EQ(hub.frame_from(0, *site, 9), 64u);
    }
    EXPECT_LE(hub.server->half_open(), 1u);  // one pending session per address, the newest
    for (const auto& e : hub.events) EXPECT_NE(e.event.type, EventType::peer_gone) << e.event.message;
    EXPECT_GE(hub.server->peer_limits_hit().replacements_started, 3u);
    // A real restart: the new session completes and only then replaces the old one.
    auto fresh = Session::create(make_config(Role::client, WrapMode::tls_crypt), hub.now);
    ASSERT_TRUE(fresh);
    hub.clients[0] = std::move(*fresh);
    hub.clients[0]->start(hub.now);
    ASSERT_TRUE(hub.run([&] { return hub.clients[0]->established(); }, 10000));
    EXPECT_EQ(hub.server->size(), 1u);
    EXPECT_EQ(hub.server->half_open(), 0u);
    EXPECT_EQ(hub.server->peer_limits_hit().replacements_done, 1u);
    size_t gone = 0;
    for (const auto& e : hub.events) gone += e.event.type == EventType::peer_gone && e.peer_id == first_id;
    EXPECT_EQ(gone, 1u);
    EXPECT_EQ(hub.frame_from(0, *hub.clients[0], 9), 64u);
    // The old session's packets are no longer accepted.
    EXPECT_EQ(hub.frame_from(0, *site, 9), 0u);
}

TEST(Dispatcher, SameCnFromAnotherAddressReplacesTheOldSession) {
    // A site restarted from another source port (its old process dead, no exit notification): the
    // old session goes when the new one is up, not at the keepalive timeout, as openvpn without
    // --duplicate-cn.
    Hub hub(WrapMode::tls_crypt);
    const size_t a = hub.add_client(WrapMode::tls_crypt, 40060);
    ASSERT_TRUE(hub.run([&] { return hub.clients[a]->established(); }, 10000));
    ASSERT_EQ(hub.clients[a]->peer_id(), 0u);
    ASSERT_EQ(hub.clients[a]->pushed().ifconfig_local, "10.200.0.2");
    hub.events.clear();
    const size_t b = hub.add_client(WrapMode::tls_crypt, 40061);
    ASSERT_TRUE(hub.run([&] { return hub.clients[b]->established(); }, 10000));
    EXPECT_EQ(hub.clients[b]->peer_id(), 1u);  // 0 was still in use when b's session was made
    EXPECT_EQ(hub.server->size(), 1u);
    EXPECT_EQ(hub.server->find(hub.addrs[a]), nullptr);
    EXPECT_EQ(hub.server->find(0u), nullptr);
    EXPECT_NE(hub.server->find(hub.addrs[b]), nullptr);
    // Reported once, naming the CN, before the new client's tunnel_up.
    std::ptrdiff_t gone_at = -1, up_at = -1;
    for (size_t i = 0; i < hub.events.size(); ++i) {
        const auto& e = hub.events[i];
        if (e.event.type == EventType::peer_gone) {
            EXPECT_EQ(gone_at, -1) << "peer_gone reported twice";
            gone_at = static_cast<std::ptrdiff_t>(i);
            EXPECT_EQ(e.peer_id, 0u);
            EXPECT_TRUE(e.from == hub.addrs[a]);
            EXPECT_EQ(e.event.error, SessionError::local_exit);
            EXPECT_NE(e.event.message.find("replaced"), std::string::npos) << e.event.message;
            EXPECT_NE(e.event.message.find("'client'"), std::string::npos) << e.event.message;
        }
        if (e.event.type == EventType::tunnel_up && e.peer_id == 1u) up_at = static_cast<std::ptrdiff_t>(i);
    }
    ASSERT_GE(gone_at, 0);
    EXPECT_LT(gone_at, up_at);
    // The old client's data is no longer taken.
    EXPECT_EQ(hub.frame_from(a, *hub.clients[a]), 0u);
    EXPECT_NE(hub.last_input.drop, proto::Drop::none);
    // Its peer-id and pool address are free at once: the next client (same CN again) gets them.
    hub.clients[a].reset();
    const size_t c = hub.add_client(WrapMode::tls_crypt, 40062);
    ASSERT_TRUE(hub.run([&] { return hub.clients[c]->established(); }, 10000));
    EXPECT_EQ(hub.clients[c]->peer_id(), 0u);
    EXPECT_EQ(hub.clients[c]->pushed().ifconfig_local, "10.200.0.2");
    EXPECT_EQ(hub.server->size(), 1u);  // and b was replaced in turn
}

TEST(Dispatcher, DuplicateCnKeepsEverySession) {
    Hub hub(WrapMode::tls_crypt, Transport::udp, true);
    const size_t a = hub.add_client(WrapMode::tls_crypt, 40070);
    const size_t b = hub.add_client(WrapMode::tls_crypt, 40071);
    ASSERT_TRUE(hub.run([&] { return hub.clients[a]->established() && hub.clients[b]->established(); }, 10000));
    EXPECT_EQ(hub.server->size(), 2u);
    for (const auto& e : hub.events) EXPECT_NE(e.event.type, EventType::peer_gone);
}

TEST(Dispatcher, GoneClientsAreRemovedAndTheirAddressesReused) {
    Hub hub(WrapMode::none);
    hub.add_client(WrapMode::none, 40040);
    ASSERT_TRUE(hub.run([&] { return hub.clients[0]->established(); }, 10000));
    hub.clients[0]->close(hub.now);
    ASSERT_TRUE(hub.run([&] { return hub.server->size() == 0; }, 10000));
    hub.clients[0].reset();
    const size_t i = hub.add_client(WrapMode::none, 40041);
    ASSERT_TRUE(hub.run([&] { return hub.clients[i]->established(); }, 10000));
    EXPECT_EQ(hub.clients[i]->pushed().ifconfig_local, "10.200.0.2");
    EXPECT_EQ(hub.clients[i]->peer_id(), 0u);
}

TEST(Dispatcher, TcpSessionsNeedNoCookie) {
    Hub hub(WrapMode::tls_auth, Transport::tcp);
    hub.add_client(WrapMode::tls_auth, 40050, Transport::tcp);
    ASSERT_TRUE(hub.run([&] { return hub.clients[0]->established(); }, 10000));
    EXPECT_EQ(hub.server->size(), 1u);
}

// Issue 16: reset replies are a reflector unless limited. One source prefix gets its burst (20),
// then nothing until its bucket refills; other prefixes share the global budget (100 at once).
TEST(Dispatcher, ResetRepliesAreRateLimitedPerSourceAndGlobally) {
    Hub hub(WrapMode::tls_auth);
    hub.add_client(WrapMode::tls_auth, 40010);
    std::vector<uint8_t> reset;
    ASSERT_TRUE(hub.clients[0]->pop_output(reset));
    auto replies = [&] {
        size_t n = 0;
        ServerDispatcher::Output o;
        while (hub.server->pop_output(o)) ++n;
        return n;
    };
    for (int i = 0; i < 50; ++i) hub.server->on_datagram(addr(static_cast<uint16_t>(41000 + i)), reset, hub.now);
    EXPECT_EQ(replies(), 20u);
    EXPECT_EQ(hub.server->refusals()[static_cast<size_t>(Refusal::reset_rate_source)], 30u);
    // Half a second later the prefix has one more token (2 a second).
    hub.now += 500;
    for (int i = 0; i < 5; ++i) hub.server->on_datagram(addr(static_cast<uint16_t>(42000 + i)), reset, hub.now);
    EXPECT_EQ(replies(), 1u);
    const size_t source_before = hub.server->refusals()[static_cast<size_t>(Refusal::reset_rate_source)];
    // 200 other prefixes, one reset each: the global bucket has 80 left of its 100 (+5 refilled).
    for (int i = 0; i < 200; ++i) {
        const std::string ip = "198.51." + std::to_string(i) + ".7";
        hub.server->on_datagram(addr(1194, ip.c_str()), reset, hub.now);
    }
    const size_t global = replies();
    EXPECT_GE(global, 79u);
    EXPECT_LE(global, 85u);
    // A prefix whose per-source bucket (chosen by a keyed hash) is the exhausted one above is
    // refused as reset_rate_source instead: every unanswered reset is one refusal or the other.
    const size_t source_after = hub.server->refusals()[static_cast<size_t>(Refusal::reset_rate_source)];
    ASSERT_GE(source_after, source_before);
    EXPECT_LE(source_after - source_before, 5u);
    EXPECT_EQ(hub.server->refusals()[static_cast<size_t>(Refusal::reset_rate_global)] + (source_after - source_before),
              200u - global);
    EXPECT_EQ(hub.server->size(), 0u);
}

// Issue 16: a host completing cookie handshakes from many source ports but never authenticating
// used to take a pool address and a peer-id per port (a /24 pool was full after ~250). Now a
// half-open session holds neither, and one source prefix may hold only max_half_open_per_source
// of them; a real client still connects and gets the first address and peer-id.
TEST(Dispatcher, HalfOpenSessionsTakeNoAddressAndAreCappedPerSource) {
    Hub hub(WrapMode::tls_crypt, Transport::udp, false, no_reset_limit());
    const size_t attackers = 40;  // over the per-source cap of 16 (a /24 pool would need ~250 before)
    std::vector<int> sent(attackers + 1, 0);
    for (size_t i = 0; i < attackers; ++i) hub.add_client(WrapMode::tls_crypt, static_cast<uint16_t>(20000 + i));
    const size_t real = hub.add_client(WrapMode::tls_crypt, 40000, Transport::udp, "203.0.113.9");
    // Attackers send their reset and the cookie echo (with the start of TLS), then go quiet.
    hub.client_tap = [&](size_t i, std::vector<uint8_t>&) { return i == real || ++sent[i] <= 2; };
    ASSERT_TRUE(hub.run([&] { return hub.clients[real]->established(); }, 20000));
    EXPECT_EQ(hub.clients[real]->pushed().ifconfig_local, "10.200.0.2");
    EXPECT_EQ(hub.clients[real]->peer_id(), 0u);
    EXPECT_EQ(hub.server->half_open(), AdmissionLimits{}.max_half_open_per_source);
    EXPECT_EQ(hub.server->size(), AdmissionLimits{}.max_half_open_per_source + 1);
    EXPECT_GE(hub.server->refusals()[static_cast<size_t>(Refusal::half_open_source)], attackers - 16);
    // Nothing about a half-open session reached the hub's owner as a peer with an id.
    for (const auto& e : hub.events)
        if (e.event.type == EventType::keys_ready || e.event.type == EventType::tunnel_up) {
            EXPECT_EQ(e.peer_id, 0u);
        }
}

// max_clients is checked when a client authenticates: the second one is refused (peer_gone,
// refused, no peer-id) and counted; the first keeps its address.
TEST(Dispatcher, MaxClientsRefusesAtAdmission) {
    AdmissionLimits l = no_reset_limit();
    l.max_clients = 1;
    Hub hub(WrapMode::tls_crypt, Transport::udp, true, l);
    const size_t a = hub.add_client(WrapMode::tls_crypt, 40100);
    ASSERT_TRUE(hub.run([&] { return hub.clients[a]->established(); }, 10000));
    hub.add_client(WrapMode::tls_crypt, 40101);
    ASSERT_TRUE(hub.run([&] { return hub.server->refusals()[static_cast<size_t>(Refusal::max_clients)] == 1; }, 10000));
    bool refused_seen = false;
    for (const auto& e : hub.events)
        if (e.event.type == EventType::peer_gone && e.event.error == SessionError::refused) {
            refused_seen = true;
            EXPECT_EQ(e.peer_id, proto::kUndefinedPeerId);
        }
    EXPECT_TRUE(refused_seen);
    EXPECT_TRUE(hub.clients[a]->established());
    EXPECT_EQ(hub.clients[a]->pushed().ifconfig_local, "10.200.0.2");
}

// auth-user-pass-verify: the check sees the key-method 2 username/password and the CN; a refused
// client is told AUTH_FAILED,REASON, takes no peer-id or address, and is counted.
TEST(Dispatcher, UserPassVerifyAdmitsAndRefusesWithAuthFailed) {
    std::vector<std::string> seen;
    Hub hub(WrapMode::tls_crypt, Transport::udp, true, no_reset_limit(), [&](ServerConfig& sc) {
        // A check that answers at once (as when the program cannot even start).
        sc.start_user_pass_check = [&](uint64_t, const UserPassCheck& c) -> std::optional<UserPassVerdict> {
            seen.push_back(c.username + "/" + c.password + "/" + c.common_name);
            EXPECT_NE(c.peer_info.find("IV_VER="), std::string::npos);
            if (c.password == "right") return UserPassVerdict{true, {}, {}};
            return UserPassVerdict{false, "exit status 1", "bad password"};
        };
    });
    SessionConfig good = make_config(Role::client, WrapMode::tls_crypt);
    good.username = "site";
    good.password = "right";
    auto s = Session::create(std::move(good), hub.now);
    ASSERT_TRUE(s);
    hub.clients.push_back(std::move(*s));
    hub.addrs.push_back(addr(40200));
    hub.clients.back()->start(hub.now);
    ASSERT_TRUE(hub.run([&] { return hub.clients[0]->established(); }, 10000));
    EXPECT_EQ(hub.clients[0]->pushed().ifconfig_local, "10.200.0.2");

    SessionConfig bad = make_config(Role::client, WrapMode::tls_crypt);
    bad.username = "site";
    bad.password = "wrong";
    s = Session::create(std::move(bad), hub.now);
    ASSERT_TRUE(s);
    hub.clients.push_back(std::move(*s));
    hub.addrs.push_back(addr(40201));
    hub.clients.back()->start(hub.now);
    Event gone;
    ASSERT_TRUE(hub.run([&] {
        Event e;
        while (hub.clients[1]->pop_event(e))
            if (e.type == EventType::peer_gone) gone = e;
        return gone.type == EventType::peer_gone;
    }, 10000));
    EXPECT_EQ(gone.error, SessionError::auth_failed);
    EXPECT_EQ(gone.message, "AUTH_FAILED,bad password");
    EXPECT_FALSE(hub.clients[1]->established());
    EXPECT_EQ(hub.server->refusals()[static_cast<size_t>(Refusal::auth_failed)], 1u);
    EXPECT_EQ(seen, (std::vector<std::string>{"site/right/client", "site/wrong/client"}));
    // The hub ends the refused session once AUTH_FAILED is acked, naming the user.
    ASSERT_TRUE(hub.run([&] { return hub.server->size() == 1; }, 5000));
    bool logged = false;
    for (const auto& e : hub.events)
        if (e.event.type == EventType::peer_gone && e.event.error == SessionError::auth_failed) {
            logged = true;
            EXPECT_EQ(e.peer_id, proto::kUndefinedPeerId);
            EXPECT_NE(e.event.message.find("username 'site' refused"), std::string::npos) << e.event.message;
        }
    EXPECT_TRUE(logged);
    EXPECT_TRUE(hub.clients[0]->established());
}

// The asynchronous check as the hub runs it: start() returns at once, the verdict comes later.
struct AsyncChecks {
    std::map<uint64_t, std::string> running;  // ticket -> password
    std::vector<uint64_t> cancelled;
    void wire(ServerConfig& sc) {
        sc.start_user_pass_check = [this](uint64_t t, const UserPassCheck& c) -> std::optional<UserPassVerdict> {
            if (c.password == "fast") return UserPassVerdict{true, {}, {}};
            running[t] = c.password;
            return std::nullopt;
        };
        sc.cancel_user_pass_check = [this](uint64_t t) {
            cancelled.push_back(t);
            running.erase(t);
        };
    }
    uint64_t only() const { return running.size() == 1 ? running.begin()->first : 0; }
};

size_t add_user(Hub& hub, uint16_t port, const std::string& password) {
    SessionConfig cc = make_config(Role::client, WrapMode::tls_crypt);
    cc.username = "site";
    cc.password = password;
    auto s = Session::create(std::move(cc), hub.now);
    EXPECT_TRUE(s);
    hub.clients.push_back(std::move(*s));
    hub.addrs.push_back(addr(port));
    hub.clients.back()->start(hub.now);
    return hub.clients.size() - 1;
}

Event gone_event(Session& s) {
    Event e, gone;
    while (s.pop_event(e))
        if (e.type == EventType::peer_gone) gone = e;
    return gone;
}

// While one client's check runs ("auth pending"), it holds no peer-id or address, its PUSH_REQUESTs
// go unanswered, and another client connects and passes traffic; the verdict then admits it.
TEST(Dispatcher, UserPassCheckPendingThenAdmittedWhileOthersGoOn) {
    AsyncChecks checks;
    Hub hub(WrapMode::tls_crypt, Transport::udp, true, no_reset_limit(), [&](ServerConfig& sc) { checks.wire(sc); });
    const size_t slow = add_user(hub, 40210, "slow");
    ASSERT_TRUE(hub.run([&] { return checks.only() != 0; }, 10000));
    const uint64_t ticket = checks.only();
    EXPECT_EQ(hub.server->user_pass_checks(), 1u);
    EXPECT_EQ(hub.server->half_open(), 1u);  // counted against max_half_open
    Session* pending = hub.server->find(hub.addrs[slow]);
    ASSERT_NE(pending, nullptr);
    EXPECT_TRUE(pending->auth_pending());
    EXPECT_FALSE(pending->admitted());

    const size_t fast = add_user(hub, 40211, "fast");
    ASSERT_TRUE(hub.run([&] { return hub.clients[fast]->established(); }, 10000));
    EXPECT_EQ(*hub.clients[fast]->pushed().ifconfig_local, "10.200.0.2");
    std::vector<uint8_t> frame(100, 0x42), pkt;
    ASSERT_TRUE(hub.clients[fast]->encrypt_frame(frame, pkt, hub.now));
    EXPECT_EQ(hub.to_server(fast, pkt), 100u);

    // 12 s of PUSH_REQUESTs (every 5 s) from the pending client: none answered.
    ASSERT_FALSE(hub.run([&] { return hub.clients[slow]->established(); }, 12000));
    EXPECT_TRUE(pending->auth_pending());

    hub.server->on_user_pass_verdict(ticket, UserPassVerdict{true, {}, {}}, hub.now);
    EXPECT_EQ(hub.server->user_pass_checks(), 0u);
    ASSERT_TRUE(hub.run([&] { return hub.clients[slow]->established(); }, 10000));
    EXPECT_EQ(*hub.clients[slow]->pushed().ifconfig_local, "10.200.0.3");
    EXPECT_TRUE(hub.clients[fast]->established());
    EXPECT_TRUE(checks.cancelled.empty());
    // A verdict for a ticket no longer running changes nothing.
    hub.server->on_user_pass_verdict(ticket, UserPassVerdict{false, "late", {}}, hub.now);
    hub.run([] { return false; }, 1000);
    EXPECT_TRUE(hub.clients[slow]->established());
    EXPECT_EQ(hub.server->refusals()[static_cast<size_t>(Refusal::auth_failed)], 0u);
}

TEST(Dispatcher, UserPassCheckRefusedLaterTellsAuthFailed) {
    AsyncChecks checks;
    Hub hub(WrapMode::tls_crypt, Transport::udp, true, no_reset_limit(), [&](ServerConfig& sc) { checks.wire(sc); });
    const size_t c = add_user(hub, 40220, "slow");
    ASSERT_TRUE(hub.run([&] { return checks.only() != 0; }, 10000));
    hub.server->on_user_pass_verdict(checks.only(), UserPassVerdict{false, "deferred, then 0", "account locked"}, hub.now);
    Event gone;
    ASSERT_TRUE(hub.run([&] { gone = gone_event(*hub.clients[c]); return gone.type == EventType::peer_gone; }, 10000));
    EXPECT_EQ(gone.error, SessionError::auth_failed);
    EXPECT_EQ(gone.message, "AUTH_FAILED,account locked");
    EXPECT_EQ(hub.server->refusals()[static_cast<size_t>(Refusal::auth_failed)], 1u);
    ASSERT_TRUE(hub.run([&] { return hub.server->size() == 0; }, 5000));
    EXPECT_EQ(hub.server->half_open(), 0u);
}

// No verdict within the auth-pending window (OpenVPN: min(hand-window, reneg-sec / 2) from the
// key's start): AUTH_FAILED, the check is cancelled, a late verdict is ignored.
TEST(Dispatcher, UserPassCheckWithoutVerdictExpiresWithAuthFailed) {
    AsyncChecks checks;
    Hub hub(WrapMode::tls_crypt, Transport::udp, true, no_reset_limit(), [&](ServerConfig& sc) {
        checks.wire(sc);
        sc.session.reneg_seconds = 40;  // the window is 20 s, not the 60 s hand-window
    });
    const size_t c = add_user(hub, 40230, "slow");
    const TimeMs t0 = hub.now;
    ASSERT_TRUE(hub.run([&] { return checks.only() != 0; }, 10000));
    const uint64_t ticket = checks.only();
    Event gone;
    ASSERT_TRUE(hub.run([&] { gone = gone_event(*hub.clients[c]); return gone.type == EventType::peer_gone; }, 30000));
    EXPECT_GE(hub.now - t0, 19000);
    EXPECT_LE(hub.now - t0, 23000);
    EXPECT_EQ(gone.error, SessionError::auth_failed);
    EXPECT_EQ(gone.message, "AUTH_FAILED");
    ASSERT_TRUE(hub.run([&] { return hub.server->size() == 0; }, 5000));
    EXPECT_EQ(checks.cancelled, std::vector<uint64_t>{ticket});
    EXPECT_EQ(hub.server->user_pass_checks(), 0u);
    EXPECT_EQ(hub.server->refusals()[static_cast<size_t>(Refusal::auth_failed)], 1u);
    bool logged = false;
    for (const auto& e : hub.events)
        logged |= e.event.type == EventType::peer_gone && e.event.message.find("no verdict on the credentials within 20 s") != std::string::npos;
    EXPECT_TRUE(logged);
    hub.server->on_user_pass_verdict(ticket, UserPassVerdict{true, {}, {}}, hub.now);  // ignored
    EXPECT_EQ(hub.server->size(), 0u);
}

// A client that goes while its check runs: the check is cancelled.
TEST(Dispatcher, UserPassCheckCancelledWhenTheClientGoes) {
    AsyncChecks checks;
    Hub hub(WrapMode::tls_crypt, Transport::udp, true, no_reset_limit(), [&](ServerConfig& sc) { checks.wire(sc); });
    const size_t c = add_user(hub, 40240, "slow");
    ASSERT_TRUE(hub.run([&] { return checks.only() != 0; }, 10000));
    const uint64_t ticket = checks.only();
    hub.server->close_all(hub.now);
    ASSERT_TRUE(hub.run([&] { return hub.server->size() == 0; }, 10000));
    EXPECT_EQ(checks.cancelled, std::vector<uint64_t>{ticket});
    (void)c;
}

// At a renegotiation the check runs again; the keys in use carry data meanwhile.
TEST(Dispatcher, UserPassCheckAtRenegotiationKeepsTheOldKeyMeanwhile) {
    AsyncChecks checks;
    bool defer = false;
    Hub hub(WrapMode::tls_crypt, Transport::udp, true, no_reset_limit(), [&](ServerConfig& sc) {
        checks.wire(sc);
        auto start = sc.start_user_pass_check;
        sc.start_user_pass_check = [&defer, start](uint64_t t, const UserPassCheck& c) -> std::optional<UserPassVerdict> {
            if (!defer) return UserPassVerdict{true, {}, {}};
            return start(t, c);
        };
    });
    const size_t c = add_user(hub, 40250, "slow");
    ASSERT_TRUE(hub.run([&] { return hub.clients[c]->established(); }, 10000));
    Session* server_side = hub.server->find(hub.addrs[c]);
    ASSERT_NE(server_side, nullptr);
    const auto old_key = server_side->primary_key_id();
    defer = true;
    server_side->renegotiate(hub.now);
    ASSERT_TRUE(hub.run([&] { return checks.only() != 0; }, 10000));
    EXPECT_TRUE(server_side->auth_pending());
    hub.run([] { return false; }, 3000);
    EXPECT_EQ(server_side->primary_key_id(), old_key);
    // The hub still sends with the key in use; what the site already sends with the new key
    // (it switched once its key exchange was done) is opened.
    std::vector<uint8_t> frame(60, 0x17), pkt;
    ASSERT_TRUE(server_side->encrypt_frame(frame, pkt, hub.now));
    EXPECT_EQ(pkt[0] & 7, *old_key);
    size_t opened = 0;
    EXPECT_TRUE(hub.at_client[c].open(*hub.clients[c], pkt, hub.now, &opened));
    EXPECT_EQ(opened, 60u);
    ASSERT_TRUE(hub.clients[c]->encrypt_frame(frame, pkt, hub.now));
    EXPECT_NE(pkt[0] & 7, *old_key);
    EXPECT_EQ(hub.to_server(c, pkt), 60u);
    const uint64_t first = checks.only();
    checks.running.erase(first);
    hub.server->on_user_pass_verdict(first, UserPassVerdict{true, {}, {}}, hub.now);
    ASSERT_TRUE(hub.run([&] { return server_side->primary_key_id() != old_key; }, 10000));
    EXPECT_FALSE(server_side->auth_pending());
    EXPECT_TRUE(hub.clients[c]->established());

    // The next renegotiation's verdict refuses: the session ends with AUTH_FAILED.
    server_side->renegotiate(hub.now);
    ASSERT_TRUE(hub.run([&] { return checks.only() != 0; }, 10000));
    hub.server->on_user_pass_verdict(checks.only(), UserPassVerdict{false, "password changed", {}}, hub.now);
    Event gone;
    ASSERT_TRUE(hub.run([&] { gone = gone_event(*hub.clients[c]); return gone.type == EventType::peer_gone; }, 10000));
    EXPECT_EQ(gone.error, SessionError::auth_failed);
}

// The client's certificate may not change at a renegotiation (OpenVPN's tls_lock_cert_hash_set):
// the hub refuses the new key before key-method 2, logs a notice, counts it (status drops
// cert_changed: peer_limits_hit().cert_changes) and goes on with the key in use. The client
// plays a site that presents another certificate of the same CA (its TLS context replaced, as a
// tool playing a peer does); a new context with the same certificate renegotiates as usual.
TEST(Dispatcher, ACertificateChangeAtRenegotiationIsRefusedAndCounted) {
    Hub hub(WrapMode::tls_crypt);
    const size_t c = hub.add_client(WrapMode::tls_crypt, 40300);
    ASSERT_TRUE(hub.run([&] { return hub.clients[c]->established(); }, 10000));
    Session* server_side = hub.server->find(hub.addrs[c]);
    ASSERT_NE(server_side, nullptr);
    Session& client = *hub.clients[c];
    const auto first_key = server_side->primary_key_id();
    ASSERT_TRUE(first_key);

    // The same certificate in a new context: renegotiated, nothing refused.
    client.set_tls_context(tls_context(Role::client));
    client.renegotiate(hub.now);
    ASSERT_TRUE(hub.run([&] { return server_side->primary_key_id() != first_key && client.primary_key_id() != first_key; }, 10000));
    const auto key = server_side->primary_key_id();
    EXPECT_EQ(hub.server->peer_limits_hit().cert_changes, 0u);
    const uint64_t handshakes = server_side->counters().handshakes;

    // Another certificate of the same CA (CN client2): refused.
    client.set_tls_context(tls_context(Role::client, false, true));
    client.renegotiate(hub.now);
    ASSERT_TRUE(hub.run([&] { return hub.server->peer_limits_hit().cert_changes != 0; }, 10000));
    hub.run([] { return false; }, 3000);
    EXPECT_EQ(hub.server->peer_limits_hit().cert_changes, 1u);
    EXPECT_EQ(server_side->counters().cert_changes_refused, 1u);
    EXPECT_EQ(server_side->counters().handshakes, handshakes);
    EXPECT_EQ(server_side->primary_key_id(), key);
    EXPECT_FALSE(server_side->gone());
    bool noticed = false;
    for (const auto& e : hub.events)
        noticed |= e.event.type == EventType::notice &&
                   e.event.message.find("certificate changed (CN 'client' -> 'client2')") != std::string::npos;
    EXPECT_TRUE(noticed);
    // The key in use carries frames both ways.
    EXPECT_EQ(client.primary_key_id(), key);
    EXPECT_EQ(hub.frame_from(c, client), 64u);
    std::vector<uint8_t> frame(60, 0x21), pkt;
    ASSERT_TRUE(server_side->encrypt_frame(frame, pkt, hub.now));
    size_t opened = 0;
    EXPECT_TRUE(hub.at_client[c].open(client, pkt, hub.now, &opened));
    EXPECT_EQ(opened, 60u);
}

// A CN that reconnects gets its address back, even when others connected in between.
TEST(Dispatcher, ReconnectingCnGetsItsAddressBack) {
    Hub hub(WrapMode::tls_crypt);
    const size_t a = hub.add_client(WrapMode::tls_crypt, 40300);
    ASSERT_TRUE(hub.run([&] { return hub.clients[a]->established(); }, 10000));
    const std::string first = *hub.clients[a]->pushed().ifconfig_local;
    hub.clients[a]->close(hub.now);
    ASSERT_TRUE(hub.run([&] { return hub.server->size() == 0; }, 10000));
    hub.clients[a].reset();
    const size_t b = hub.add_client(WrapMode::tls_crypt, 40301);
    ASSERT_TRUE(hub.run([&] { return hub.clients[b]->established(); }, 10000));
    EXPECT_EQ(*hub.clients[b]->pushed().ifconfig_local, first);
}

TEST(IfconfigPool, RangeCnMemoryAndLeastRecentlyReleased) {
    // server-bridge 192.168.1.1 255.255.255.0 192.168.1.200 192.168.1.203, .201 reserved.
    auto p = Ipv4Pool::from_range(0xc0a801c8, 0xc0a801cb, 0xffffff00, {0xc0a801c9});
    ASSERT_TRUE(p);
    EXPECT_EQ(p->available(), 3u);
    EXPECT_EQ(Ipv4Pool::to_string(*p->acquire("a")), "192.168.1.200");
    EXPECT_EQ(Ipv4Pool::to_string(*p->acquire("b")), "192.168.1.202");
    p->release(0xc0a801c8);                                              // a leaves
    EXPECT_EQ(Ipv4Pool::to_string(*p->acquire("c")), "192.168.1.203");  // never used first
    p->release(0xc0a801ca);                                              // b leaves
    EXPECT_EQ(Ipv4Pool::to_string(*p->acquire("a")), "192.168.1.200");  // a's own again
    EXPECT_EQ(Ipv4Pool::to_string(*p->acquire("b")), "192.168.1.202");
    EXPECT_FALSE(p->acquire("d"));
    EXPECT_EQ(Ipv4Pool::to_string(p->netmask()), "255.255.255.0");
    p->release(0xc0a801c8);
    p->release(0xc0a801cb);
    // d takes the address released longest ago (a's .200), not c's .203.
    EXPECT_EQ(Ipv4Pool::to_string(*p->acquire("d")), "192.168.1.200");
    // duplicate_cn: the first free one, whatever the CN.
    p->release(0xc0a801ca);
    EXPECT_EQ(Ipv4Pool::to_string(*p->acquire("c", false)), "192.168.1.202");
    EXPECT_FALSE(Ipv4Pool::from_range(5, 4, 0xffffff00));
    EXPECT_FALSE(Ipv4Pool::from_range(5, 5, 0xffffff00, {5}));
}

TEST(IfconfigPool, PersistFileRoundTripsInOpenVpnFormat) {
    char dir[] = "/tmp/wb-pool-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    const std::string file = std::string(dir) + "/ipp.txt";
    {
        auto p = Ipv4Pool::from_cidr("10.8.0.0/24");
        ASSERT_TRUE(p->load(file));  // missing: empty
        EXPECT_EQ(Ipv4Pool::to_string(*p->acquire("alpha")), "10.8.0.2");
        EXPECT_EQ(Ipv4Pool::to_string(*p->acquire("beta")), "10.8.0.3");
        ASSERT_TRUE(p->save(file));
    }
    std::ifstream in(file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, "alpha,10.8.0.2,\nbeta,10.8.0.3,\n");
    {
        std::ofstream out(file, std::ios::app);
        out << "gamma,10.8.0.9\nbroken line\noutside,10.9.0.1,\nsix,,fd00::2\nalpha,10.8.0.7,\n";
    }
    auto p = Ipv4Pool::from_cidr("10.8.0.0/24");
    size_t skipped = 0;
    ASSERT_TRUE(p->load(file, &skipped));
    EXPECT_EQ(skipped, 2u);
    EXPECT_EQ(Ipv4Pool::to_string(*p->acquire("beta")), "10.8.0.3");
    EXPECT_EQ(Ipv4Pool::to_string(*p->acquire("gamma")), "10.8.0.9");
    // A new CN does not take a remembered address (alpha's .7) while never-used ones are left:
    // .2 is free since alpha's later line moved it to .7.
    EXPECT_EQ(Ipv4Pool::to_string(*p->acquire("delta")), "10.8.0.2");
    EXPECT_EQ(Ipv4Pool::to_string(*p->acquire("alpha")), "10.8.0.7");  // the later line wins
    EXPECT_EQ(Ipv4Pool::to_string(*p->acquire("epsilon")), "10.8.0.4");
    std::remove(file.c_str());
    rmdir(dir);
}

TEST(IfconfigPool, Bounds) {
    auto p = Ipv4Pool::from_cidr("10.9.8.0/29", {0x0a090803});
    ASSERT_TRUE(p);
    std::vector<std::string> got;
    while (auto a = p->acquire()) got.push_back(Ipv4Pool::to_string(*a));
    EXPECT_EQ(got, (std::vector<std::string>{"10.9.8.2", "10.9.8.4", "10.9.8.5", "10.9.8.6"}));
    EXPECT_EQ(Ipv4Pool::to_string(p->netmask()), "255.255.255.248");
    EXPECT_FALSE(Ipv4Pool::from_cidr("10.0.0.0"));
    EXPECT_FALSE(Ipv4Pool::from_cidr("10.0.0.0/33"));
    EXPECT_FALSE(Ipv4Pool::from_cidr("banana/24"));
}

}  // namespace
}  // namespace wirebridge::session::test
