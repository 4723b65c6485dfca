// Names and the one-line summary of a Config.
#include "config/config.hpp"

namespace wirebridge::config {

const char* to_string(Role r) { return r == Role::client ? "client" : "server"; }
const char* to_string(Transport t) { return t == Transport::udp ? "udp" : "tcp"; }
const char* to_string(FailMode f) { return f == FailMode::open ? "open" : "closed"; }

const std::vector<std::string>& supported_ciphers() {
    static const std::vector<std::string> all{"AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305", "AES-256-CBC", "AES-128-CBC"};
    return all;
}

std::string default_control_socket(const std::string& site) {
    return std::string(kRuntimeRoot) + "/" + site + "/control.sock";
}

std::string Config::summary() const {
    const TunnelConfig& t = tunnel;
    std::string s = "site " + site + ": " + to_string(t.role) + " over " + to_string(t.proto);
    if (t.role == Role::client) {
        s += " to ";
        for (std::size_t i = 0; i < t.remote.size(); ++i) s += (i ? "," : "") + t.remote[i].to_string();
    } else {
        s += " on " + (t.local ? t.local->to_string() : std::string("?"));
        if (t.pool && t.pool_options.start && t.pool_options.end)
            s += ", pool " + t.pool_options.start->to_string() + "-" + t.pool_options.end->to_string() + "/" + std::to_string(t.pool->prefix);
        else if (t.pool) s += ", pool " + t.pool->to_string();
        else s += ", no pool (clients use DHCP)";
        if (t.auth_user_pass_verify) s += ", auth_user_pass_verify " + t.auth_user_pass_verify->method;
    }
    s += ", device " + t.device;
    s += t.tls_crypt ? ", tls-crypt" : t.tls_auth ? ", tls-auth" : ", no control-channel wrap";
    s += ", ciphers ";
    for (std::size_t i = 0; i < t.data_ciphers.size(); ++i) s += (i ? ":" : "") + t.data_ciphers[i];
    if (bridge) s += ", bridge " + bridge->name;
    return s;
}

}  // namespace wirebridge::config
