// What the hub's runner uses from the session layer: the peer's common name, the key age, a new
// session template for new clients on SIGHUP (old sessions untouched), a live keepalive change.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "session/server_dispatcher.hpp"
#include "session_test_util.hpp"

namespace wirebridge::session::test {
namespace {

PeerAddress addr(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, "192.0.2.1", &a.sin_addr);
    return PeerAddress::from(reinterpret_cast<sockaddr*>(&a), sizeof a);
}

// A dispatcher and clients over an in-memory wire with a fake clock.
struct Wire {
    std::unique_ptr<ServerDispatcher> server;
    std::vector<std::unique_ptr<Session>> clients;
    std::vector<PeerAddress> addrs;
    std::vector<std::vector<Event>> client_events;
    TimeMs now = kT0;
    std::map<PeerAddress, DataFollower> at_server;  // by client address
    std::map<size_t, DataFollower> at_client;

    explicit Wire(bool push_keepalive = true) {
        ServerConfig sc;
        sc.session = make_config(Role::server, WrapMode::tls_crypt);
        if (!push_keepalive) sc.session.ping_s = sc.session.ping_restart_s = 0;
        sc.pool = Ipv4Pool::from_cidr("10.200.0.0/24");
        // Every test client has the same certificate: they may all stay connected.
        sc.duplicate_cn = true;
        auto d = ServerDispatcher::create(std::move(sc), now);
        EXPECT_TRUE(d);
        server = std::move(*d);
    }
    size_t add_client(uint16_t port, const crypto::StaticKey& key) {
        SessionConfig cc = make_config(Role::client, WrapMode::tls_crypt);
        cc.wrap.key = key;
        auto s = Session::create(std::move(cc), now);
        EXPECT_TRUE(s);
        clients.push_back(std::move(*s));
        addrs.push_back(addr(port));
        client_events.emplace_back();
        clients.back()->start(now);
        return clients.size() - 1;
    }
    void step() {
        std::vector<uint8_t> p;
        for (size_t i = 0; i < clients.size(); ++i)
            while (clients[i]->pop_output(p)) (void)to_server(i, p);
        ServerDispatcher::Output o;
        while (server->pop_output(o))
            for (size_t i = 0; i < clients.size(); ++i)
                if (addrs[i] == o.to && !at_client[i].open(*clients[i], o.bytes, now)) clients[i]->on_packet(o.bytes, now);
        ServerDispatcher::PeerEvent e;
        while (server->pop_event(e)) {
        }
        Event ev;
        for (size_t i = 0; i < clients.size(); ++i)
            while (clients[i]->pop_event(ev)) client_events[i].push_back(ev);
    }
    bool run(const std::function<bool()>& done, TimeMs limit) {
        const TimeMs end = now + limit;
        while (now < end) {
            for (int i = 0; i < 4; ++i) step();
            if (done()) return true;
            now += 10;
            for (auto& c : clients)
                if (c->next_deadline() <= now) c->on_timer(now);
            if (server->next_deadline() <= now) server->on_timer(now);
        }
        return done();
    }
    // As the hub's runner takes client i's packet: data is opened by the client's data channel (its
    // session found by address), the rest goes to the dispatcher. The payload frame's length.
    size_t to_server(size_t i, std::vector<uint8_t>& p) {
        size_t n = 0;
        Session* s = server->find(addrs[i]);
        if (s && server->peer_id_of(addrs[i]) != proto::kUndefinedPeerId && at_server[addrs[i]].open(*s, p, now, &n)) return n;
        (void)server->on_datagram(addrs[i], p, now);
        return 0;
    }
    bool frame_passes(size_t i) {
        std::vector<uint8_t> pkt;
        if (!clients[i]->encrypt_frame(std::vector<uint8_t>(64, 1), pkt, now)) return false;
        return to_server(i, pkt) == 64;
    }
    bool gone_with(size_t i, SessionError e) const {
        return std::any_of(client_events[i].begin(), client_events[i].end(),
                           [&](const Event& ev) { return ev.type == EventType::peer_gone && ev.error == e; });
    }
};

TEST(SessionHooks, CommonNameAndKeyAge) {
    Wire w;
    const size_t c = w.add_client(40001, wrap_key());
    EXPECT_EQ(w.clients[c]->key_established(), proto::kNever);
    ASSERT_TRUE(w.run([&] { return w.clients[c]->established(); }, 20000));
    const Session* s = w.server->find(w.clients[c]->peer_id());
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->peer_common_name(), "client");           // the server sees the client's CN
    EXPECT_EQ(w.clients[c]->peer_common_name(), "server");  // and the other way round
    EXPECT_GE(s->key_established(), kT0);
    EXPECT_LE(s->key_established(), w.now);
    EXPECT_LE(w.clients[c]->key_established(), w.now);
}

TEST(SessionHooks, NewTemplateIsForNewClientsOnly) {
    Wire w;
    const size_t old_client = w.add_client(40001, wrap_key());
    ASSERT_TRUE(w.run([&] { return w.clients[old_client]->established(); }, 20000));

    // SIGHUP with a new tls-crypt key and only CHACHA20-POLY1305.
    const crypto::StaticKey new_key = crypto::StaticKey::generate();
    SessionConfig next = make_config(Role::server, WrapMode::tls_crypt, {"CHACHA20-POLY1305"});
    next.wrap.key = new_key;
    SessionConfig wrong_transport = next;
    wrong_transport.transport = Transport::tcp;
    EXPECT_FALSE(w.server->set_session_template(wrong_transport, w.now));
    ASSERT_TRUE(w.server->set_session_template(next, w.now));
    EXPECT_EQ(w.server->session_template().data_ciphers, std::vector<std::string>{"CHACHA20-POLY1305"});

    // The running client keeps its session, keys and cipher.
    EXPECT_TRUE(w.frame_passes(old_client));
    // A new client with the old key is not answered; one with the new key gets the new cipher.
    const size_t stale = w.add_client(40002, wrap_key());
    const size_t fresh = w.add_client(40003, new_key);
    ASSERT_TRUE(w.run([&] { return w.clients[fresh]->established(); }, 20000));
    EXPECT_EQ(w.clients[fresh]->cipher_name(), "CHACHA20-POLY1305");
    EXPECT_EQ(w.clients[old_client]->cipher_name(), "AES-256-GCM");
    EXPECT_FALSE(w.clients[stale]->established());
    EXPECT_EQ(w.server->size(), 2u);
    EXPECT_TRUE(w.frame_passes(old_client));
    EXPECT_TRUE(w.frame_passes(fresh));
}

TEST(SessionHooks, ClientKeepaliveChangesLive) {
    for (const bool pushed : {false, true}) {
        Wire w(pushed);
        const size_t c = w.add_client(40001, wrap_key());
        ASSERT_TRUE(w.run([&] { return w.clients[c]->established(); }, 20000));
        // From now on the server answers nothing (a dispatcher that knows nobody).
        ServerConfig sc;
        sc.session = make_config(Role::server, WrapMode::tls_crypt);
        w.server = std::move(*ServerDispatcher::create(std::move(sc), w.now));
        // The config's keepalive (none) lets the client wait...
        EXPECT_FALSE(w.run([&] { return w.gone_with(c, SessionError::ping_timeout); }, 5000));
        w.clients[c]->set_keepalive(0, 3);
        const TimeMs t = w.now;
        const bool timed_out = w.run([&] { return w.gone_with(c, SessionError::ping_timeout); }, 10000);
        if (pushed) {
            // ...a keepalive the server pushed (ping-restart 60) still wins, as at connect time.
            EXPECT_FALSE(timed_out);
        } else {
            // ...the new one gives up 3 s after the last packet received.
            ASSERT_TRUE(timed_out);
            EXPECT_LE(w.now - t, 3100);
        }
    }
}

}  // namespace
}  // namespace wirebridge::session::test
