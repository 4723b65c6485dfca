// Translation of config::Config into session, crypto and io settings.
#include "app/tunnel_setup.hpp"

#include <arpa/inet.h>

#include <cstring>

#include "crypto/static_key.hpp"
#include "crypto/tls_context.hpp"

namespace wirebridge::app {

Result<session::SessionConfig> make_session_config(const config::Config& c) {
    const auto& t = c.tunnel;
    session::SessionConfig s;
    s.role = t.role == config::Role::client ? session::Role::client : session::Role::server;
    s.transport = t.proto == config::Transport::udp ? session::Transport::udp : session::Transport::tcp;
    crypto::TlsConfig tls;
    tls.role = t.role == config::Role::client ? crypto::Role::Client : crypto::Role::Server;
    tls.ca_file = t.ca;
    tls.cert_file = t.cert;
    tls.key_file = t.key;
    // Like openvpn's remote-cert-tls: the peer must hold a certificate made for the other role.
    tls.remote_cert_tls = t.role == config::Role::client ? crypto::RemoteCertTls::Server : crypto::RemoteCertTls::Client;
    auto ctx = crypto::TlsContext::create(tls);
    if (!ctx) return fail(ctx.error());
    s.tls = *ctx;
    if (t.tls_crypt) {
        auto k = crypto::read_static_key_file(*t.tls_crypt);
        if (!k) return fail(k.error());
        s.wrap.mode = session::WrapMode::tls_crypt;
        s.wrap.key = std::move(*k);
    } else if (t.tls_auth) {
        auto k = crypto::read_static_key_file(t.tls_auth->key);
        if (!k) return fail(k.error());
        s.wrap.mode = session::WrapMode::tls_auth;
        s.wrap.key = std::move(*k);
        s.wrap.direction = !t.tls_auth->direction        ? crypto::KeyDirection::Bidirectional
                           : *t.tls_auth->direction == 0 ? crypto::KeyDirection::Normal
                                                         : crypto::KeyDirection::Inverse;
    }
    s.data_ciphers = t.data_ciphers;
    s.reneg_seconds = t.reneg_seconds;
    // openvpn's `keepalive I T`: both sides ping every I s; a server pushes ping I / ping-restart T
    // and gives up on a client after 2*T itself (Session does the pushing and the doubling).
    s.ping_s = t.keepalive.interval;
    s.ping_restart_s = t.keepalive.timeout;
    return s;
}

Result<session::Ipv4Pool> make_pool(const config::Config& c) {
    const auto& t = c.tunnel;
    if (!t.pool) return fail("a server needs tunnel.pool", EINVAL);
    std::vector<uint32_t> reserved;
    if (t.address && t.address->address.family == AF_INET) {
        uint32_t a = 0;
        std::memcpy(&a, t.address->address.bytes.data(), 4);
        reserved.push_back(ntohl(a));
    }
    auto pool = session::Ipv4Pool::from_cidr(t.pool->to_string(), reserved);
    if (!pool) return fail("tunnel.pool " + t.pool->to_string() + " has no addresses to give", EINVAL);
    return std::move(*pool);
}

Result<io::TapDevice> open_tap(const config::Config& c) {
    auto tap = io::TapDevice::open(c.tunnel.device);
    if (!tap) return fail(tap.error());
    if (auto up = tap->set_up(true); !up) return fail(up.error());
    if (const auto& a = c.tunnel.address) {
        if (a->address.family == AF_INET) {
            uint32_t be = 0;
            std::memcpy(&be, a->address.bytes.data(), 4);
            if (auto r = tap->set_ipv4(be, a->prefix); !r) return fail(r.error());
        } else if (auto r = tap->add_ipv6(a->address.bytes, a->prefix); !r) {
            return fail(r.error());
        }
    }
    return tap;
}

Result<io::SocketAddress> to_socket_address(const config::Endpoint& e) {
    return io::SocketAddress::resolve(e.host, e.port);
}

}  // namespace wirebridge::app
