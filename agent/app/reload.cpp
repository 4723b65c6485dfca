// Reload planning: the difference between two configurations, key by key, and what it means live.
#include "app/reload.hpp"

#include <sys/stat.h>

#include "common/log.hpp"
#include "config/loader.hpp"

namespace wirebridge::app {

namespace {

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
    return out;
}

std::string text(bool b) { return b ? "true" : "false"; }
std::string text(unsigned v) { return std::to_string(v); }
std::string text(const std::string& s) { return s.empty() ? "\"\"" : s; }
std::string text(const config::Endpoint& e) { return e.to_string(); }
std::string text(const config::Cidr& c) { return c.to_string(); }
std::string text(const std::vector<std::string>& v) { return "[" + join(v, ",") + "]"; }
std::string text(const std::vector<config::Endpoint>& v) {
    std::vector<std::string> s;
    for (const auto& e : v) s.push_back(e.to_string());
    return text(s);
}
std::string text(const config::KeepaliveConfig& k) {
    return std::to_string(k.interval) + "/" + std::to_string(k.timeout);
}
std::string text(const config::TlsAuthConfig& a) {
    return a.key + (a.direction ? " direction " + std::to_string(*a.direction) : "") + " digest " + a.digest;
}
std::string text(const config::VerifyNameConfig& v) { return v.type + " " + v.name; }
std::string text(const config::IpAddress& a) { return a.to_string(); }
std::string text(const config::AuthVerifyConfig& a) {
    return "[" + join(a.command, " ") + "] " + a.method + " " + std::to_string(a.timeout) + "s";
}
template <typename T>
std::string text(const std::optional<T>& o) {
    return o ? text(*o) : "none";
}
std::string text(const config::PoolOptions& o) {
    return text(o.start) + "-" + text(o.end) + " gateway " + text(o.gateway) + " persist " + text(o.persist);
}
std::string text(const std::optional<config::BridgeConfig>& b) {
    if (!b) return "none";
    return b->name + " [" + join(b->ports, ",") + "]" + (b->address ? " " + b->address->to_string() : "");
}
std::string text(const std::vector<config::ClientConfig>& clients) {
    std::vector<std::string> s;
    for (const auto& c : clients) {
        std::string macs;
        if (c.macs)
            for (const auto& m : *c.macs) macs += (macs.empty() ? " macs " : ",") + config::to_string(m);
        s.push_back(c.name + (c.vlan ? " vlan " + std::to_string(*c.vlan) : "") +
                    (c.max_macs ? " max_macs " + std::to_string(*c.max_macs) : "") + macs);
    }
    return "[" + join(s, "; ") + "]";
}
std::string text(const config::FastpathConfig& f) {
    return text(f.enabled) + " " + std::to_string(f.reply_mark) + "/" + std::to_string(f.orig_mark);
}
std::string text(const std::optional<config::InterestConfig>& i) {
    if (!i) return "none";
    std::string s = "queue " + std::to_string(i->queue) + " queues " + std::to_string(i->queues) + " table " +
                    std::to_string(i->table) + " rule_priority " + std::to_string(i->rule_priority) + " " +
                    config::to_string(i->failure) + " rules";
    for (const auto& r : i->rules) {
        s += " {" + text(r.src) + " " + text(r.dst) + " " + r.proto.value_or("*") + " " +
             (r.sport ? std::to_string(*r.sport) : "*") + " " + (r.dport ? std::to_string(*r.dport) : "*") + " " +
             (r.action == config::InterestAction::queue ? "queue" : "bypass") + "}";
    }
    return s;
}

std::string stamp(const std::string& path) {
    struct stat st {};
    if (path.empty()) return "-";
    if (::stat(path.c_str(), &st) != 0) return path + "=missing";
    return path + "=" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) +
           ":" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

// Collects one key's change, if any, into the plan's lists.
struct Differ {
    ReloadPlan& plan;
    template <typename T>
    bool operator()(const char* key, const T& a, const T& b, bool refuse = false) {
        const std::string x = text(a), y = text(b);
        if (x == y) return false;
        const std::string line = std::string(key) + " " + x + " -> " + y;
        plan.changed.push_back(line);
        if (refuse) plan.refused.push_back(std::string(key) + " (" + x + " -> " + y + ")");
        return true;
    }
};

}  // namespace

std::string ReloadPlan::summary() const { return changed.empty() ? "nothing changed" : join(changed, ", "); }

std::string ReloadPlan::refusal() const {
    return "reload refused: " + join(refused, ", ") +
           " cannot change while running (restart to apply); still running the previous configuration";
}

std::string tls_files_stamp(const config::TunnelConfig& t) {
    std::string s = stamp(t.ca) + " " + stamp(t.cert) + " " + stamp(t.key);
    if (t.tls_crypt) s += " " + stamp(*t.tls_crypt);
    if (t.tls_auth) s += " " + stamp(t.tls_auth->key);
    if (t.crl) s += " " + stamp(*t.crl);  // a CRL rewritten in place is reloaded by SIGHUP
    if (t.askpass) s += " " + stamp(*t.askpass);
    if (t.dh) s += " " + stamp(*t.dh);
    if (t.auth_user_pass) s += " " + stamp(*t.auth_user_pass);
    return s;
}

ReloadPlan plan_reload(const config::Config& running, const config::Config& next, const std::string& running_stamp,
                       const std::string& next_stamp) {
    ReloadPlan p;
    Differ diff{p};
    const config::TunnelConfig& a = running.tunnel;
    const config::TunnelConfig& b = next.tunnel;
    const bool server = a.role == config::Role::server;

    p.site = diff("site", running.site, next.site);
    p.log_level = diff("log.level", std::string(config::to_string(running.log.level)),
                       std::string(config::to_string(next.log.level)));
    // What the process set up before the tunnel ran: the OS objects, the socket, the privileges.
    diff("tunnel.role", std::string(config::to_string(a.role)), std::string(config::to_string(b.role)), true);
    diff("tunnel.device", a.device, b.device, true);
    diff("tunnel.address", a.address, b.address, true);
    diff("tunnel.join_bridge", a.join_bridge, b.join_bridge, true);
    diff("tunnel.tun_mtu", a.tun_mtu, b.tun_mtu, true);
    diff("tunnel.txqueuelen", a.txqueuelen, b.txqueuelen, true);
    // --fragment decides the data path's threads and every packet's layout: a restart.
    auto frag = [](const config::TunnelConfig& t) {
        return t.fragment ? std::to_string(t.fragment->size) + (t.fragment->mtu ? " mtu" : "") : std::string("off");
    };
    diff("tunnel.fragment", frag(a), frag(b), true);
    diff("bridge", running.bridge, next.bridge, true);
    diff("control.socket", running.control.socket, next.control.socket, true);
    diff("control.metrics", running.control.metrics, next.control.metrics, true);
    diff("user", running.user, next.user, true);
    // Routeless mode's rules and marks are replaced live by Routeless::reload; entering or leaving
    // the mode is not.
    if (running.interest.has_value() != next.interest.has_value()) {
        diff("interest", running.interest, next.interest, true);
    } else {
        p.routeless |= diff("interest", running.interest, next.interest);
        p.routeless |= diff("fastpath", running.fastpath, next.fastpath) && next.interest.has_value();
    }
    if (a.role != b.role) return p;

    const std::string proto_a = config::to_string(a.proto), proto_b = config::to_string(b.proto);
    if (server) {
        // The listening socket and the address pool belong to the running clients.
        diff("tunnel.proto", proto_a, proto_b, true);
        diff("tunnel.local", a.local, b.local, true);
        // Set on its sockets at start (a new proto, already refused, changes the unset ones' defaults).
        if (a.proto == b.proto) {
            diff("tunnel.rcvbuf", a.rcvbuf, b.rcvbuf, true);
            diff("tunnel.sndbuf", a.sndbuf, b.sndbuf, true);
        }
        diff("tunnel.pool", a.pool, b.pool, true);
        diff("tunnel.pool", a.pool_options, b.pool_options, true);
        diff("tunnel.auth_user_pass_verify", a.auth_user_pass_verify, b.auth_user_pass_verify, true);
    } else {
        p.reconnect |= diff("tunnel.proto", proto_a, proto_b);
        p.reconnect |= diff("tunnel.local", a.local, b.local);
        p.reconnect |= diff("tunnel.remote", a.remote, b.remote);
        // A site's socket takes them when it is opened, at each connection.
        p.reconnect |= diff("tunnel.rcvbuf", a.rcvbuf, b.rcvbuf);
        p.reconnect |= diff("tunnel.sndbuf", a.sndbuf, b.sndbuf);
    }

    bool tls = false;
    tls |= diff("tunnel.ca", a.ca, b.ca);
    tls |= diff("tunnel.cert", a.cert, b.cert);
    tls |= diff("tunnel.key", a.key, b.key);
    tls |= diff("tunnel.tls_crypt", a.tls_crypt, b.tls_crypt);
    tls |= diff("tunnel.tls_auth", a.tls_auth, b.tls_auth);
    tls |= diff("tunnel.data_ciphers", a.data_ciphers, b.data_ciphers);
    tls |= diff("tunnel.data_ciphers_fallback", a.data_ciphers_fallback, b.data_ciphers_fallback);
    tls |= diff("tunnel.auth", a.auth, b.auth);
    auto mss = [](const config::TunnelConfig& t) {
        return t.mssfix ? std::to_string(t.mssfix->size) + " " + t.mssfix->mode : std::string("default");
    };
    tls |= diff("tunnel.mssfix", mss(a), mss(b));
    tls |= diff("tunnel.compress", a.compress, b.compress);
    tls |= diff("tunnel.remote_cert_tls", a.remote_cert_tls, b.remote_cert_tls);
    tls |= diff("tunnel.verify_x509_name", a.verify_x509_name, b.verify_x509_name);
    tls |= diff("tunnel.crl", a.crl, b.crl);
    tls |= diff("tunnel.tls_version_min", a.tls_version_min, b.tls_version_min);
    tls |= diff("tunnel.askpass", a.askpass, b.askpass);
    tls |= diff("tunnel.peer_fingerprint", a.peer_fingerprint, b.peer_fingerprint);
    tls |= diff("tunnel.dh", a.dh, b.dh);
    tls |= diff("tunnel.auth_user_pass", a.auth_user_pass, b.auth_user_pass);
    if (!tls && running_stamp != next_stamp) {
        p.changed.push_back("TLS/key file contents");
        tls = true;
    }
    p.keepalive = diff("tunnel.keepalive", a.keepalive, b.keepalive);
    p.reneg = diff("tunnel.reneg_seconds", a.reneg_seconds, b.reneg_seconds);
    p.session = tls || p.keepalive || p.reneg;
    if (!server) {
        p.reconnect |= tls;
        return p;
    }
    bool sw = false;
    sw |= diff("tunnel.client_to_client", a.client_to_client, b.client_to_client);
    sw |= diff("tunnel.mac_age", a.mac_age, b.mac_age);
    sw |= diff("tunnel.max_macs_per_client", a.max_macs_per_client, b.max_macs_per_client);
    sw |= diff("tunnel.multicast_limit", a.multicast_limit, b.multicast_limit);
    sw |= diff("tunnel.vlan.tagging", a.vlan_tagging, b.vlan_tagging);
    sw |= diff("tunnel.vlan.pvid", unsigned{a.vlan_pvid}, unsigned{b.vlan_pvid});
    sw |= diff("tunnel.clients", a.clients, b.clients);
    // limits: the switch's apply at once; the admission limits are the dispatcher's, set at start.
    const config::LimitsConfig& la = running.limits;
    const config::LimitsConfig& lb = next.limits;
    sw |= diff("limits.mac_move_limit", unsigned{la.mac_move_limit}, unsigned{lb.mac_move_limit});
    sw |= diff("limits.allow_tagged_frames", la.allow_tagged_frames, lb.allow_tagged_frames);
    // Read by the runner at each accept and sweep: at once.
    diff("limits.tcp_max_connections", unsigned{la.tcp_max_connections}, unsigned{lb.tcp_max_connections});
    diff("limits.tcp_max_per_source", unsigned{la.tcp_max_per_source}, unsigned{lb.tcp_max_per_source});
    diff("limits.tcp_handshake_timeout", unsigned{la.tcp_handshake_timeout}, unsigned{lb.tcp_handshake_timeout});
    diff("limits.max_clients", unsigned{la.max_clients}, unsigned{lb.max_clients}, true);
    diff("limits.max_half_open", unsigned{la.max_half_open}, unsigned{lb.max_half_open}, true);
    diff("limits.max_half_open_per_source", unsigned{la.max_half_open_per_source}, unsigned{lb.max_half_open_per_source}, true);
    diff("limits.reset_rate", unsigned{la.reset_rate}, unsigned{lb.reset_rate}, true);
    diff("limits.reset_burst", unsigned{la.reset_burst}, unsigned{lb.reset_burst}, true);
    diff("limits.reset_rate_per_source", unsigned{la.reset_rate_per_source}, unsigned{lb.reset_rate_per_source}, true);
    diff("limits.reset_burst_per_source", unsigned{la.reset_burst_per_source}, unsigned{lb.reset_burst_per_source}, true);
    // Each session keeps the budgets it started with: a change would apply to some clients only.
    diff("limits.push_request_burst", unsigned{la.push_request_burst}, unsigned{lb.push_request_burst}, true);
    diff("limits.push_request_interval", unsigned{la.push_request_interval}, unsigned{lb.push_request_interval}, true);
    diff("limits.soft_reset_burst", unsigned{la.soft_reset_burst}, unsigned{lb.soft_reset_burst}, true);
    diff("limits.soft_reset_interval", unsigned{la.soft_reset_interval}, unsigned{lb.soft_reset_interval}, true);
    p.switch_settings = sw;
    p.duplicate_cn = diff("tunnel.duplicate_cn", a.duplicate_cn, b.duplicate_cn);
    return p;
}

datapath::SwitchSettings switch_settings(const config::TunnelConfig& t) {
    datapath::SwitchSettings s;
    s.client_to_client = t.client_to_client;
    s.mac_age_s = t.mac_age;
    s.max_macs_per_client = t.max_macs_per_client;
    s.multicast_limit = t.multicast_limit;
    s.vlan_tagging = t.vlan_tagging;
    s.vlan_pvid = t.vlan_pvid;
    return s;
}

datapath::SwitchSettings switch_settings(const config::Config& c) {
    datapath::SwitchSettings s = switch_settings(c.tunnel);
    s.mac_move_limit = c.limits.mac_move_limit;
    s.allow_tagged_frames = c.limits.allow_tagged_frames;
    return s;
}

datapath::PortSettings port_settings(const config::TunnelConfig& t, const std::string& common_name) {
    datapath::PortSettings ps;
    if (common_name.empty()) return ps;
    for (const auto& c : t.clients) {
        if (c.name != common_name) continue;
        ps.vlan = c.vlan;
        if (c.max_macs) ps.max_macs = *c.max_macs;
        if (c.macs) ps.allowed_macs = std::vector<datapath::Mac>(c.macs->begin(), c.macs->end());
        break;
    }
    return ps;
}

bool reload_from_file(const std::string& file, const std::function<Result<std::string>(const config::Config&)>& apply) {
    log_info("SIGHUP: reloading " + file);
    const config::LoadResult loaded = config::load_config(file);
    if (!loaded.ok()) {
        for (const auto& e : loaded.errors) log_error(e.to_string());
        log_error("reload refused: " + file + " has " + std::to_string(loaded.errors.size()) +
                  (loaded.errors.size() == 1 ? " error" : " errors") + "; still running the previous configuration");
        return false;
    }
    return apply(*loaded.config).has_value();
}

}  // namespace wirebridge::app
