// Fuzz target: the hub's dispatcher and the session state machines behind it. The input is a
// program run against a fresh ServerDispatcher (a real PKI, tls-crypt or no wrap) with two real
// client Sessions beside it: deliver a client's next packet as it is or with bytes changed,
// replay it from another address, inject raw bytes from one of a few addresses, answer the
// client with the hub's replies (or changed ones), send data frames, renegotiate, close, and let
// time pass. Without a wrap the bytes reach the control-packet parser, reliability layer, TLS and
// key-method 2 as they come; with tls-crypt only what the clients produced gets past the wrap.
// Checked: no crash or sanitizer report, and the dispatcher's bookkeeping stays consistent.
#include <arpa/inet.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "../unit/test_pki.hpp"
#include "crypto/tls_context.hpp"
#include "session/server_dispatcher.hpp"

using namespace wirebridge;
using namespace wirebridge::session;
namespace tp = wirebridge::testpki;

namespace {

struct Input {
    const uint8_t* p;
    size_t n;
    uint8_t u8() {
        if (n == 0) return 0;
        --n;
        return *p++;
    }
    uint16_t u16() { return static_cast<uint16_t>(u8() << 8 | u8()); }
};

const tp::Pki& pki() {
    static const tp::Pki p = tp::make_pki();
    return p;
}

std::shared_ptr<const crypto::TlsContext> tls(Role role) {
    crypto::TlsConfig c;
    c.role = role == Role::client ? crypto::Role::Client : crypto::Role::Server;
    c.ca_pem = pki().ca.cert_pem;
    const tp::KeyCert& kc = role == Role::client ? pki().client : pki().server;
    c.cert_pem = kc.cert_pem;
    c.key_pem = kc.key_pem;
    c.remote_cert_tls = role == Role::client ? crypto::RemoteCertTls::Server : crypto::RemoteCertTls::Client;
    auto ctx = crypto::TlsContext::create(c);
    if (!ctx) std::abort();
    return *ctx;
}

crypto::StaticKey wrap_key() {
    std::array<uint8_t, crypto::kStaticKeySize> b{};
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 13 + 5);
    return crypto::StaticKey(b);
}

SessionConfig config(Role role, WrapMode wrap) {
    static const auto server_tls = tls(Role::server);
    static const auto client_tls = tls(Role::client);
    SessionConfig c;
    c.role = role;
    c.tls = role == Role::server ? server_tls : client_tls;
    c.wrap.mode = wrap;
    c.wrap.key = wrap_key();
    c.wrap.direction = role == Role::server ? crypto::KeyDirection::Normal : crypto::KeyDirection::Inverse;
    c.hand_window_s = 10;
    c.reneg_seconds = 0;
    if (role == Role::server) {
        c.ping_s = 2;
        c.ping_restart_s = 10;
    }
    return c;
}

PeerAddress addr(unsigned i) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(40000 + i));
    a.sin_addr.s_addr = htonl(0xc0000201u + (i >> 2));  // 192.0.2.1.., four ports per address
    return PeerAddress::from(reinterpret_cast<const sockaddr*>(&a), sizeof a);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Input in{data, size};
    const WrapMode wrap = (in.u8() & 1) ? WrapMode::tls_crypt : WrapMode::none;
    TimeMs now = 1000000;
    ServerConfig sc;
    sc.session = config(Role::server, wrap);
    sc.pool = Ipv4Pool::from_cidr("10.200.0.0/29");
    sc.limits.max_clients = 2;
    sc.limits.max_half_open = 3;
    sc.limits.max_half_open_per_source = 2;
    sc.limits.reset_burst = 8;
    sc.limits.reset_burst_per_source = 4;
    auto d = ServerDispatcher::create(std::move(sc), now);
    if (!d) std::abort();
    ServerDispatcher& hub = **d;

    std::unique_ptr<Session> clients[2];
    std::vector<uint8_t> last[2];  // each client's last packet (for replays)
    for (auto& c : clients) {
        auto s = Session::create(config(Role::client, wrap), now);
        if (!s) std::abort();
        c = std::move(*s);
        c->start(now);
    }

    auto deliver_hub_output = [&](bool mutate, unsigned at, uint8_t x) {
        ServerDispatcher::Output o;
        while (hub.pop_output(o)) {
            if (mutate && !o.bytes.empty()) o.bytes[at % o.bytes.size()] ^= x;
            for (unsigned i = 0; i < 2; ++i)
                if (o.to == addr(i)) (void)clients[i]->on_packet(o.bytes, now);
        }
    };
    auto drain_events = [&] {
        ServerDispatcher::PeerEvent e;
        while (hub.pop_event(e)) {
            if (e.event.type == EventType::keys_ready) {
                Session* s = hub.find(e.peer_id);
                if (s) (void)s->export_keys(e.event.key_id);
            }
        }
        Event ce;
        for (auto& c : clients)
            while (c->pop_event(ce)) {
            }
    };

    for (int steps = 0; in.n > 0 && steps < 400; ++steps) {
        const uint8_t op = in.u8();
        const unsigned who = (op >> 4) & 1;
        Session& client = *clients[who];
        switch (op & 15) {
        case 0:
        case 1:
        case 2: {  // the client's next packet, as it is (0, 1) or changed (2)
            std::vector<uint8_t> p;
            if (!client.pop_output(p)) break;
            if ((op & 15) == 2 && !p.empty()) p[in.u16() % p.size()] ^= static_cast<uint8_t>(in.u8() | 1);
            last[who] = p;
            (void)hub.on_datagram(addr(who), p, now);
            break;
        }
        case 3: {  // the client's last packet again, from its own or another address
            if (last[who].empty()) break;
            std::vector<uint8_t> p = last[who];
            (void)hub.on_datagram(addr(in.u8() % 8), p, now);
            break;
        }
        case 4: {  // raw bytes from one of 8 addresses (two of them the clients')
            const unsigned from = in.u8() % 8;
            const size_t len = std::min<size_t>(in.u16() % 1600, in.n);
            std::vector<uint8_t> p(in.p, in.p + len);
            in.p += len;
            in.n -= len;
            (void)hub.on_datagram(addr(from), p, now);
            break;
        }
        case 5:
            deliver_hub_output(false, 0, 0);
            break;
        case 6: {
            const unsigned at = in.u16();
            deliver_hub_output(true, at, static_cast<uint8_t>(in.u8() | 1));
            break;
        }
        case 7: {  // a data frame from the client
            std::vector<uint8_t> frame(14 + in.u8(), static_cast<uint8_t>(op));
            std::vector<uint8_t> pkt;
            if (client.encrypt_frame(frame, pkt, now)) {
                last[who] = pkt;
                auto r = hub.on_datagram(addr(who), pkt, now);
                if (r.session && r.peer_id != proto::kUndefinedPeerId && hub.find(r.peer_id) != r.session) std::abort();
            }
            break;
        }
        case 8:
            client.renegotiate(now);
            break;
        case 9:
            if ((in.u8() & 7) == 0) client.close(now);
            break;
        case 10: {  // a data frame from the hub to the client (keys permitting)
            Session* s = hub.find(addr(who));
            std::vector<uint8_t> pkt;
            if (s && s->encrypt_frame(std::vector<uint8_t>(60, 2), pkt, now)) (void)client.on_packet(pkt, now);
            break;
        }
        default: {  // time passes: 1 ms .. 65 s
            now += 1 + in.u16();
            for (auto& c : clients)
                if (c->next_deadline() <= now) c->on_timer(now);
            if (hub.next_deadline() <= now) hub.on_timer(now);
            break;
        }
        }
        drain_events();
        if (hub.half_open() > hub.size()) std::abort();
    }
    hub.close_all(now);
    drain_events();
    return 0;
}
