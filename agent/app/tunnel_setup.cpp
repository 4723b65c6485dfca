// Translation of config::Config into session, crypto and io settings.
#include "app/tunnel_setup.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include "common/log.hpp"
#include "app/user_pass_checks.hpp"
#include "auth/user_pass.hpp"
#include "crypto/static_key.hpp"
#include "crypto/tls_context.hpp"

namespace wirebridge::app {

namespace {

// askpass FILE: its first line is the private key's passphrase (as OpenVPN's --askpass FILE).
Result<std::string> read_askpass(const std::string& path) {
    std::ifstream in(path);
    if (!in) return fail("tunnel.askpass: cannot read '" + path + "'", EACCES);
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) return fail("tunnel.askpass: '" + path + "' has an empty first line (the passphrase)", EINVAL);
    return line;
}

}  // namespace

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
    // remote-cert-tls: a client checks that the server's certificate was made for a server (OpenVPN's
    // sample client.conf); a server accepts any client certificate of its CA unless told (as OpenVPN).
    // With peer_fingerprint and no CA the fingerprint pins the certificate (self-signed, no EKU).
    const std::string rct = t.remote_cert_tls.value_or(t.role == config::Role::client && !t.ca.empty() ? "server" : "none");
    tls.remote_cert_tls = rct == "server"   ? crypto::RemoteCertTls::Server
                          : rct == "client" ? crypto::RemoteCertTls::Client
                                            : crypto::RemoteCertTls::None;
    if (t.verify_x509_name) {
        tls.verify_name = t.verify_x509_name->name;
        tls.verify_name_type = t.verify_x509_name->type == "name-prefix" ? crypto::VerifyNameType::NamePrefix
                               : t.verify_x509_name->type == "subject"   ? crypto::VerifyNameType::Subject
                                                                         : crypto::VerifyNameType::Name;
    }
    if (t.crl) tls.crl_file = *t.crl;
    for (const auto& f : t.peer_fingerprint)
        if (auto fp = crypto::parse_fingerprint(f)) tls.peer_fingerprints.push_back(*fp);
    if (t.dh) tls.dh_file = *t.dh;
    if (t.auth_user_pass) {
        auto up = auth::read_user_pass_file(*t.auth_user_pass);
        if (!up) return fail(up.error());
        s.username = up->username;
        s.password = up->password;
    }
    if (t.role == config::Role::server) {
        // As OpenVPN's server-bridge: GW pushed as route-gateway; without a pool the clients take
        // their address by DHCP through the bridge ("route-gateway dhcp").
        if (!t.pool) s.push.route_gateway = "dhcp";
        else if (t.pool_options.gateway) s.push.route_gateway = t.pool_options.gateway->to_string();
    }
    tls.tls_version_min = t.tls_version_min == "1.3" ? 0x0304 : 0x0303;
    if (t.askpass) {
        auto pw = read_askpass(*t.askpass);
        if (!pw) return fail(pw.error());
        tls.key_password = std::move(*pw);
    }
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
        s.wrap.digest = crypto::parse_digest(t.tls_auth->digest).value_or(crypto::Digest::Sha1);
    }
    s.data_ciphers = t.data_ciphers;
    s.data_ciphers_fallback = t.data_ciphers_fallback;
    s.auth = crypto::parse_digest(t.auth).value_or(crypto::Digest::Sha1);
    if (t.compress == "comp-lzo") s.compression = proto::CompressionFraming::comp_lzo;
    else if (t.compress != "none") s.compression = proto::compression_of({"compress", t.compress});
    if (t.fragment) {
        s.fragment = static_cast<std::uint16_t>(t.fragment->size);
        s.fragment_mtu = t.fragment->mtu;
    }
    // --mssfix; unset: OpenVPN 2.6's default, the --fragment size when set (options.c), else
    // `1492 mtu` with the default 1500-byte tun-mtu, else the TAP's MTU as the fixed packet size.
    if (!t.mssfix && t.fragment)
        s.mssfix = proto::MssFix{t.fragment->mtu ? proto::MssFix::Mode::mtu : proto::MssFix::Mode::payload, s.fragment};
    else if (!t.mssfix) s.mssfix = t.tun_mtu == 1500 ? proto::MssFix{proto::MssFix::Mode::mtu, 1492}
                                                : proto::MssFix{proto::MssFix::Mode::fixed, static_cast<std::uint16_t>(t.tun_mtu)};
    else if (t.mssfix->size == 0) s.mssfix = proto::MssFix{proto::MssFix::Mode::off, 0};
    else s.mssfix = proto::MssFix{t.mssfix->mode == "mtu"     ? proto::MssFix::Mode::mtu
                                  : t.mssfix->mode == "fixed" ? proto::MssFix::Mode::fixed
                                                              : proto::MssFix::Mode::payload,
                                  static_cast<std::uint16_t>(t.mssfix->size)};
    // A server with another tun-mtu pushes it, as OpenVPN 2.6 (stock clients then size their TAP).
    if (t.role == config::Role::server && t.tun_mtu != 1500) s.push.tun_mtu = t.tun_mtu;
    s.reneg_seconds = t.reneg_seconds;
    // openvpn's `keepalive I T`: both sides ping every I s; a server pushes ping I / ping-restart T
    // and gives up on a client after 2*T itself (Session does the pushing and the doubling).
    s.ping_s = t.keepalive.interval;
    s.ping_restart_s = t.keepalive.timeout;
    s.limits.push_reply_burst = c.limits.push_request_burst;
    s.limits.push_reply_period_ms = c.limits.push_request_interval * 1000;
    s.limits.soft_reset_burst = c.limits.soft_reset_burst;
    s.limits.soft_reset_period_ms = c.limits.soft_reset_interval * 1000;
    return s;
}

Result<std::optional<session::Ipv4Pool>> make_pool(const config::Config& c) {
    const auto& t = c.tunnel;
    if (!t.pool) return std::optional<session::Ipv4Pool>{};  // server-bridge without a pool: clients use DHCP
    std::vector<uint32_t> reserved;
    auto host = [](const config::IpAddress& a) {
        uint32_t be = 0;
        std::memcpy(&be, a.bytes.data(), 4);
        return ntohl(be);
    };
    if (t.address && t.address->address.family == AF_INET) reserved.push_back(host(t.address->address));
    if (c.bridge && c.bridge->address && c.bridge->address->address.family == AF_INET)
        reserved.push_back(host(c.bridge->address->address));
    if (t.pool_options.gateway) reserved.push_back(host(*t.pool_options.gateway));
    std::optional<session::Ipv4Pool> pool;
    if (t.pool_options.start && t.pool_options.end)
        pool = session::Ipv4Pool::from_range(host(*t.pool_options.start), host(*t.pool_options.end), t.pool->ipv4_netmask(), reserved);
    else
        pool = session::Ipv4Pool::from_cidr(t.pool->to_string(), reserved);
    if (!pool) return fail("tunnel.pool " + t.pool->to_string() + " has no addresses to give", EINVAL);
    if (const auto& file = t.pool_options.persist) {
        size_t skipped = 0;
        if (auto r = pool->load(*file, &skipped); !r) return fail("tunnel.pool.persist: " + r.error().message, EINVAL);
        if (skipped) log_warn("tunnel.pool.persist: " + std::to_string(skipped) + " line(s) of " + *file +
                              " skipped (malformed, or an address outside the pool)");
        if (auto r = pool->save(*file); !r) return fail("tunnel.pool.persist: " + r.error().message, EINVAL);
    }
    return pool;
}

std::shared_ptr<UserPassChecks> configure_server(const config::Config& c, session::ServerConfig& sc) {
    const auto& t = c.tunnel;
    if (t.pool_options.persist) sc.pool_persist = *t.pool_options.persist;
    if (!t.auth_user_pass_verify) return nullptr;
    const auto& v = *t.auth_user_pass_verify;
    auto checks = std::make_shared<UserPassChecks>(auth::VerifyOptions{v.command, v.method == "via-file", v.timeout, "/tmp"});
    checks->wire(sc);
    return checks;
}

Result<io::TapDevice> open_tap(const config::Config& c) {
    auto tap = io::TapDevice::open(c.tunnel.device);
    if (!tap) return fail(tap.error());
    if (c.tunnel.tun_mtu != 1500)
        if (auto m = tap->set_mtu(c.tunnel.tun_mtu); !m) return fail(m.error());
    // Always set: the system's default (1000) overflows when the reader is descheduled for a few ms
    // under a flood of small frames (docs/CONFIG.md, tunnel.txqueuelen).
    if (auto q = tap->set_txqueuelen(c.tunnel.txqueuelen); !q)
        return fail("tunnel.txqueuelen: " + q.error().message, q.error().code);
    log_info("TAP " + tap->name() + ": txqueuelen " + std::to_string(c.tunnel.txqueuelen));
    // A TAP that is only a bridge port says nothing of its own: no link-local address, so no
    // router solicitations or MLD reports from its MAC cross the tunnel (a hub's MAC allowlist
    // would count them; a remote LAN would see the box's MAC).
    const bool v6_address = c.tunnel.address && c.tunnel.address->address.family == AF_INET6;
    if (c.tunnel.join_bridge && !v6_address)
        if (auto q = tap->no_ipv6_link_local(); !q) log_warn("TAP " + tap->name() + ": " + q.error().message);
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
