// YAML → Config: walks the known schema, checks every value, and collects all errors with their position.
#include "config/loader.hpp"

#include <arpa/inet.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "config/suggest.hpp"
#include "crypto/static_key.hpp"
#include "crypto/tls_context.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

namespace wirebridge::config {

std::string ConfigError::to_string() const {
    if (line <= 0) return file + ": " + message;
    return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

namespace {

// Walks one document. Every check adds to errors_ and carries on, so one run reports everything.
class Validator {
public:
    Validator(std::string file, const LoadOptions& options) : file_(std::move(file)), options_(options) {
        const auto slash = file_.rfind('/');
        base_dir_ = slash == std::string::npos ? "" : file_.substr(0, slash + 1);
    }

    std::vector<ConfigError> errors_;

    void error(const YAML::Mark& m, std::string message) {
        // yaml-cpp marks are 0-based; a null mark (-1) means "no position".
        const int line = m.line < 0 ? 0 : m.line + 1;
        const int column = m.column < 0 ? 0 : m.column + 1;
        errors_.push_back(ConfigError{file_, line, column, std::move(message)});
    }
    void error_at_start(std::string message) {
        errors_.push_back(ConfigError{file_, 1, 1, std::move(message)});
    }

    Config run(const YAML::Node& root);

private:
    struct Entry {
        YAML::Node key;
        YAML::Node value;
    };
    // A map's entries by key text, after reporting unknown and repeated keys.
    using Entries = std::vector<std::pair<std::string, Entry>>;

    Entries entries(const YAML::Node& map, const std::string& where, const std::vector<std::string>& allowed);
    static const Entry* find(const Entries& e, const std::string& key);

    std::optional<std::string> text(const Entry& e, const std::string& what);
    std::optional<std::uint64_t> number(const Entry& e, const std::string& what, std::uint64_t min,
                                        std::uint64_t max);
    std::optional<bool> boolean(const Entry& e, const std::string& what);
    std::optional<std::vector<YAML::Node>> list(const Entry& e, const std::string& what);
    std::optional<Cidr> cidr(const YAML::Node& n, const std::string& what);
    std::optional<Endpoint> endpoint(const YAML::Node& n, const std::string& what, bool allow_name);
    std::string file_path(const Entry& e, const std::string& what, const char* pem_marker);
    bool is_map(const YAML::Node& n, const std::string& what);

    void parse_bridge(const Entry& e, Config& c);
    void parse_tunnel(const Entry& e, Config& c);
    std::vector<const Entry*> parse_switch(const Entries& m, TunnelConfig& t);
    void parse_pool(const Entry& e, Config& c);
    void parse_mtu(const Entries& m, TunnelConfig& t);
    bool parse_link(const Entries& m, const YAML::Mark& here, TunnelConfig& t);
    void parse_tls(const Entries& m, const YAML::Mark& here, TunnelConfig& t);
    void parse_data_channel(const Entries& m, TunnelConfig& t);
    void parse_timers(const Entries& m, TunnelConfig& t);
    std::vector<const Entry*> parse_openvpn_extras(const Entries& m, TunnelConfig& t);
    void parse_fastpath(const Entry& e, Config& c);
    void parse_interest(const Entry& e, Config& c);
    void parse_control(const Entry& e, Config& c);
    void parse_log(const Entry& e, Config& c);
    void parse_limits(const Entry& e, Config& c);

    std::string file_;
    std::string base_dir_;
    LoadOptions options_;
};

const char* kind(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Null: return "nothing";
        case YAML::NodeType::Scalar: return "a single value";
        case YAML::NodeType::Sequence: return "a list";
        case YAML::NodeType::Map: return "a map";
        default: return "an undefined value";
    }
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

Validator::Entries Validator::entries(const YAML::Node& map, const std::string& where,
                                      const std::vector<std::string>& allowed) {
    Entries out;
    if (!map.IsMap()) return out;
    for (auto it = map.begin(); it != map.end(); ++it) {
        const YAML::Node k = it->first;
        if (!k.IsScalar()) {
            error(k.Mark(), "a key in " + where + " is " + kind(k) + "; keys must be plain names");
            continue;
        }
        const std::string name = k.Scalar();
        if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
            std::string known;
            for (const auto& a : allowed) known += (known.empty() ? "" : ", ") + a;
            const auto guess = closest_name(name, allowed);
            error(k.Mark(), "unknown key '" + name + "' in " + where +
                                (guess ? "; did you mean '" + *guess + "'?" : "") + " (known keys: " + known + ")");
            continue;
        }
        if (const Entry* first = find(out, name)) {
            error(k.Mark(), "key '" + name + "' appears twice in " + where + "; the first is at line " +
                                std::to_string(first->key.Mark().line + 1) + " column " +
                                std::to_string(first->key.Mark().column + 1));
            continue;
        }
        out.emplace_back(name, Entry{k, it->second});
    }
    return out;
}

const Validator::Entry* Validator::find(const Entries& e, const std::string& key) {
    for (const auto& [name, entry] : e)
        if (name == key) return &entry;
    return nullptr;
}

bool Validator::is_map(const YAML::Node& n, const std::string& what) {
    if (n.IsMap()) return true;
    error(n.Mark(), what + " must be a map of keys, but it is " + kind(n));
    return false;
}

std::optional<std::string> Validator::text(const Entry& e, const std::string& what) {
    if (!e.value.IsScalar()) {
        error(e.value.IsNull() ? e.key.Mark() : e.value.Mark(),
              what + " must be a single value, but it is " + kind(e.value));
        return std::nullopt;
    }
    return e.value.Scalar();
}

std::optional<std::uint64_t> Validator::number(const Entry& e, const std::string& what, std::uint64_t min,
                                               std::uint64_t max) {
    auto t = text(e, what);
    if (!t) return std::nullopt;
    std::string_view s = *t;
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s.remove_prefix(2);
    }
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || v < min || v > max) {
        error(e.value.Mark(), what + " must be a whole number from " + std::to_string(min) + " to " +
                                  std::to_string(max) + ", not '" + *t + "'");
        return std::nullopt;
    }
    return v;
}

std::optional<bool> Validator::boolean(const Entry& e, const std::string& what) {
    auto t = text(e, what);
    if (!t) return std::nullopt;
    const std::string v = lower(*t);
    if (v == "true" || v == "yes" || v == "on") return true;
    if (v == "false" || v == "no" || v == "off") return false;
    error(e.value.Mark(), what + " must be true or false, not '" + *t + "'");
    return std::nullopt;
}

std::optional<std::vector<YAML::Node>> Validator::list(const Entry& e, const std::string& what) {
    if (!e.value.IsSequence()) {
        error(e.value.IsNull() ? e.key.Mark() : e.value.Mark(),
              what + " must be a list (e.g. [a, b]), but it is " + kind(e.value));
        return std::nullopt;
    }
    std::vector<YAML::Node> out;
    for (auto it = e.value.begin(); it != e.value.end(); ++it) out.push_back(*it);
    return out;
}

std::optional<Cidr> Validator::cidr(const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar()) {
        error(n.Mark(), what + " must be an address with a prefix (ADDRESS/PREFIX), but it is " + kind(n));
        return std::nullopt;
    }
    std::string why;
    auto c = parse_cidr(n.Scalar(), why);
    if (!c) error(n.Mark(), what + ": " + why);
    return c;
}

std::optional<Endpoint> Validator::endpoint(const YAML::Node& n, const std::string& what, bool allow_name) {
    if (!n.IsScalar()) {
        error(n.Mark(), what + " must be HOST:PORT, but it is " + kind(n));
        return std::nullopt;
    }
    std::string why;
    auto ep = parse_endpoint(n.Scalar(), allow_name, why);
    if (!ep) error(n.Mark(), what + ": " + why);
    return ep;
}

// Resolves a path relative to the config file and, when asked, checks the file can be read and looks
// like what it should be (the full parse happens when the tunnel starts).
std::string Validator::file_path(const Entry& e, const std::string& what, const char* marker) {
    auto t = text(e, what);
    if (!t) return {};
    if (t->empty()) {
        error(e.value.Mark(), what + " is empty; it must name a file");
        return {};
    }
    std::string path = (*t)[0] == '/' ? *t : base_dir_ + *t;
    if (!options_.check_system) return path;
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
        error(e.value.Mark(), what + " file '" + path + "' cannot be opened: " + std::strerror(errno));
        return path;
    }
    if (!S_ISREG(st.st_mode)) {
        error(e.value.Mark(), what + " '" + path + "' is not a regular file");
        return path;
    }
    std::ifstream in(path);
    if (!in) {
        error(e.value.Mark(), what + " file '" + path + "' cannot be read: " + std::strerror(errno));
        return path;
    }
    // Key material files are small; read a bounded prefix for the marker check.
    std::string content(64 * 1024, '\0');
    in.read(content.data(), static_cast<std::streamsize>(content.size()));
    content.resize(static_cast<std::size_t>(in.gcount()));
    if (marker && content.find(marker) == std::string::npos) {
        error(e.value.Mark(), what + " file '" + path + "' does not contain '" + marker + "'");
    } else if (marker && std::string_view(marker).find("OpenVPN Static key") != std::string_view::npos) {
        // Static keys are parsed here already, so a damaged key is reported with its position.
        if (auto k = crypto::parse_static_key(content, path); !k)
            error(e.value.Mark(), what + ": " + k.error().message);
    }
    return path;
}

void Validator::parse_bridge(const Entry& e, Config& c) {
    if (!is_map(e.value, "bridge")) return;
    const auto m = entries(e.value, "bridge", {"name", "ports", "address", "remove_on_stop", "gateway", "uplink_table", "uplink_mark"});
    BridgeConfig b;
    std::string why;
    if (auto* n = find(m, "name")) {
        if (auto t = text(*n, "bridge.name")) {
            if (valid_ifname(*t, why)) b.name = *t;
            else error(n->value.Mark(), "bridge.name: " + why);
        }
    } else {
        error(e.key.Mark(), "bridge has no 'name' (the bridge device to create, e.g. br0)");
    }
    if (auto* n = find(m, "ports")) {
        if (auto items = list(*n, "bridge.ports")) {
            if (items->empty()) error(n->value.Mark(), "bridge.ports is empty; list the Ethernet ports to join");
            for (const auto& item : *items) {
                if (!item.IsScalar()) {
                    error(item.Mark(), "bridge.ports entries must be interface names, not " + std::string(kind(item)));
                    continue;
                }
                const std::string port = item.Scalar();
                if (!valid_ifname(port, why)) error(item.Mark(), "bridge.ports: " + why);
                else if (std::find(b.ports.begin(), b.ports.end(), port) != b.ports.end())
                    error(item.Mark(), "bridge.ports lists '" + port + "' twice");
                else if (port == b.name) error(item.Mark(), "bridge.ports cannot contain the bridge itself");
                else b.ports.push_back(port);
            }
        }
    } else {
        error(e.key.Mark(), "bridge has no 'ports' (the Ethernet ports to join, e.g. [lan0, wan0])");
    }
    if (auto* n = find(m, "address")) b.address = cidr(n->value, "bridge.address");
    if (auto* n = find(m, "remove_on_stop"))
        if (auto v = boolean(*n, "bridge.remove_on_stop")) b.remove_on_stop = *v;
    if (auto* n = find(m, "gateway")) {
        if (auto t = text(*n, "bridge.gateway")) {
            if (auto ip = parse_ip(*t, why); !ip) {
                error(n->value.Mark(), "bridge.gateway: " + why);
            } else if (!b.address) {
                error(n->value.Mark(), "bridge.gateway needs bridge.address (the box's one address, on the gateway's segment)");
            } else if (ip->family != b.address->address.family) {
                error(n->value.Mark(), "bridge.gateway " + ip->to_string() + " is not of the same family as bridge.address " +
                                           b.address->to_string());
            } else if (*ip == b.address->address) {
                error(n->value.Mark(), "bridge.gateway is the box's own address; give the router's address");
            } else {
                b.gateway = *ip;
            }
        }
    }
    if (auto* n = find(m, "uplink_table")) {
        // Also the rule's priority: before main's rule (32766), not one of the kernel's tables.
        if (auto v = number(*n, "bridge.uplink_table", 1, 32765)) {
            if (*v == 253 || *v == 254 || *v == 255)
                error(n->value.Mark(), "bridge.uplink_table " + std::to_string(*v) +
                                           " is one of the kernel's own tables (253 default, 254 main, 255 local)");
            else b.uplink_table = static_cast<std::uint32_t>(*v);
        }
    }
    if (auto* n = find(m, "uplink_mark")) {
        if (auto v = number(*n, "bridge.uplink_mark", 1, 0xffffffffu)) {
            if (*v & 0x30000u)
                error(n->value.Mark(), "bridge.uplink_mark must keep clear of the decision bits 0x30000 (docs/ROUTELESS.md)");
            else b.uplink_mark = static_cast<std::uint32_t>(*v);
        }
    }
    c.bridge = std::move(b);
}

void Validator::parse_tunnel(const Entry& e, Config& c) {
    if (!is_map(e.value, "tunnel")) return;
    const auto m = entries(e.value, "tunnel",
                           {"role", "proto", "local", "remote", "device", "address", "pool", "join_bridge", "ca",
                            "cert", "key", "tls_crypt", "tls_auth", "remote_cert_tls", "verify_x509_name", "crl", "tls_version_min",
                            "askpass", "data_ciphers", "compress", "keepalive", "reneg_seconds",
                             "mssfix", "tun_mtu", "fragment", "auth", "data_ciphers_fallback",
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

// The link: role, transport, endpoints and the TAP device. False when the role is missing or wrong
// (the role checks are then skipped).
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

// The MTU keys (OpenVPN's --mssfix, --tun-mtu, --fragment), each "SIZE [mode]" as OpenVPN writes it.
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

void Validator::parse_fastpath(const Entry& e, Config& c) {
    if (!is_map(e.value, "fastpath")) return;
    const auto m = entries(e.value, "fastpath", {"enabled", "reply_mark", "orig_mark", "require_module"});
    auto& f = c.fastpath;
    if (auto* n = find(m, "enabled"))
        if (auto v = boolean(*n, "fastpath.enabled")) f.enabled = *v;
    if (auto* n = find(m, "require_module"))
        if (auto v = boolean(*n, "fastpath.require_module")) f.require_module = *v;
    const Entry* reply = find(m, "reply_mark");
    const Entry* orig = find(m, "orig_mark");
    bool ok = true;
    if (reply) {
        auto v = number(*reply, "fastpath.reply_mark", 0, 0xffffffffu);
        ok = ok && v;
        if (v) f.reply_mark = static_cast<std::uint32_t>(*v);
    }
    if (orig) {
        auto v = number(*orig, "fastpath.orig_mark", 0, 0xffffffffu);
        ok = ok && v;
        if (v) f.orig_mark = static_cast<std::uint32_t>(*v);
    }
    if (!f.enabled || !ok) return;
    if (f.reply_mark == 0) error(reply ? reply->value.Mark() : e.key.Mark(), "fastpath is enabled but reply_mark is 0 or missing");
    if (f.orig_mark == 0) error(orig ? orig->value.Mark() : e.key.Mark(), "fastpath is enabled but orig_mark is 0 or missing");
    if (f.reply_mark != 0 && f.reply_mark == f.orig_mark)
        error(orig->value.Mark(), "fastpath.orig_mark must differ from reply_mark");
}

void Validator::parse_interest(const Entry& e, Config& c) {
    if (!is_map(e.value, "interest")) return;
    const auto m = entries(e.value, "interest", {"queue", "queues", "failure", "table", "rule_priority", "rules"});
    InterestConfig ic;
    if (auto* n = find(m, "queue"))
        if (auto v = number(*n, "interest.queue", 0, 65535)) ic.queue = static_cast<std::uint16_t>(*v);
    if (auto* n = find(m, "queues")) {
        if (auto v = number(*n, "interest.queues", 1, 64)) {
            ic.queues = static_cast<std::uint16_t>(*v);
            if (ic.queue + *v - 1 > 65535)
                error(n->value.Mark(), "interest.queues " + std::to_string(*v) + " from queue " + std::to_string(ic.queue) +
                                           " goes past the last queue number 65535");
        }
    }
    if (auto* n = find(m, "table")) {
        if (auto v = number(*n, "interest.table", 0, 0xffffffffu)) {
            // 0 (unspec), 253 default, 254 main, 255 local are the kernel's own tables.
            if (*v == 0 || *v == 253 || *v == 254 || *v == 255)
                error(n->value.Mark(), "interest.table " + std::to_string(*v) +
                                           " is one of the kernel's own tables (0 unspec, 253 default, 254 main, 255 local); "
                                           "give the agent a table of its own");
            else ic.table = static_cast<std::uint32_t>(*v);
        }
    }
    if (auto* n = find(m, "rule_priority"))
        // The agent uses this priority and the next two, all before main's rule at 32766.
        if (auto v = number(*n, "interest.rule_priority", 1, 32763)) ic.rule_priority = static_cast<std::uint32_t>(*v);
    if (auto* n = find(m, "failure")) {
        if (auto v = text(*n, "interest.failure")) {
            if (*v == "open") ic.failure = FailMode::open;
            else if (*v == "closed") ic.failure = FailMode::closed;
            else error(n->value.Mark(), "interest.failure must be open (pass traffic while no agent answers) or closed (drop it), not '" + *v + "'");
        }
    }
    if (auto* n = find(m, "rules")) {
        if (auto items = list(*n, "interest.rules")) {
            for (const auto& item : *items) {
                if (!is_map(item, "an interest rule")) continue;
                const auto rm = entries(item, "an interest rule", {"src", "dst", "proto", "sport", "dport", "action"});
                InterestRule r;
                if (auto* s = find(rm, "src")) r.src = cidr(s->value, "interest rule src");
                if (auto* s = find(rm, "dst")) r.dst = cidr(s->value, "interest rule dst");
                if (r.src && r.dst && r.src->address.family != r.dst->address.family)
                    error(item.Mark(), "interest rule mixes an IPv4 and an IPv6 prefix");
                if (auto* s = find(rm, "proto")) {
                    if (auto v = text(*s, "interest rule proto")) {
                        if (*v == "tcp" || *v == "udp" || *v == "icmp" || *v == "icmpv6") r.proto = *v;
                        else error(s->value.Mark(), "interest rule proto must be tcp, udp, icmp or icmpv6, not '" + *v + "'");
                    }
                }
                for (const auto& [key, field] : {std::pair<const char*, std::optional<std::uint16_t>*>{"sport", &r.sport},
                                                 {"dport", &r.dport}}) {
                    const Entry* p = find(rm, key);
                    if (!p) continue;
                    if (auto v = number(*p, std::string("interest rule ") + key, 1, 65535))
                        *field = static_cast<std::uint16_t>(*v);
                    if (!r.proto || (*r.proto != "tcp" && *r.proto != "udp"))
                        error(p->key.Mark(), std::string("interest rule ") + key + " needs proto tcp or udp");
                }
                if (auto* s = find(rm, "action")) {
                    if (auto v = text(*s, "interest rule action")) {
                        if (*v == "queue") r.action = InterestAction::queue;
                        else if (*v == "bypass") r.action = InterestAction::bypass;
                        else error(s->value.Mark(), "interest rule action must be queue or bypass, not '" + *v + "'");
                    }
                }
                if (!r.src && !r.dst && !r.proto && !r.sport && !r.dport)
                    error(item.Mark(), "interest rule selects nothing (give src, dst, proto, sport or dport)");
                ic.rules.push_back(r);
            }
        }
    }
    c.interest = std::move(ic);
}

void Validator::parse_control(const Entry& e, Config& c) {
    if (!is_map(e.value, "control")) return;
    const auto m = entries(e.value, "control", {"socket", "metrics"});
    if (auto* n = find(m, "socket")) {
        if (auto v = text(*n, "control.socket")) {
            if (v->empty() || (*v)[0] != '/') error(n->value.Mark(), "control.socket must be an absolute path");
            else if (v->size() >= 108) error(n->value.Mark(), "control.socket is longer than a unix socket path may be (107)");
            else c.control.socket = *v;
        }
    }
    if (auto* n = find(m, "metrics")) {
        c.control.metrics = endpoint(n->value, "control.metrics", false);
    }
}

void Validator::parse_log(const Entry& e, Config& c) {
    if (!is_map(e.value, "log")) return;
    const auto m = entries(e.value, "log", {"level"});
    if (auto* n = find(m, "level")) {
        if (auto v = text(*n, "log.level")) {
            if (*v == "error") c.log.level = LogLevel::error;
            else if (*v == "warn") c.log.level = LogLevel::warn;
            else if (*v == "info") c.log.level = LogLevel::info;
            else if (*v == "debug") c.log.level = LogLevel::debug;
            else error(n->value.Mark(), "log.level must be error, warn, info or debug, not '" + *v + "'");
        }
    }
}

// limits: what peers may cost the agent (docs/SECURITY.md). Every key is optional.
void Validator::parse_limits(const Entry& e, Config& c) {
    if (!is_map(e.value, "limits")) return;
    struct Key {
        const char* name;
        std::uint32_t LimitsConfig::*field;
        std::uint64_t min, max;
    };
    static const Key keys[] = {
        {"max_clients", &LimitsConfig::max_clients, 1, 0xFFFFFE},
        {"max_half_open", &LimitsConfig::max_half_open, 1, 1000000},
        {"max_half_open_per_source", &LimitsConfig::max_half_open_per_source, 1, 1000000},
        {"reset_rate", &LimitsConfig::reset_rate, 0, 1000000},
        {"reset_burst", &LimitsConfig::reset_burst, 1, 1000000},
        {"reset_rate_per_source", &LimitsConfig::reset_rate_per_source, 0, 1000000},
        {"reset_burst_per_source", &LimitsConfig::reset_burst_per_source, 1, 1000000},
        {"mac_move_limit", &LimitsConfig::mac_move_limit, 0, 1000000},
        {"tcp_max_connections", &LimitsConfig::tcp_max_connections, 1, 1000000},
        {"tcp_max_per_source", &LimitsConfig::tcp_max_per_source, 1, 1000000},
        {"tcp_handshake_timeout", &LimitsConfig::tcp_handshake_timeout, 1, 3600},
        {"push_request_burst", &LimitsConfig::push_request_burst, 1, 1000},
        {"push_request_interval", &LimitsConfig::push_request_interval, 0, 3600},
        {"soft_reset_burst", &LimitsConfig::soft_reset_burst, 1, 1000},
        {"soft_reset_interval", &LimitsConfig::soft_reset_interval, 0, 3600},
    };
    std::vector<std::string> allowed;
    for (const Key& k : keys) allowed.push_back(k.name);
    allowed.push_back("allow_tagged_frames");
    const auto m = entries(e.value, "limits", allowed);
    for (const Key& k : keys)
        if (auto* n = find(m, k.name))
            if (auto v = number(*n, std::string("limits.") + k.name, k.min, k.max)) c.limits.*k.field = static_cast<std::uint32_t>(*v);
    if (auto* n = find(m, "allow_tagged_frames"))
        if (auto v = boolean(*n, "limits.allow_tagged_frames")) c.limits.allow_tagged_frames = *v;
}

Config Validator::run(const YAML::Node& root) {
    Config c;
    c.file = file_;
    if (!root.IsMap()) {
        if (root.IsNull()) error_at_start("the file has no settings; it needs at least 'site' and 'tunnel'");
        else error(root.Mark(), std::string("the file must be a map of settings, but it is ") + kind(root));
        return c;
    }
    const auto m = entries(root, "the file",
                           {"site", "bridge", "tunnel", "fastpath", "interest", "control", "log", "user", "limits"});
    if (auto* n = find(m, "site")) {
        if (auto v = text(*n, "site")) {
            const bool ok = !v->empty() && v->size() <= 64 &&
                            std::all_of(v->begin(), v->end(), [](unsigned char ch) {
                                return std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.';
                            });
            if (ok) c.site = *v;
            else error(n->value.Mark(), "site must be 1 to 64 letters, digits, '-', '_' or '.', not '" + *v + "'");
        }
    } else {
        error(root.Mark(), "the file has no 'site' (a short name for this box, e.g. branch-a)");
    }
    // bridge first: tunnel.join_bridge refers to it.
    if (auto* n = find(m, "bridge")) parse_bridge(*n, c);
    if (auto* n = find(m, "tunnel")) parse_tunnel(*n, c);
    else error(root.Mark(), "the file has no 'tunnel' section");
    if (auto* n = find(m, "fastpath")) parse_fastpath(*n, c);
    if (auto* n = find(m, "interest")) parse_interest(*n, c);
    if (auto* n = find(m, "control")) parse_control(*n, c);
    if (c.control.socket.empty() && !c.site.empty()) {
        if (c.site == "." || c.site == "..")
            error(find(m, "site")->value.Mark(), "site '" + c.site + "' cannot name the control socket's folder; set control.socket");
        else
            c.control.socket = default_control_socket(c.site);
    }
    if (auto* n = find(m, "log")) parse_log(*n, c);
    if (auto* n = find(m, "limits")) parse_limits(*n, c);
    if (auto* n = find(m, "user")) {
        if (auto v = text(*n, "user")) {
            if (v->empty()) error(n->value.Mark(), "user is empty");
            else if (options_.check_system && getpwnam(v->c_str()) == nullptr)
                error(n->value.Mark(), "user '" + *v + "' does not exist on this system");
            else c.user = *v;
        }
    }
    if (c.bridge && c.tunnel.device == c.bridge->name)
        error(root.Mark(), "tunnel.device and bridge.name are both '" + c.bridge->name + "'");
    if (c.bridge)
        for (const auto& p : c.bridge->ports)
            if (p == c.tunnel.device) error(root.Mark(), "tunnel.device '" + p + "' is also listed in bridge.ports");
    if (c.bridge && c.bridge->gateway) {
        const auto& b = *c.bridge;
        if (c.interest && (b.uplink_table == c.interest->table ||
                           (b.uplink_table >= c.interest->rule_priority && b.uplink_table <= c.interest->rule_priority + 2)))
            error(root.Mark(), "bridge.uplink_table " + std::to_string(b.uplink_table) +
                                   " meets interest.table or the interest rules' priorities (" +
                                   std::to_string(c.interest->rule_priority) + " and the next two); choose another");
        if (c.fastpath.enabled && ((c.fastpath.reply_mark | c.fastpath.orig_mark) & b.uplink_mark))
            error(root.Mark(), "bridge.uplink_mark shares bits with fastpath.reply_mark or orig_mark; choose another");
    }
    return c;
}

// Ignores every event; used only to count documents.
class NullHandler : public YAML::EventHandler {
public:
    void OnDocumentStart(const YAML::Mark& m) override { last_start = m; }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
    YAML::Mark last_start = YAML::Mark::null_mark();
};

// Where a second document starts, if there is one. yaml-cpp's LoadAll loops forever on some inputs
// (a stray ',' at document level yields endless empty documents), so documents are counted with a bound.
std::optional<YAML::Mark> second_document_mark(const std::string& text) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    NullHandler h;
    if (!parser.HandleNextDocument(h)) return std::nullopt;
    if (!parser.HandleNextDocument(h)) return std::nullopt;
    return h.last_start;
}

}  // namespace

LoadResult parse_config(std::string_view text, const std::string& file_name, const LoadOptions& options) {
    LoadResult r;
    Validator v(file_name, options);
    try {
        const std::string owned(text);
        const YAML::Node root = YAML::Load(owned);
        if (auto second = second_document_mark(owned))
            v.error(*second, "the file holds more than one YAML document; keep one");
        const Config c = v.run(root);
        if (v.errors_.empty()) r.config = c;
    } catch (const YAML::Exception& e) {
        // A tab in indentation is the usual cause, and yaml-cpp's message does not say so.
        for (const auto& [line, column] : indenting_tabs(text))
            v.errors_.push_back(ConfigError{file_name, line, column,
                                            "a tab indents this line; YAML indents with spaces only"});
        v.error(e.mark, "not valid YAML: " + e.msg);
    } catch (const std::exception& e) {
        v.error_at_start(std::string("cannot be parsed: ") + e.what());
    }
    r.errors = std::move(v.errors_);
    // In file order, as a reader goes through the file; errors without a position first.
    std::stable_sort(r.errors.begin(), r.errors.end(), [](const ConfigError& a, const ConfigError& b) {
        return a.line != b.line ? a.line < b.line : a.column < b.column;
    });
    if (!r.errors.empty()) r.config.reset();
    return r;
}

LoadResult load_config(const std::string& path, const LoadOptions& options) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        LoadResult r;
        r.errors.push_back(ConfigError{path, 0, 0, std::string("cannot open the file: ") + std::strerror(errno)});
        return r;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) {
        LoadResult r;
        r.errors.push_back(ConfigError{path, 0, 0, "cannot read the file"});
        return r;
    }
    return parse_config(ss.str(), path, options);
}

}  // namespace wirebridge::config
