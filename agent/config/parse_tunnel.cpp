// The tunnel: section: link, TLS, data channel, timers, MTU, pool, the OpenVPN extras and the
// hub's switch settings.
#include "config/validator.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>
#include <sstream>

#include "crypto/tls_context.hpp"

namespace wirebridge::config::detail {

void Validator::parse_tunnel(const Entry& e, Config& c) {
    if (!is_map(e.value, "tunnel")) return;
    const auto m = entries(e.value, "tunnel",
                           {"role", "proto", "local", "remote", "device", "address", "pool", "join_bridge", "ca",
                            "cert", "key", "tls_crypt", "tls_auth", "remote_cert_tls", "verify_x509_name", "crl", "tls_version_min",
                            "askpass", "data_ciphers", "compress", "keepalive", "reneg_seconds",
                             "mssfix", "tun_mtu", "txqueuelen", "rcvbuf", "sndbuf", "fragment", "auth", "data_ciphers_fallback",
                             "peer_fingerprint", "dh", "auth_user_pass", "auth_user_pass_verify",
                            "workers", "client_to_client", "duplicate_cn", "mac_age", "max_macs_per_client", "multicast_limit", "vlan",
                            "clients"});
    TunnelConfig& t = c.tunnel;
    const auto here = e.key.Mark();
    const bool role_ok = parse_link(m, here, t);
    const Entry* local = find(m, "local");
    const Entry* remote = find(m, "remote");
    if (auto* n = find(m, "address")) t.address = cidr(n->value, "tunnel.address");
    const Entry* pool = find(m, "pool");
    if (pool) parse_pool(*pool, c);
    const Entry* join = find(m, "join_bridge");
    if (join) {
        if (auto v = boolean(*join, "tunnel.join_bridge")) t.join_bridge = *v;
        if (t.join_bridge && !c.bridge) error(join->value.Mark(), "tunnel.join_bridge is true but there is no bridge section");
    }
    parse_tls(m, here, t);
    parse_data_channel(m, t);
    parse_mtu(m, t);
    parse_timers(m, t);
    const Entry* workers = find(m, "workers");
    if (workers)
        if (auto v = number(*workers, "tunnel.workers", 0, 64)) t.workers = static_cast<unsigned>(*v);
    const Entry* c2c = find(m, "client_to_client");
    if (c2c)
        if (auto v = boolean(*c2c, "tunnel.client_to_client")) t.client_to_client = *v;
    const Entry* dup_cn = find(m, "duplicate_cn");
    if (dup_cn)
        if (auto v = boolean(*dup_cn, "tunnel.duplicate_cn")) t.duplicate_cn = *v;

    const std::vector<const Entry*> switch_keys = parse_switch(m, t);
    const std::vector<const Entry*> openvpn_keys = parse_openvpn_extras(m, t);

    if (!role_ok) return;
    if (t.role == Role::client) {
        for (const Entry* k : switch_keys)
            error(k->key.Mark(), "tunnel." + k->key.as<std::string>() + " is only for a server (its virtual switch)");
        if (!remote) error(here, "tunnel.role is client but there is no 'remote' (the servers to connect to)");
        if (pool) error(pool->key.Mark(), "tunnel.pool is only for a server (a client gets its address pushed)");
        for (const Entry* k : openvpn_keys)
            if (k->key.Scalar() == "dh" || k->key.Scalar() == "auth_user_pass_verify")
                error(k->key.Mark(), "tunnel." + k->key.Scalar() + " is only for a server");
        if (c2c && t.client_to_client) error(c2c->key.Mark(), "tunnel.client_to_client is only for a server");
        if (dup_cn)
            error(dup_cn->key.Mark(),
                  "tunnel.duplicate_cn is only for a server (it says whether clients may share a certificate CN)");
    } else {
        // UDP: one SO_REUSEPORT socket and TAP queue per worker. TCP: one byte stream per client,
        // cut into packets in order by one reader, so the hub's data path stays one thread.
        if (workers && t.workers != 1 && t.proto == Transport::tcp)
            error(workers->key.Mark(), "tunnel.workers must be 1 on a server with proto tcp (each client is one TCP "
                                       "byte stream, read in order by one thread); data path workers need proto udp");
        if (!local) error(here, "tunnel.role is server but there is no 'local' (the address and port to listen on)");
        for (const Entry* k : openvpn_keys)
            if (k->key.Scalar() == "auth_user_pass")
                error(k->key.Mark(), "tunnel.auth_user_pass is only for a client (a server checks them with auth_user_pass_verify)");
        if (remote) error(remote->key.Mark(), "tunnel.remote is only for a client (a server listens on 'local')");
    }
}

// The link: role, transport, the socket's buffers, endpoints and the TAP device. False when the
// role is missing or wrong (the role checks are then skipped).
bool Validator::parse_link(const Entries& m, const YAML::Mark& here, TunnelConfig& t) {
    bool role_ok = false;
    if (auto* n = find(m, "role")) {
        if (auto v = text(*n, "tunnel.role")) {
            role_ok = true;
            if (*v == "client") t.role = Role::client;
            else if (*v == "server") t.role = Role::server;
            else {
                role_ok = false;
                error(n->value.Mark(), "tunnel.role must be client or server, not '" + *v + "'");
            }
        }
    } else {
        error(here, "tunnel has no 'role' (client or server)");
    }
    if (auto* n = find(m, "proto")) {
        if (auto v = text(*n, "tunnel.proto")) {
            if (*v == "udp") t.proto = Transport::udp;
            else if (*v == "tcp") t.proto = Transport::tcp;
            else error(n->value.Mark(), "tunnel.proto must be udp or tcp, not '" + *v + "'");
        }
    }
    // The socket's buffers (OpenVPN's --rcvbuf / --sndbuf): 0 (the kernel's) or a size in bytes.
    // Unset: 4 MiB over UDP; 0 over TCP, the kernel's autotuning.
    for (const auto& [key, field] : {std::pair{"rcvbuf", &t.rcvbuf}, std::pair{"sndbuf", &t.sndbuf}}) {
        const Entry* n = find(m, key);
        if (!n) {
            *field = t.proto == Transport::udp ? kUdpSocketBuffer : 0;
            continue;
        }
        const std::string what = std::string("tunnel.") + key;
        auto v = text(*n, what);
        if (!v) continue;
        unsigned long bytes = 0;
        const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), bytes);
        if (v->empty() || ec != std::errc{} || end != v->data() + v->size() ||
            (bytes != 0 && (bytes < kSocketBufferMin || bytes > kSocketBufferMax))) {
            error(n->value.Mark(), what + " must be 0 (the kernel's default) or a whole number of bytes from " +
                                       std::to_string(kSocketBufferMin) + " to " + std::to_string(kSocketBufferMax) +
                                       ", not '" + *v + "'");
            continue;
        }
        *field = static_cast<unsigned>(bytes);
    }
    if (const Entry* local = find(m, "local")) t.local = endpoint(local->value, "tunnel.local", false);
    if (const Entry* remote = find(m, "remote")) {
        if (auto items = list(*remote, "tunnel.remote")) {
            for (const auto& item : *items)
                if (auto ep = endpoint(item, "tunnel.remote", true)) t.remote.push_back(*ep);
            if (items->empty()) error(remote->value.Mark(), "tunnel.remote is empty; list at least one server");
        }
    }
    if (auto* n = find(m, "device")) {
        if (auto v = text(*n, "tunnel.device")) {
            std::string why;
            if (valid_ifname(*v, why)) t.device = *v;
            else error(n->value.Mark(), "tunnel.device: " + why);
        }
    }
    return role_ok;
}

// The TLS side: certificates and key, the control channel's wrap, and the peer checks.
void Validator::parse_tls(const Entries& m, const YAML::Mark& here, TunnelConfig& t) {
    for (const auto& [name, field] : {std::pair<const char*, std::string*>{"ca", &t.ca}, {"cert", &t.cert}, {"key", &t.key}}) {
        if (auto* n = find(m, name)) *field = file_path(*n, std::string("tunnel.") + name, "-----BEGIN ");
        else if (std::string(name) != "ca" || !find(m, "peer_fingerprint"))
            error(here, std::string("tunnel has no '") + name + "' (a PEM file; TLS mode needs ca, cert and key" +
                            (std::string(name) == "ca" ? ", or peer_fingerprint instead of ca)" : ")"));
    }
    const Entry* tc = find(m, "tls_crypt");
    if (tc) t.tls_crypt = file_path(*tc, "tunnel.tls_crypt", "-----BEGIN OpenVPN Static key V1-----");
    if (auto* n = find(m, "tls_auth")) {
        if (tc) {
            error(n->key.Mark(), "tunnel has both tls_auth and tls_crypt; use only one of them");
        } else if (is_map(n->value, "tunnel.tls_auth")) {
            const auto am = entries(n->value, "tunnel.tls_auth", {"key", "direction", "digest"});
            TlsAuthConfig ta;
            if (auto* k = find(am, "key")) ta.key = file_path(*k, "tunnel.tls_auth.key", "-----BEGIN OpenVPN Static key V1-----");
            else error(n->key.Mark(), "tunnel.tls_auth has no 'key' (the file written by genkey tls-auth)");
            if (auto* d = find(am, "direction"))
                if (auto v = number(*d, "tunnel.tls_auth.direction", 0, 1)) ta.direction = static_cast<int>(*v);
            if (auto* d = find(am, "digest")) {
                if (auto v = text(*d, "tunnel.tls_auth.digest")) {
                    std::string u;
                    for (char ch : *v)
                        if (ch != '-') u.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
                    if (u == "SHA1" || u == "SHA256" || u == "SHA384" || u == "SHA512") ta.digest = u;
                    else error(d->value.Mark(), "tunnel.tls_auth.digest must be SHA1, SHA256, SHA384 or SHA512 (OpenVPN's --auth), not '" + *v + "'");
                }
            }
            t.tls_auth = ta;
        }
    }
    if (auto* n = find(m, "remote_cert_tls")) {
        if (auto v = text(*n, "tunnel.remote_cert_tls")) {
            if (*v == "server" || *v == "client" || *v == "none") t.remote_cert_tls = *v;
            else error(n->value.Mark(), "tunnel.remote_cert_tls must be server, client or none, not '" + *v + "'");
        }
    }
    if (auto* n = find(m, "verify_x509_name")) {
        if (is_map(n->value, "tunnel.verify_x509_name")) {
            const auto vm = entries(n->value, "tunnel.verify_x509_name", {"name", "type"});
            VerifyNameConfig v;
            bool ok = true;
            if (auto* k = find(vm, "name")) {
                auto s = text(*k, "tunnel.verify_x509_name.name");
                if (s && !s->empty()) v.name = *s;
                else {
                    ok = false;
                    if (s) error(k->value.Mark(), "tunnel.verify_x509_name.name is empty");
                }
            } else {
                ok = false;
                error(n->key.Mark(), "tunnel.verify_x509_name has no 'name' (the peer certificate's CN, CN prefix or subject)");
            }
            if (auto* k = find(vm, "type")) {
                auto s = text(*k, "tunnel.verify_x509_name.type");
                if (s && (*s == "name" || *s == "name-prefix" || *s == "subject")) v.type = *s;
                else if (s) {
                    ok = false;
                    error(k->value.Mark(), "tunnel.verify_x509_name.type must be name, name-prefix or subject, not '" + *s + "'");
                }
            }
            if (ok) t.verify_x509_name = v;
        }
    }
    if (auto* n = find(m, "crl")) t.crl = file_path(*n, "tunnel.crl", "-----BEGIN X509 CRL-----");
    if (auto* n = find(m, "tls_version_min")) {
        if (auto v = text(*n, "tunnel.tls_version_min")) {
            if (*v == "1.2" || *v == "1.3") t.tls_version_min = *v;
            else error(n->value.Mark(), "tunnel.tls_version_min must be 1.2 or 1.3 (older TLS is never used), not '" + *v + "'");
        }
    }
    if (auto* n = find(m, "askpass")) t.askpass = file_path(*n, "tunnel.askpass", nullptr);
}

// The data channel: ciphers (negotiated or fallback), the CBC HMAC, compression framing.
void Validator::parse_data_channel(const Entries& m, TunnelConfig& t) {
    if (auto* n = find(m, "data_ciphers")) {
        if (auto items = list(*n, "tunnel.data_ciphers")) {
            std::vector<std::string> chosen;
            for (const auto& item : *items) {
                if (!item.IsScalar()) {
                    error(item.Mark(), "tunnel.data_ciphers entries must be cipher names, not " + std::string(kind(item)));
                    continue;
                }
                const auto& all = supported_ciphers();
                auto it = std::find_if(all.begin(), all.end(),
                                       [&](const std::string& s) { return lower(s) == lower(item.Scalar()); });
                if (it == all.end()) {
                    error(item.Mark(), "unknown data cipher '" + item.Scalar() +
                                           "' (supported: AES-256-GCM, AES-128-GCM, CHACHA20-POLY1305, AES-256-CBC, AES-128-CBC)");
                } else if (std::find(chosen.begin(), chosen.end(), *it) != chosen.end()) {
                    error(item.Mark(), "tunnel.data_ciphers lists " + *it + " twice");
                } else {
                    chosen.push_back(*it);
                }
            }
            if (items->empty()) error(n->value.Mark(), "tunnel.data_ciphers is empty; list at least one cipher");
            else if (!chosen.empty()) t.data_ciphers = chosen;
        }
    }
    if (auto* n = find(m, "compress")) {
        if (auto v = text(*n, "tunnel.compress")) {
            static const char* const known[] = {"none", "comp-lzo", "lzo", "stub", "lz4", "stub-v2", "lz4-v2"};
            if (std::find(std::begin(known), std::end(known), *v) != std::end(known)) t.compress = *v;
            else error(n->value.Mark(), "tunnel.compress must be none, comp-lzo, lzo, stub, lz4, stub-v2 or lz4-v2 "
                                        "(OpenVPN's comp-lzo / compress ALG), not '" + *v + "'");
        }
    }
    if (auto* n = find(m, "data_ciphers_fallback")) {
        if (auto v = text(*n, "tunnel.data_ciphers_fallback")) {
            const auto& all = supported_ciphers();
            auto it = std::find_if(all.begin(), all.end(), [&](const std::string& s) { return lower(s) == lower(*v); });
            if (it == all.end())
                error(n->value.Mark(), "tunnel.data_ciphers_fallback must be one of AES-256-GCM, AES-128-GCM, "
                                       "CHACHA20-POLY1305, AES-256-CBC, AES-128-CBC, not '" + *v + "'");
            else t.data_ciphers_fallback = *it;
        }
    }
    if (auto* n = find(m, "auth")) {
        if (auto v = text(*n, "tunnel.auth")) {
            std::string u;
            for (char ch : *v)
                if (ch != '-') u.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
            if (u != "SHA1" && u != "SHA256" && u != "SHA384" && u != "SHA512")
                error(n->value.Mark(), "tunnel.auth must be SHA1, SHA256, SHA384 or SHA512 (OpenVPN's --auth), not '" + *v + "'");
            else t.auth = u;
        }
    }
}

// Keepalive and renegotiation.
void Validator::parse_timers(const Entries& m, TunnelConfig& t) {
    if (auto* n = find(m, "keepalive")) {
        if (is_map(n->value, "tunnel.keepalive")) {
            const auto km = entries(n->value, "tunnel.keepalive", {"interval", "timeout"});
            bool ok = true;
            if (auto* i = find(km, "interval")) {
                auto v = number(*i, "tunnel.keepalive.interval", 1, 3600);
                ok = ok && v;
                if (v) t.keepalive.interval = static_cast<unsigned>(*v);
            }
            if (auto* i = find(km, "timeout")) {
                auto v = number(*i, "tunnel.keepalive.timeout", 1, 86400);
                ok = ok && v;
                if (v) t.keepalive.timeout = static_cast<unsigned>(*v);
            }
            if (ok && t.keepalive.timeout < 2 * t.keepalive.interval)
                error(n->value.Mark(), "tunnel.keepalive.timeout must be at least twice the interval");
        }
    }
    if (auto* n = find(m, "reneg_seconds"))
        if (auto v = number(*n, "tunnel.reneg_seconds", 0, 7 * 86400)) t.reneg_seconds = static_cast<unsigned>(*v);
}

// The MTU keys (OpenVPN's --mssfix, --tun-mtu, --fragment), each "SIZE [mode]" as OpenVPN writes it,
// and the TAP's queue length (--txqueuelen).
void Validator::parse_mtu(const Entries& m, TunnelConfig& t) {
    // "N" or "N MODE" with N 0 (off) or min..max and MODE one of modes; nullopt (reported) otherwise.
    auto size_mode = [&](const Entry& n, const std::string& what, const std::vector<std::string>& modes,
                         const std::string& usage) -> std::optional<std::pair<unsigned, std::string>> {
        auto v = text(n, what);
        if (!v) return std::nullopt;
        std::istringstream in(*v);
        std::string size, mode, extra;
        in >> size >> mode >> extra;
        unsigned long n_size = 0;
        const auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), n_size);
        const bool number_ok = !size.empty() && ec == std::errc{} && end == size.data() + size.size() &&
                               (n_size == 0 || (n_size >= 576 && n_size <= 9000));
        if (!number_ok || !extra.empty() || !(mode.empty() || std::find(modes.begin(), modes.end(), mode) != modes.end())) {
            error(n.value.Mark(), what + " must be " + usage + ", not '" + *v + "'");
            return std::nullopt;
        }
        return std::pair<unsigned, std::string>{static_cast<unsigned>(n_size), mode};
    };
    if (auto* n = find(m, "mssfix"))
        // As --mssfix: "N", "N mtu" or "N fixed"; 0 turns clamping off.
        if (auto v = size_mode(*n, "tunnel.mssfix", {"mtu", "fixed"},
                               "0 (off), a size from 576 to 9000, 'SIZE mtu' or 'SIZE fixed' (OpenVPN's --mssfix)"))
            t.mssfix = MssfixConfig{v->first, v->second.empty() ? "payload" : v->second};
    if (auto* n = find(m, "tun_mtu"))
        if (auto v = number(*n, "tunnel.tun_mtu", 576, 1500)) t.tun_mtu = static_cast<unsigned>(*v);
    if (auto* n = find(m, "txqueuelen"))
        if (auto v = number(*n, "tunnel.txqueuelen", 16, 65536)) t.txqueuelen = static_cast<unsigned>(*v);
    if (auto* n = find(m, "fragment")) {
        // As --fragment: "N" or "N mtu"; UDP only, as OpenVPN ("--fragment can only be used with --proto udp").
        if (auto v = size_mode(*n, "tunnel.fragment", {"mtu"}, "0 (off), a size from 576 to 9000 or 'SIZE mtu' (OpenVPN's --fragment)")) {
            if (v->first != 0 && t.proto != Transport::udp)
                error(n->key.Mark(), "tunnel.fragment needs proto udp (OpenVPN's --fragment cuts datagrams; TCP needs none)");
            else if (v->first != 0) t.fragment = FragmentConfig{v->first, v->second == "mtu"};
        }
    }
}

// tunnel.pool: an IPv4 prefix ("10.8.0.0/24": .2 .. broadcast-1 handed out), or a map as OpenVPN's
// server-bridge GW MASK START END: {subnet, start, end, gateway, persist}.
void Validator::parse_pool(const Entry& e, Config& c) {
    TunnelConfig& t = c.tunnel;
    const YAML::Node* subnet = &e.value;
    Entries pm;
    if (e.value.IsMap()) {
        pm = entries(e.value, "tunnel.pool", {"subnet", "start", "end", "gateway", "persist"});
        const Entry* s = find(pm, "subnet");
        if (!s) {
            error(e.key.Mark(), "tunnel.pool has no 'subnet' (the clients' prefix, e.g. 192.168.1.0/24: its length is the netmask pushed)");
            return;
        }
        subnet = &s->value;
    }
    t.pool = cidr(*subnet, "tunnel.pool");
    if (t.pool && (t.pool->address.family != AF_INET || t.pool->prefix > 30)) {
        error(subnet->Mark(), "tunnel.pool must be an IPv4 prefix of /30 or larger");
        t.pool.reset();
    }
    if (!e.value.IsMap()) return;
    auto v4 = [&](const char* key) -> std::optional<IpAddress> {
        const Entry* n = find(pm, key);
        if (!n) return std::nullopt;
        auto s = text(*n, std::string("tunnel.pool.") + key);
        if (!s) return std::nullopt;
        std::string why;
        auto a = parse_ip(*s, why);
        if (!a || a->family != AF_INET) {
            error(n->value.Mark(), std::string("tunnel.pool.") + key + " must be an IPv4 address" + (a ? "" : ": " + why));
            return std::nullopt;
        }
        return a;
    };
    auto host = [](const IpAddress& a) {
        std::uint32_t be = 0;
        std::memcpy(&be, a.bytes.data(), 4);
        return ntohl(be);
    };
    PoolOptions& o = t.pool_options;
    o.start = v4("start");
    o.end = v4("end");
    o.gateway = v4("gateway");
    if (find(pm, "start") && find(pm, "end") && o.start && o.end && t.pool) {
        const std::uint32_t mask = t.pool->ipv4_netmask(), net = host(t.pool->address) & mask;
        const std::uint32_t a = host(*o.start), b = host(*o.end);
        if ((a & mask) != net || (b & mask) != net)
            error(find(pm, "start")->value.Mark(), "tunnel.pool.start and end must be inside the subnet " +
                                                        t.pool->network().to_string() + "/" + std::to_string(t.pool->prefix));
        else if (a > b)
            error(find(pm, "start")->value.Mark(), "tunnel.pool.start is after tunnel.pool.end");
        else if (a == net || b == (net | ~mask))
            error(find(pm, "start")->value.Mark(), "tunnel.pool.start..end must not hold the subnet's network or broadcast address");
    } else if (static_cast<bool>(find(pm, "start")) != static_cast<bool>(find(pm, "end"))) {
        error(e.key.Mark(), "tunnel.pool needs both 'start' and 'end' (the range handed out), or neither");
    }
    if (!(o.start && o.end)) o.start.reset(), o.end.reset();
    if (const Entry* p = find(pm, "persist")) {
        if (auto s = text(*p, "tunnel.pool.persist")) {
            if (s->empty()) error(p->value.Mark(), "tunnel.pool.persist is empty; it must name a file");
            else o.persist = (*s)[0] == '/' ? *s : base_dir_ + *s;
        }
    }
}

// OpenVPN options of existing deployments: peer_fingerprint, dh, auth_user_pass (client) and
// auth_user_pass_verify (server). Returns the keys given, for the role checks.
std::vector<const Validator::Entry*> Validator::parse_openvpn_extras(const Entries& m, TunnelConfig& t) {
    std::vector<const Entry*> given;
    if (const Entry* n = find(m, "peer_fingerprint")) {
        given.push_back(n);
        std::vector<YAML::Node> items;
        if (n->value.IsScalar()) items.push_back(n->value);
        else if (auto l = list(*n, "tunnel.peer_fingerprint")) items = *l;
        for (const auto& item : items) {
            if (!item.IsScalar() || !crypto::parse_fingerprint(item.Scalar())) {
                error(item.Mark(), "tunnel.peer_fingerprint entries must be SHA256 fingerprints, 32 hex pairs separated by ':' "
                                   "(openssl x509 -fingerprint -sha256 -noout -in CERT)");
                continue;
            }
            t.peer_fingerprint.push_back(item.Scalar());
        }
        if (items.empty() && n->value.IsSequence()) error(n->value.Mark(), "tunnel.peer_fingerprint is empty");
    }
    if (const Entry* n = find(m, "dh")) {
        given.push_back(n);
        t.dh = file_path(*n, "tunnel.dh", "-----BEGIN DH PARAMETERS-----");
    }
    if (const Entry* n = find(m, "auth_user_pass")) {
        given.push_back(n);
        t.auth_user_pass = file_path(*n, "tunnel.auth_user_pass", nullptr);
    }
    if (const Entry* n = find(m, "auth_user_pass_verify")) {
        given.push_back(n);
        if (!is_map(n->value, "tunnel.auth_user_pass_verify")) return given;
        const auto am = entries(n->value, "tunnel.auth_user_pass_verify", {"command", "method", "timeout"});
        AuthVerifyConfig a;
        bool ok = true;
        if (const Entry* k = find(am, "command")) {
            if (k->value.IsScalar()) {
                std::istringstream words(k->value.Scalar());
                for (std::string w; words >> w;) a.command.push_back(w);
            } else if (auto l = list(*k, "tunnel.auth_user_pass_verify.command")) {
                for (const auto& item : *l) {
                    if (item.IsScalar()) a.command.push_back(item.Scalar());
                    else error(item.Mark(), "tunnel.auth_user_pass_verify.command entries must be words, not " + std::string(kind(item)));
                }
            }
            if (a.command.empty()) {
                ok = false;
                error(k->value.Mark(), "tunnel.auth_user_pass_verify.command is empty; name the program to run");
            } else {
                if (a.command[0][0] != '/') a.command[0] = base_dir_ + a.command[0];
                if (options_.check_system && access(a.command[0].c_str(), X_OK) != 0)
                    error(k->value.Mark(), "tunnel.auth_user_pass_verify.command '" + a.command[0] +
                                               "' is not an executable file: " + std::strerror(errno));
            }
        } else {
            ok = false;
            error(n->key.Mark(), "tunnel.auth_user_pass_verify has no 'command' (the program whose exit status 0 admits a client)");
        }
        if (const Entry* k = find(am, "method")) {
            if (auto s = text(*k, "tunnel.auth_user_pass_verify.method")) {
                if (*s == "via-file" || *s == "via-env") a.method = *s;
                else error(k->value.Mark(), "tunnel.auth_user_pass_verify.method must be via-file or via-env, not '" + *s + "'");
            }
        }
        if (const Entry* k = find(am, "timeout"))
            if (auto v = number(*k, "tunnel.auth_user_pass_verify.timeout", 1, 300)) a.timeout = static_cast<unsigned>(*v);
        if (ok) t.auth_user_pass_verify = a;
    }
    return given;
}

// The server's virtual switch: ageing, limits, VLANs and per-client settings. Returns the keys that
// were given, so a client config that sets them can be told they do not apply.
std::vector<const Validator::Entry*> Validator::parse_switch(const Entries& m, TunnelConfig& t) {
    std::vector<const Entry*> given;
    if (auto* n = find(m, "mac_age")) {
        given.push_back(n);
        if (auto v = number(*n, "tunnel.mac_age", 0, 86400)) t.mac_age = static_cast<unsigned>(*v);
    }
    if (auto* n = find(m, "max_macs_per_client")) {
        given.push_back(n);
        if (auto v = number(*n, "tunnel.max_macs_per_client", 1, 65536)) t.max_macs_per_client = static_cast<unsigned>(*v);
    }
    if (auto* n = find(m, "multicast_limit")) {
        given.push_back(n);
        if (auto v = number(*n, "tunnel.multicast_limit", 0, 1000000)) t.multicast_limit = static_cast<unsigned>(*v);
    }
    if (auto* n = find(m, "vlan")) {
        given.push_back(n);
        if (is_map(n->value, "tunnel.vlan")) {
            const auto vm = entries(n->value, "tunnel.vlan", {"tagging", "pvid"});
            if (auto* i = find(vm, "tagging"))
                if (auto v = boolean(*i, "tunnel.vlan.tagging")) t.vlan_tagging = *v;
            if (auto* i = find(vm, "pvid"))
                if (auto v = number(*i, "tunnel.vlan.pvid", 1, 4094)) t.vlan_pvid = static_cast<std::uint16_t>(*v);
        }
    }
    if (auto* n = find(m, "clients")) {
        given.push_back(n);
        if (auto items = list(*n, "tunnel.clients")) {
            std::set<std::string> names;
            for (const auto& item : *items) {
                if (!is_map(item, "a tunnel.clients entry")) continue;
                const auto cm = entries(item, "a tunnel.clients entry", {"name", "vlan", "max_macs", "macs"});
                ClientConfig cc;
                const Entry* name = find(cm, "name");
                if (!name) {
                    error(item.Mark(), "a tunnel.clients entry needs 'name' (the client certificate's common name)");
                    continue;
                }
                if (auto v = text(*name, "tunnel.clients name")) {
                    if (v->empty()) error(name->value.Mark(), "tunnel.clients name is empty");
                    else if (!names.insert(*v).second)
                        error(name->value.Mark(), "tunnel.clients lists '" + *v + "' twice");
                    cc.name = *v;
                }
                if (auto* i = find(cm, "vlan")) {
                    if (auto v = number(*i, "tunnel.clients vlan", 1, 4094)) cc.vlan = static_cast<std::uint16_t>(*v);
                    if (!t.vlan_tagging) error(i->key.Mark(), "tunnel.clients vlan needs tunnel.vlan.tagging: true");
                }
                if (auto* i = find(cm, "max_macs"))
                    if (auto v = number(*i, "tunnel.clients max_macs", 1, 65536)) cc.max_macs = static_cast<unsigned>(*v);
                if (auto* i = find(cm, "macs")) {
                    if (auto macs = list(*i, "tunnel.clients macs")) {
                        std::vector<MacAddress> allowed;
                        for (const auto& mac : *macs) {
                            std::string why;
                            if (!mac.IsScalar()) {
                                error(mac.Mark(), std::string("tunnel.clients macs: each item must be a MAC address, but one is ") + kind(mac));
                            } else if (auto a = parse_mac(mac.Scalar(), why)) {
                                if (std::find(allowed.begin(), allowed.end(), *a) != allowed.end())
                                    error(mac.Mark(), "tunnel.clients macs lists " + to_string(*a) + " twice");
                                else allowed.push_back(*a);
                            } else {
                                error(mac.Mark(), "tunnel.clients macs: " + why);
                            }
                        }
                        if (macs->empty())
                            error(i->value.Mark(), "tunnel.clients macs is empty: the client could send nothing (leave "
                                                   "'macs' out for no allowlist)");
                        else if (allowed.size() > kMaxAllowedMacs)
                            error(i->value.Mark(), "tunnel.clients macs lists " + std::to_string(allowed.size()) +
                                                       " MACs; at most " + std::to_string(kMaxAllowedMacs));
                        cc.macs = std::move(allowed);
                    }
                }
                t.clients.push_back(std::move(cc));
            }
        }
    }
    return given;
}

}  // namespace wirebridge::config::detail
