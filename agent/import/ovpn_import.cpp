// OpenVPN option -> wirebridge YAML, one option at a time; docs/OPENVPN.md is the table behind it.
#include "import/ovpn_import.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>
#include <set>

namespace wirebridge::import {

namespace {

std::string join(const std::vector<std::string>& v, const char* sep = " ") {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
    return s;
}

// A YAML scalar: plain when safe, else double-quoted.
std::string q(const std::string& s) {
    bool plain = !s.empty() && (std::isalnum(static_cast<unsigned char>(s[0])) || s[0] == '/' || s[0] == '.');
    for (size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        // ':' only inside (HOST:PORT, fingerprints); ": " or a final ':' would start a map.
        const bool colon = c == ':' && i + 1 < s.size();
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '.' || c == '_' || c == '-' || c == '@' ||
              c == '+' || colon))
            plain = false;
    }
    if (plain && s != "yes" && s != "no" && s != "true" && s != "false" && s != "on" && s != "off" && s != "null") return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out.push_back('\\');
        if (static_cast<unsigned char>(c) < 0x20) {
            out += "\\x";
            const char* hex = "0123456789abcdef";
            out.push_back(hex[(c >> 4) & 15]);
            out.push_back(hex[c & 15]);
            continue;
        }
        out.push_back(c);
    }
    return out + "\"";
}

std::optional<uint32_t> ipv4(const std::string& s) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
    return ntohl(a.s_addr);
}

std::string dotted(uint32_t h) {
    in_addr a{htonl(h)};
    char b[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &a, b, sizeof b);
    return b;
}

std::optional<int> prefix_of(uint32_t mask) {
    int p = 0;
    while (p < 32 && (mask & (0x80000000u >> p))) ++p;
    if (p < 32 && (mask << p) != 0) return std::nullopt;
    return p;
}

bool number(const std::string& s, unsigned long max, unsigned long& out) {
    if (s.empty() || s.size() > 10) return false;
    for (char c : s)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    out = std::stoul(s);
    return out <= max;
}

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

class Converter {
public:
    Converter(const OvpnFile& f, const ImportOptions& o) : f_(f), o_(o) {}
    ImportResult run();

private:
    std::string at(const Directive& d) const { return "line " + std::to_string(d.line) + ": " + d.name + (d.args.empty() ? "" : " " + join(d.args)); }
    void mtu_option(const Directive& d);
    void map(const Directive& d, const std::string& key) { r_.mapped.push_back(at(d) + " -> " + key); }
    void ignore(const Directive& d, const std::string& why) { r_.ignored.push_back(at(d) + ": " + why); }
    void refuse(const Directive& d, const std::string& why) { r_.refused.push_back(at(d) + ": " + why); }
    bool args(const Directive& d, size_t min, size_t max) {
        if (d.args.size() >= min && d.args.size() <= max) return true;
        refuse(d, "expects " + std::to_string(min) + (max != min ? " to " + std::to_string(max) : "") + " argument(s)");
        return false;
    }
    // A file option: "[inline]" or an inline block of that name -> a written file; else the path.
    std::optional<std::string> file(const Directive* d, const std::string& block, const std::string& suffix, mode_t mode);
    std::string path_of(const std::string& p) const { return p.empty() || p[0] == '/' ? p : o_.source_dir + "/" + p; }
    void one(const Directive& d);

    const OvpnFile& f_;
    const ImportOptions& o_;
    ImportResult r_;
    // What the options say, collected before the YAML is written.
    std::optional<std::string> role_;  // client | server
    bool pull_ = false, tls_client_ = false, tls_server_ = false, mode_server_ = false;
    std::string device_ = "tap0";
    const Directive* dev_ = nullptr;
    std::string dev_type_;
    std::string proto_ = "udp";
    std::vector<std::pair<std::string, std::string>> remotes_;  // host, port ("" = the default)
    std::string port_ = "1194", rport_, lport_, local_host_;
    std::map<std::string, std::string> tunnel_;  // key -> YAML value (flow form), in key order below
    std::vector<std::string> fingerprints_;
    std::optional<std::string> tls_auth_key_;
    std::optional<int> key_direction_;
    std::optional<std::string> auth_digest_;
    const Directive* auth_directive_ = nullptr;
    std::optional<std::string> keep_interval_, keep_timeout_;
    std::optional<std::string> pool_subnet_, pool_start_, pool_end_, pool_gateway_, pool_persist_;
    bool pool_none_ = false;
    std::optional<std::string> address_;
    std::optional<std::string> user_, log_level_, max_clients_;
    std::optional<std::string> vlan_tagging_, vlan_pvid_;
    std::set<std::string> block_used_;
};

std::optional<std::string> Converter::file(const Directive* d, const std::string& block, const std::string& suffix, mode_t mode) {
    const bool want_inline = !d || (!d->args.empty() && d->args[0] == "[inline]");
    if (!want_inline) return path_of(d->args[0]);
    const InlineBlock* b = f_.inline_block(block);
    if (!b) {
        if (d) refuse(*d, "[inline] but the file has no <" + block + "> block");
        return std::nullopt;
    }
    block_used_.insert(block);
    const std::string path = o_.out_dir + "/" + o_.stem + "-" + suffix;
    std::string text = b->text;
    r_.files.push_back(OutputFile{path, std::move(text), mode});
    return path;
}

void Converter::one(const Directive& d) {
    const std::string& n = d.name;
    const auto& a = d.args;
    // --- roles and link ------------------------------------------------------------------------
    if (n == "client") {
        if (!args(d, 0, 0)) return;
        pull_ = tls_client_ = true;
        return map(d, "tunnel.role: client");
    }
    if (n == "pull") { pull_ = true; return map(d, "tunnel.role: client"); }
    if (n == "tls-client") { tls_client_ = true; return map(d, "tunnel.role: client"); }
    if (n == "tls-server") { tls_server_ = true; return map(d, "tunnel.role: server"); }
    if (n == "mode") {
        if (!args(d, 1, 1)) return;
        if (a[0] == "server") { mode_server_ = true; return map(d, "tunnel.role: server"); }
        return refuse(d, "point-to-point mode: wirebridge is a TLS client (site) or server (hub)");
    }
    if (n == "dev") {
        if (!args(d, 1, 1)) return;
        dev_ = &d;
        return;  // decided with dev-type at the end
    }
    if (n == "dev-type") {
        if (!args(d, 1, 1)) return;
        if (a[0] != "tap" && a[0] != "tun") return refuse(d, "must be tap or tun");
        dev_type_ = a[0];
        return map(d, "tunnel.device (TAP)");
    }
    if (n == "proto") {
        if (!args(d, 1, 1)) return;
        const std::string p = a[0];
        if (p == "udp" || p == "udp4" || p == "udp6") proto_ = "udp";
        else if (p.rfind("tcp", 0) == 0) proto_ = "tcp";
        else return refuse(d, "unknown protocol");
        if (p.back() == '6') ignore(d, "the address family follows the addresses given (IPv4 and IPv6 both work)");
        return map(d, "tunnel.proto: " + proto_);
    }
    if (n == "remote") {
        if (!args(d, 1, 3)) return;
        if (a.size() == 3) {
            const std::string p = a[2].rfind("tcp", 0) == 0 ? "tcp" : a[2].rfind("udp", 0) == 0 ? "udp" : "";
            if (p.empty()) return refuse(d, "unknown protocol " + a[2]);
            if (p != proto_ && !remotes_.empty()) return refuse(d, "remotes with different protocols: wirebridge uses one tunnel.proto");
            proto_ = p;
        }
        remotes_.emplace_back(a[0], a.size() > 1 ? a[1] : "");
        return map(d, "tunnel.remote");
    }
    if (n == "port") { if (args(d, 1, 1)) { port_ = a[0]; map(d, "tunnel.local / tunnel.remote port"); } return; }
    if (n == "rport") { if (args(d, 1, 1)) { rport_ = a[0]; map(d, "tunnel.remote port"); } return; }
    if (n == "lport") { if (args(d, 1, 1)) { lport_ = a[0]; map(d, "tunnel.local port"); } return; }
    if (n == "local") { if (args(d, 1, 1)) { local_host_ = a[0]; map(d, "tunnel.local"); } return; }
    // --- certificates and keys -------------------------------------------------------------------
    if (n == "ca" || n == "cert" || n == "key") {
        if (!args(d, 1, 1)) return;
        const std::string suffix = n == "ca" ? "ca.crt" : n == "cert" ? "cert.crt" : "key.pem";
        if (auto p = file(&d, n, suffix, n == "key" ? 0600 : 0644)) {
            tunnel_[n] = q(*p);
            map(d, "tunnel." + n);
        }
        return;
    }
    if (n == "extra-certs") return refuse(d, "append the extra certificates to the cert file instead");
    if (n == "pkcs12") return refuse(d, "convert it to PEM (openssl pkcs12 -in FILE -nodes) and use ca, cert, key");
    if (n == "askpass") {
        if (a.empty()) return refuse(d, "askpass without a file prompts on the terminal; give the passphrase file");
        tunnel_["askpass"] = q(path_of(a[0]));
        return map(d, "tunnel.askpass");
    }
    if (n == "dh") {
        if (!args(d, 1, 1)) return;
        if (a[0] == "none") return ignore(d, "wirebridge uses ECDHE, as dh none");
        if (auto p = file(&d, "dh", "dh.pem", 0644)) {
            tunnel_["dh"] = q(*p);
            map(d, "tunnel.dh");
        }
        return;
    }
    if (n == "tls-auth") {
        if (!args(d, 1, 2)) return;
        if (auto p = file(&d, "tls-auth", "ta.key", 0600)) tls_auth_key_ = *p;
        if (a.size() == 2) {
            if (a[1] != "0" && a[1] != "1") return refuse(d, "the direction must be 0 or 1");
            key_direction_ = a[1] == "0" ? 0 : 1;
        }
        return map(d, "tunnel.tls_auth");
    }
    if (n == "key-direction") {
        if (!args(d, 1, 1)) return;
        if (a[0] != "0" && a[0] != "1") return refuse(d, "the direction must be 0 or 1");
        key_direction_ = a[0] == "0" ? 0 : 1;
        return map(d, "tunnel.tls_auth.direction");
    }
    if (n == "auth") {
        if (!args(d, 1, 1)) return;
        auth_digest_ = upper(a[0]);
        auth_directive_ = &d;
        return;  // mapped or ignored once tls-auth is known
    }
    if (n == "tls-crypt") {
        if (!args(d, 1, 1)) return;
        if (auto p = file(&d, "tls-crypt", "tc.key", 0600)) {
            tunnel_["tls_crypt"] = q(*p);
            map(d, "tunnel.tls_crypt");
        }
        return;
    }
    if (n == "tls-crypt-v2") return refuse(d, "tls-crypt-v2 is not supported (use tls-crypt)");
    if (n == "secret") return refuse(d, "static-key mode is not supported: wirebridge uses TLS");
    if (n == "remote-cert-tls") {
        if (!args(d, 1, 1)) return;
        if (a[0] != "server" && a[0] != "client") return refuse(d, "must be server or client");
        tunnel_["remote_cert_tls"] = a[0];
        return map(d, "tunnel.remote_cert_tls");
    }
    if (n == "ns-cert-type") return refuse(d, "removed in OpenVPN 2.5; use remote-cert-tls");
    if (n == "verify-x509-name") {
        if (!args(d, 1, 2)) return;
        const std::string type = a.size() > 1 ? a[1] : "subject";
        if (type != "name" && type != "name-prefix" && type != "subject") return refuse(d, "unknown type " + type);
        tunnel_["verify_x509_name"] = "{name: " + q(a[0]) + ", type: " + type + "}";
        return map(d, "tunnel.verify_x509_name");
    }
    if (n == "crl-verify") {
        if (!args(d, 1, 2)) return;
        if (a.size() == 2) return refuse(d, "a CRL directory is not supported; give one PEM file");
        if (auto p = file(&d, "crl-verify", "crl.pem", 0644)) {
            tunnel_["crl"] = q(*p);
            map(d, "tunnel.crl");
        }
        return;
    }
    if (n == "tls-version-min") {
        if (!args(d, 1, 2)) return;
        if (a[0] == "1.3") tunnel_["tls_version_min"] = "\"1.3\"";
        else if (a[0] == "1.0" || a[0] == "1.1" || a[0] == "1.2") return ignore(d, "wirebridge never uses TLS older than 1.2");
        else return refuse(d, "must be 1.2 or 1.3");
        return map(d, "tunnel.tls_version_min");
    }
    if (n == "tls-version-max" || n == "tls-cipher" || n == "tls-ciphersuites" || n == "tls-groups" || n == "tls-cert-profile")
        return refuse(d, "wirebridge uses OpenSSL's defaults for the TLS versions, cipher suites and groups");
    if (n == "peer-fingerprint") {
        if (a.size() == 1 && a[0] == "[inline]") {
            const InlineBlock* b = f_.inline_block("peer-fingerprint");
            if (!b) return refuse(d, "[inline] but the file has no <peer-fingerprint> block");
            block_used_.insert("peer-fingerprint");
            size_t pos = 0;
            while (pos < b->text.size()) {
                size_t e = b->text.find('\n', pos);
                std::string line = b->text.substr(pos, e - pos);
                pos = e == std::string::npos ? b->text.size() : e + 1;
                line.erase(std::remove_if(line.begin(), line.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }), line.end());
                if (!line.empty() && line[0] != '#' && line[0] != ';') fingerprints_.push_back(line);
            }
        } else {
            if (!args(d, 1, 1)) return;
            fingerprints_.push_back(a[0]);
        }
        return map(d, "tunnel.peer_fingerprint");
    }
    // --- data channel ------------------------------------------------------------------------------
    if (n == "data-ciphers" || n == "ncp-ciphers") {
        if (!args(d, 1, 1)) return;
        std::vector<std::string> keep, drop;
        size_t pos = 0;
        const std::string& list = a[0];
        while (pos <= list.size()) {
            size_t e = list.find(':', pos);
            std::string c = upper(list.substr(pos, e == std::string::npos ? std::string::npos : e - pos));
            pos = e == std::string::npos ? list.size() + 1 : e + 1;
            if (c.empty()) continue;
            if (c == "AES-256-GCM" || c == "AES-128-GCM" || c == "CHACHA20-POLY1305") keep.push_back(c);
            else drop.push_back(c);
        }
        if (keep.empty()) return refuse(d, "none of these ciphers is supported (AES-256-GCM, AES-128-GCM, CHACHA20-POLY1305)");
        tunnel_["data_ciphers"] = "[" + join(keep, ", ") + "]";
        if (!drop.empty()) ignore(d, "not supported, left out: " + join(drop, ":") + " (a peer offering only those cannot connect)");
        return map(d, "tunnel.data_ciphers");
    }
    if (n == "cipher") {
        if (!args(d, 1, 1)) return;
        const std::string c = upper(a[0]);
        if (c == "AES-256-GCM" || c == "AES-128-GCM" || c == "CHACHA20-POLY1305")
            return ignore(d, "OpenVPN 2.6 negotiates the cipher from data-ciphers; this one is in wirebridge's list");
        return refuse(d, "a 2.4-era peer without cipher negotiation would use " + c + ", which wirebridge does not offer");
    }
    if (n == "data-ciphers-fallback") return refuse(d, "peers without cipher negotiation (CBC) are not supported");
    if (n == "comp-lzo") {
        if (!args(d, 0, 1)) return;
        if (!a.empty() && a[0] != "yes" && a[0] != "no" && a[0] != "adaptive") return refuse(d, "must be yes, no or adaptive");
        tunnel_["compress"] = "comp-lzo";
        return map(d, "tunnel.compress: comp-lzo (framing only; wirebridge never compresses, decompresses what the peer sends)");
    }
    if (n == "compress") {
        if (!args(d, 0, 1)) return;
        const std::string alg = a.empty() ? "stub" : a[0];
        if (alg == "lzo" || alg == "lz4" || alg == "lz4-v2" || alg == "stub" || alg == "stub-v2") {
            tunnel_["compress"] = alg;
            return map(d, "tunnel.compress: " + alg + " (framing only; wirebridge never compresses)");
        }
        if (alg == "migrate") return refuse(d, "configure the framing the clients use instead (tunnel.compress)");
        return refuse(d, "compression " + alg + " is not supported");
    }
    if (n == "allow-compression") {
        if (!a.empty() && a[0] == "yes") return refuse(d, "wirebridge never compresses what it sends (as allow-compression asym)");
        return ignore(d, "wirebridge always behaves as allow-compression asym");
    }
    // --- timers ---------------------------------------------------------------------------------------
    if (n == "keepalive") {
        if (!args(d, 2, 2)) return;
        keep_interval_ = a[0];
        keep_timeout_ = a[1];
        return map(d, "tunnel.keepalive");
    }
    if (n == "ping") { if (args(d, 1, 1)) { keep_interval_ = a[0]; map(d, "tunnel.keepalive.interval"); } return; }
    if (n == "ping-restart") { if (args(d, 1, 1)) { keep_timeout_ = a[0]; map(d, "tunnel.keepalive.timeout"); } return; }
    if (n == "reneg-sec") {
        if (!args(d, 1, 2)) return;
        tunnel_["reneg_seconds"] = a[0];
        return map(d, "tunnel.reneg_seconds");
    }
    // --- the hub's addressing -----------------------------------------------------------------------
    if (n == "server-bridge") {
        if (a.empty()) {
            pool_none_ = true;
            return map(d, "no tunnel.pool (clients take their address by DHCP; route-gateway dhcp is pushed)");
        }
        if (a.size() == 1 && a[0] == "nogw") {
            pool_none_ = true;
            return refuse(d, "nogw: wirebridge pushes route-gateway dhcp without a pool");
        }
        if (!args(d, 4, 4)) return;
        const auto gw = ipv4(a[0]), mask = ipv4(a[1]), start = ipv4(a[2]), end = ipv4(a[3]);
        const auto pfx = mask ? prefix_of(*mask) : std::nullopt;
        if (!gw || !mask || !start || !end || !pfx) return refuse(d, "GATEWAY NETMASK START END must be IPv4 addresses and a netmask");
        mode_server_ = tls_server_ = true;
        pool_subnet_ = dotted(*gw & *mask) + "/" + std::to_string(*pfx);
        pool_start_ = a[2];
        pool_end_ = a[3];
        pool_gateway_ = a[0];
        return map(d, "tunnel.role: server, tunnel.pool {subnet, start, end, gateway}");
    }
    if (n == "server") {
        if (!args(d, 2, 3)) return;
        const auto net = ipv4(a[0]), mask = ipv4(a[1]);
        const auto pfx = mask ? prefix_of(*mask) : std::nullopt;
        if (!net || !pfx || *pfx > 29) return refuse(d, "NETWORK NETMASK must be IPv4 and at most a /29");
        mode_server_ = tls_server_ = true;
        const uint32_t base = *net & *mask;
        pool_subnet_ = dotted(base) + "/" + std::to_string(*pfx);
        address_ = dotted(base + 1) + "/" + std::to_string(*pfx);
        return map(d, "tunnel.role: server, tunnel.address (.1) and tunnel.pool (the rest of the subnet)");
    }
    if (n == "ifconfig-pool-persist") {
        if (!args(d, 1, 2)) return;
        pool_persist_ = path_of(a[0]);
        if (a.size() == 2 && a[1] == "0")
            ignore(d, "seconds 0 (read-only in OpenVPN): wirebridge also writes the file when a CN gets an address");
        return map(d, "tunnel.pool.persist");
    }
    if (n == "ifconfig-pool") return refuse(d, "use server-bridge GATEWAY NETMASK START END (tunnel.pool start/end)");
    if (n == "ifconfig") {
        if (!args(d, 2, 2)) return;
        const auto ip = ipv4(a[0]), mask = ipv4(a[1]);
        const auto pfx = mask ? prefix_of(*mask) : std::nullopt;
        if (!ip || !pfx) return refuse(d, "ADDRESS NETMASK must be IPv4");
        address_ = a[0] + "/" + std::to_string(*pfx);
        return map(d, "tunnel.address");
    }
    if (n == "topology") return ignore(d, "has no meaning with dev tap");
    if (n == "client-to-client") { tunnel_["client_to_client"] = "true"; return map(d, "tunnel.client_to_client"); }
    if (n == "duplicate-cn") { tunnel_["duplicate_cn"] = "true"; return map(d, "tunnel.duplicate_cn"); }
    if (n == "max-clients") { if (args(d, 1, 1)) { max_clients_ = a[0]; map(d, "limits.max_clients"); } return; }
    if (n == "vlan-tagging") { vlan_tagging_ = "true"; return map(d, "tunnel.vlan.tagging"); }
    if (n == "vlan-pvid") { if (args(d, 1, 1)) { vlan_pvid_ = a[0]; map(d, "tunnel.vlan.pvid"); } return; }
    if (n == "push") {
        if (!args(d, 1, 1)) return;
        const std::string w = a[0].substr(0, a[0].find(' '));
        if (w == "ping" || w == "ping-restart") return ignore(d, "the hub pushes ping/ping-restart from tunnel.keepalive");
        if (w == "comp-lzo" || w == "compress") return ignore(d, "the hub pushes the stub matching tunnel.compress");
        if (w == "route-gateway") return ignore(d, "the hub pushes route-gateway from tunnel.pool.gateway");
        if (w == "sndbuf" || w == "rcvbuf")
            return ignore(d, "each site sets its own buffers (tunnel.sndbuf, tunnel.rcvbuf; 4 MiB over UDP by default)");
        return refuse(d, "the hub pushes no " + w + " to its clients (only ifconfig, route-gateway, ping, compression)");
    }
    // --- authentication ---------------------------------------------------------------------------
    if (n == "auth-user-pass") {
        if (a.empty()) return refuse(d, "without a file OpenVPN prompts; give the file (username and password lines)");
        if (auto p = file(&d, "auth-user-pass", "auth.txt", 0600)) {
            tunnel_["auth_user_pass"] = q(*p);
            map(d, "tunnel.auth_user_pass");
        }
        return;
    }
    if (n == "auth-user-pass-verify") {
        if (!args(d, 2, 2)) return;
        if (a[1] != "via-file" && a[1] != "via-env") return refuse(d, "the method must be via-file or via-env");
        std::vector<std::string> words;
        size_t pos = 0;
        const std::string& cmd = a[0];
        while (pos < cmd.size()) {
            while (pos < cmd.size() && cmd[pos] == ' ') ++pos;
            size_t e = cmd.find(' ', pos);
            if (pos < cmd.size()) words.push_back(cmd.substr(pos, e == std::string::npos ? std::string::npos : e - pos));
            pos = e == std::string::npos ? cmd.size() : e;
        }
        if (words.empty()) return refuse(d, "no command");
        words[0] = path_of(words[0]);
        std::string list;
        for (const auto& w : words) list += (list.empty() ? "" : ", ") + q(w);
        tunnel_["auth_user_pass_verify"] = "{command: [" + list + "], method: " + a[1] + "}";
        return map(d, "tunnel.auth_user_pass_verify");
    }
    if (n == "auth-nocache" || n == "auth-retry")
        return ignore(d, "wirebridge reads the file at start and retries with backoff");
    if (n == "script-security") return ignore(d, "wirebridge runs only auth_user_pass_verify, and always without a shell");
    if (n == "plugin") return refuse(d, "plugins (PAM, LDAP, ...) are not supported: use auth_user_pass_verify with a program");
    if (n == "verify-client-cert" || n == "client-cert-not-required" || n == "username-as-common-name")
        return refuse(d, "every client needs a certificate of the CA; its CN is its name");
    if (n == "auth-gen-token" || n == "auth-token") return refuse(d, "auth tokens are not generated by the hub");
    // --- process ----------------------------------------------------------------------------------
    if (n == "user") { if (args(d, 1, 1)) { user_ = a[0]; map(d, "user"); } return; }
    if (n == "group") return ignore(d, "wirebridge takes the user's primary group");
    if (n == "verb") {
        unsigned long v = 0;
        if (!args(d, 1, 1) || !number(a[0], 11, v)) return;
        log_level_ = v == 0 ? "error" : v <= 2 ? "warn" : v <= 4 ? "info" : "debug";
        return map(d, "log.level: " + *log_level_);
    }
    if (n == "persist-key" || n == "persist-tun") return ignore(d, "wirebridge keeps its keys and TAP across reconnects anyway");
    if (n == "persist-local-ip" || n == "persist-remote-ip") return ignore(d, "wirebridge resolves the remote at each connection attempt");
    if (n == "nobind") return ignore(d, "a client binds no fixed port unless tunnel.local is set");
    if (n == "resolv-retry" || n == "connect-retry" || n == "connect-retry-max" || n == "connect-timeout" ||
        n == "server-poll-timeout" || n == "hand-window" || n == "tran-window")
        return ignore(d, "wirebridge retries forever with its own backoff and a 60 s handshake window");
    if (n == "explicit-exit-notify") return ignore(d, "always on");
    if (n == "float") return ignore(d, "always on for UDP");
    if (n == "remote-random") return ignore(d, "tunnel.remote is tried in order");
    if (n == "status" || n == "status-version") return ignore(d, "use wirebridge status");
    if (n == "log" || n == "log-append" || n == "syslog" || n == "daemon" || n == "writepid" || n == "mute" ||
        n == "mute-replay-warnings" || n == "suppress-timestamps" || n == "machine-readable-output" || n == "cd" ||
        n == "chroot" || n == "management" || n == "management-query-passwords" || n == "setenv" || n == "setenv-safe" ||
        n == "ignore-unknown-option" || n == "fast-io" ||
        n == "tmp-dir" || n == "mlock" || n == "nice" || n == "replay-window" ||
        n == "connect-freq" || n == "connect-freq-initial" ||
        n == "pull-filter" || n == "route-delay" || n == "route-method" || n == "ip-win32" || n == "register-dns" ||
        n == "block-outside-dns" || n == "key-method")
        return ignore(d, "no effect on the tunnel (logging, process, tuning or platform details); wirebridge has its own");
    if (n == "route" || n == "route-ipv6" || n == "redirect-gateway" || n == "dhcp-option" || n == "route-gateway" ||
        n == "ifconfig-ipv6" || n == "server-ipv6" || n == "ifconfig-ipv6-pool" || n == "iroute")
        return refuse(d, "wirebridge adds no routes, gateways or DNS settings (a bridge has one address and no routes)");
    if (n == "up" || n == "down" || n == "client-connect" || n == "client-disconnect" || n == "learn-address" ||
        n == "tls-verify" || n == "ipchange" || n == "route-up" || n == "route-pre-down")
        return refuse(d, "scripts other than auth-user-pass-verify are not run");
    if (n == "client-config-dir" || n == "ccd-exclusive")
        return refuse(d, "per-client files are not read: per-client VLAN and MAC limits are tunnel.clients");
    if (n == "tun-mtu" || n == "mssfix" || n == "fragment") return mtu_option(d);
    if (n == "txqueuelen") {
        // OpenVPN 2.5+ without it leaves the kernel's 1000 (2.4: 100); wirebridge's default is 4096.
        unsigned long v = 0;
        if (!args(d, 1, 1)) return;
        if (!number(a[0], 65536, v) || v < 16) return refuse(d, "wirebridge's TAP queue length is 16 to 65536 frames");
        tunnel_["txqueuelen"] = std::to_string(v);
        return map(d, "tunnel.txqueuelen");
    }
    if (n == "sndbuf" || n == "rcvbuf") {
        // 0 is OpenVPN's "the OS's default": wirebridge's 0 leaves the kernel's too (without the line,
        // wirebridge's default applies: 4 MiB over UDP). The range is parse_tunnel's.
        unsigned long v = 0;
        if (!args(d, 1, 1)) return;
        if (!number(a[0], 67108864, v) || (v != 0 && v < 65536))
            return refuse(d, "wirebridge's socket buffers are 0 (the kernel's default) or 65536 to 67108864 bytes");
        tunnel_[n] = std::to_string(v);
        return map(d, "tunnel." + n + (v == 0 ? " (0: the kernel's default; without the key, 4 MiB over UDP)" : ""));
    }
    if (n == "link-mtu") return refuse(d, "deprecated in OpenVPN 2.6 and not supported: give tun-mtu instead");
    if (n == "tun-mtu-extra" || n == "mtu-disc" || n == "mtu-test")
        return refuse(d, "not supported (wirebridge counts 32 bytes for the Ethernet header, as OpenVPN's default)");
    if (n == "http-proxy" || n == "socks-proxy" || n == "port-share" || n == "dev-node" || n == "lladdr" ||
        n == "bind" || n == "mark" || n == "bind-dev")
        return refuse(d, "not supported");
    refuse(d, "unknown to the importer");
}

// tun-mtu N, mssfix [N [mtu|fixed]], fragment N [mtu]: the same values and modes as the YAML keys
// (config/parse_tunnel.cpp parse_mtu), so what maps here also loads.
void Converter::mtu_option(const Directive& d) {
    const std::string& n = d.name;
    const auto& a = d.args;
    if (n == "mssfix" && a.empty()) return ignore(d, "OpenVPN's default, which wirebridge applies too");
    if (!args(d, 1, n == "tun-mtu" ? 1 : 2)) return;
    unsigned long v = 0;
    const auto [end, ec] = std::from_chars(a[0].data(), a[0].data() + a[0].size(), v);
    const bool number = ec == std::errc{} && end == a[0].data() + a[0].size();
    if (n == "tun-mtu") {
        if (!number || v < 576 || v > 1500) return refuse(d, "wirebridge's TAP MTU is 576 to 1500 (its frame buffers hold a 1500-byte MTU frame)");
        if (v == 1500) return ignore(d, "the default");
        tunnel_["tun_mtu"] = a[0];
        return map(d, "tunnel.tun_mtu");
    }
    const std::string mode = a.size() > 1 ? a[1] : "";
    const bool mode_ok = mode.empty() || mode == "mtu" || (n == "mssfix" && mode == "fixed");
    if (!number || (v != 0 && (v < 576 || v > 9000)) || !mode_ok)
        return refuse(d, "wirebridge takes 0 or 576 to 9000" + std::string(n == "mssfix" ? " with mtu or fixed" : " with mtu"));
    const std::string key = n == "mssfix" ? "mssfix" : "fragment";
    tunnel_[key] = mode.empty() ? a[0] : q(a[0] + " " + mode);
    map(d, "tunnel." + key + (n == "fragment" ? " (UDP only; the peer needs fragment too)" : ""));
}

ImportResult Converter::run() {
    for (const auto& d : f_.directives) one(d);
    // Roles.
    if (mode_server_ || tls_server_) role_ = "server";
    if (pull_ || tls_client_) {
        if (role_) r_.refused.push_back("the file is both a client (client/pull/tls-client) and a server (mode server/tls-server)");
        role_ = "client";
    }
    if (!role_) r_.refused.push_back("neither client nor server (client, or mode server with server-bridge): point-to-point is not supported");
    if (!dev_) {
        r_.refused.push_back("no dev: wirebridge needs dev tap");
    } else {
        // OpenVPN: the type is dev-type, else the name's prefix.
        const std::string& name = dev_->args[0];
        const std::string type = !dev_type_.empty() ? dev_type_ : name.rfind("tap", 0) == 0 ? "tap" : name.rfind("tun", 0) == 0 ? "tun" : "";
        if (type == "tun") refuse(*dev_, "wirebridge bridges Ethernet frames (dev tap only); a TUN peer cannot talk to it");
        else if (type.empty()) refuse(*dev_, "the device type is unknown: add dev-type tap");
        else if (name.size() > 15 || name.find('/') != std::string::npos) refuse(*dev_, "not a usable interface name");
        else {
            device_ = name == "tap" ? "tap0" : name;
            map(*dev_, "tunnel.device: " + device_);
        }
    }
    // tls-auth and its digest.
    if (fingerprints_.size()) {
        std::string list;
        for (const auto& f : fingerprints_) list += (list.empty() ? "" : ", ") + q(f);
        tunnel_["peer_fingerprint"] = "[" + list + "]";
    }
    if (keep_interval_ || keep_timeout_)
        tunnel_["keepalive"] = "{interval: " + keep_interval_.value_or("10") + ", timeout: " + keep_timeout_.value_or("60") + "}";
    // Inline blocks no option used.
    for (const auto& b : f_.blocks)
        if (!block_used_.count(b.name) && b.name != "connection") {
            // ca/cert/key/... blocks are used implicitly by OpenVPN when present without the option.
            static const std::map<std::string, std::pair<std::string, std::string>> implicit{
                {"ca", {"ca", "ca.crt"}}, {"cert", {"cert", "cert.crt"}}, {"key", {"key", "key.pem"}},
                {"tls-crypt", {"tls_crypt", "tc.key"}}, {"dh", {"dh", "dh.pem"}}, {"crl-verify", {"crl", "crl.pem"}}};
            auto it = implicit.find(b.name);
            if (it != implicit.end()) {
                if (auto p = file(nullptr, b.name, it->second.second, b.name == "key" || b.name == "tls-crypt" ? 0600 : 0644)) {
                    tunnel_[it->second.first] = q(*p);
                    r_.mapped.push_back("line " + std::to_string(b.line) + ": <" + b.name + "> -> tunnel." + it->second.first);
                }
            } else if (b.name == "tls-auth") {
                if (auto p = file(nullptr, "tls-auth", "ta.key", 0600)) {
                    tls_auth_key_ = *p;
                    r_.mapped.push_back("line " + std::to_string(b.line) + ": <tls-auth> -> tunnel.tls_auth");
                }
            } else {
                r_.refused.push_back("line " + std::to_string(b.line) + ": <" + b.name + "> block: not supported");
            }
        }
    if (f_.inline_block("connection")) r_.refused.push_back("<connection> blocks are not supported: list the remotes");
    // tls-auth (a file, or the <tls-auth> block) and its digest (auth).
    if (tls_auth_key_) {
        std::string v = "{key: " + q(*tls_auth_key_);
        if (key_direction_) v += ", direction: " + std::to_string(*key_direction_);
        if (auth_digest_ && *auth_digest_ != "SHA1") {
            if (*auth_digest_ == "SHA256" || *auth_digest_ == "SHA384" || *auth_digest_ == "SHA512") v += ", digest: " + *auth_digest_;
            else if (auth_directive_) refuse(*auth_directive_, "tls-auth digest " + *auth_digest_ + " is not supported (SHA1, SHA256, SHA384, SHA512)");
        }
        tunnel_["tls_auth"] = v + "}";
        if (tunnel_.count("tls_crypt")) r_.refused.push_back("both tls-auth and tls-crypt");
        if (auth_directive_) map(*auth_directive_, "tunnel.tls_auth.digest");
    } else if (auth_directive_) {
        ignore(*auth_directive_, "the data channel's auth matters only with CBC ciphers; the AEAD ciphers carry their own tag");
    }
    if (!r_.ok()) return std::move(r_);

    // The YAML.
    std::string y = "# Imported from an OpenVPN config by `wirebridge import`; check with `wirebridge check -c FILE`.\n";
    y += "site: " + q(o_.site) + "\n";
    if (user_) y += "user: " + q(*user_) + "\n";
    y += "tunnel:\n";
    y += "  role: " + *role_ + "\n";
    y += "  proto: " + proto_ + "\n";
    if (*role_ == "client") {
        if (remotes_.empty()) {
            r_.refused.push_back("a client without remote");
            return std::move(r_);
        }
        std::string list;
        for (const auto& [h, p] : remotes_) {
            const std::string port = !p.empty() ? p : !rport_.empty() ? rport_ : port_;
            const std::string host = h.find(':') != std::string::npos ? "[" + h + "]" : h;
            list += (list.empty() ? "" : ", ") + q(host + ":" + port);
        }
        y += "  remote: [" + list + "]\n";
        if (!local_host_.empty() || !lport_.empty())
            y += "  local: " + q((local_host_.empty() ? "0.0.0.0" : local_host_) + ":" + (lport_.empty() ? port_ : lport_)) + "\n";
    } else {
        const std::string host = local_host_.empty() ? "0.0.0.0" : local_host_;
        y += "  local: " + q((host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + (lport_.empty() ? port_ : lport_)) + "\n";
        if (pool_subnet_ && !pool_none_) {
            if (!pool_start_ && !pool_gateway_ && !pool_persist_) {
                y += "  pool: " + *pool_subnet_ + "\n";
            } else {
                y += "  pool: {subnet: " + *pool_subnet_;
                if (pool_start_) y += ", start: " + *pool_start_ + ", end: " + *pool_end_;
                if (pool_gateway_) y += ", gateway: " + *pool_gateway_;
                if (pool_persist_) y += ", persist: " + q(*pool_persist_);
                y += "}\n";
            }
        } else if (pool_persist_) {
            r_.ignored.push_back("ifconfig-pool-persist: no pool (server-bridge without arguments), nothing to persist");
        }
    }
    y += "  device: " + q(device_) + "\n";
    if (address_) y += "  address: " + *address_ + "\n";
    static const char* const order[] = {"ca", "cert", "key", "peer_fingerprint", "askpass", "dh", "tls_auth", "tls_crypt",
                                        "remote_cert_tls", "verify_x509_name", "crl", "tls_version_min", "data_ciphers",
                                        "compress", "mssfix", "tun_mtu", "txqueuelen", "rcvbuf", "sndbuf", "fragment", "keepalive", "reneg_seconds", "auth_user_pass", "auth_user_pass_verify",
                                        "client_to_client", "duplicate_cn"};
    for (const char* k : order)
        if (auto it = tunnel_.find(k); it != tunnel_.end()) y += std::string("  ") + k + ": " + it->second + "\n";
    if (vlan_tagging_ || vlan_pvid_)
        y += "  vlan: {tagging: " + vlan_tagging_.value_or("false") + (vlan_pvid_ ? ", pvid: " + *vlan_pvid_ : "") + "}\n";
    // OpenVPN's server without remote-cert-tls checks no EKU, as wirebridge's server default; a
    // client without it accepts any server certificate of the CA, which wirebridge does not by default.
    if (*role_ == "client" && !tunnel_.count("remote_cert_tls")) {
        y += "  remote_cert_tls: none\n";
        r_.mapped.push_back("(no remote-cert-tls) -> tunnel.remote_cert_tls: none, as OpenVPN without the option");
    }
    if (max_clients_) y += "limits:\n  max_clients: " + *max_clients_ + "\n";
    if (log_level_) y += "log: {level: " + *log_level_ + "}\n";
    r_.yaml = std::move(y);
    return std::move(r_);
}

}  // namespace

ImportResult convert_ovpn(const OvpnFile& file, const ImportOptions& options) { return Converter(file, options).run(); }

}  // namespace wirebridge::import
