// Peer-info builder and parser, and 2.6's data cipher choice.
#include "proto/peer_info.hpp"

#include <charconv>
#include <strings.h>

#include "proto/constants.hpp"

namespace wirebridge::proto {

PeerInfo PeerInfo::parse(std::string_view text) {
    PeerInfo pi;
    while (!text.empty()) {
        const size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        const size_t eq = line.find('=');
        if (eq == 0 || eq == std::string_view::npos) continue;  // openvpn ignores such lines too
        pi.set(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
    }
    return pi;
}

void PeerInfo::set(std::string key, std::string value) {
    for (auto& [k, v] : entries_) {
        if (k == key) {
            v = std::move(value);
            return;
        }
    }
    entries_.emplace_back(std::move(key), std::move(value));
}

std::optional<std::string_view> PeerInfo::get(std::string_view key) const {
    for (const auto& [k, v] : entries_)
        if (k == key) return std::string_view(v);
    return std::nullopt;
}

std::string PeerInfo::serialize() const {
    std::string out;
    for (const auto& [k, v] : entries_) {
        out += k;
        out += '=';
        out += v;
        out += '\n';
    }
    return out;
}

uint32_t PeerInfo::iv_proto() const {
    auto v = get("IV_PROTO");
    if (!v) return 0;
    uint32_t n = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    return (ec == std::errc{} && p == v->data() + v->size()) ? n : 0;
}

std::vector<std::string> PeerInfo::ciphers() const {
    std::vector<std::string> out;
    auto v = get("IV_CIPHERS");
    if (!v) return out;
    std::string_view s = *v;
    while (!s.empty()) {
        const size_t c = s.find(':');
        std::string_view item = s.substr(0, c);
        if (!item.empty()) out.emplace_back(item);
        if (c == std::string_view::npos) break;
        s = s.substr(c + 1);
    }
    return out;
}

std::vector<std::string> PeerInfo::ncp_ciphers() const {
    if (get("IV_CIPHERS")) return ciphers();
    const auto ncp = get("IV_NCP");
    unsigned v = 0;
    if (ncp) std::from_chars(ncp->data(), ncp->data() + ncp->size(), v);
    if (v >= 2) return {"AES-256-GCM", "AES-128-GCM"};
    return {};
}

std::string choose_server_cipher(const std::vector<std::string>& ours, const PeerInfo& client, const std::string& remote_cipher,
                                 const std::string& fallback) {
    const std::string remote = client.get("IV_CIPHERS") ? std::string() : remote_cipher;  // IV_CIPHERS wins
    std::vector<std::string> theirs = client.ncp_ciphers();
    if (!remote.empty()) theirs.push_back(remote);
    std::string chosen = negotiate_cipher(ours, theirs);
    if (chosen.empty() && theirs.empty()) chosen = fallback;
    return chosen;
}

PeerInfo PeerInfo::for_pull_client(const std::vector<std::string>& ciphers, std::string_view version, bool tls_ekm) {
    PeerInfo pi;
    pi.set("IV_VER", std::string(version));
    pi.set("IV_PLAT", "linux");
    const uint32_t proto = iv_proto_data_v2 | iv_proto_request_push | (tls_ekm ? iv_proto_tls_key_export : 0u) |
                           iv_proto_cc_exit_notify;
    pi.set("IV_PROTO", std::to_string(proto));
    pi.set("IV_TCPNL", "1");
    pi.set("IV_MTU", "1600");
    pi.set("IV_NCP", "2");
    std::string list;
    for (const auto& c : ciphers) {
        if (!list.empty()) list += ':';
        list += c;
    }
    pi.set("IV_CIPHERS", list);
    // As OpenVPN 2.6 with `allow-compression asym`: we decompress all of these (and never compress).
    pi.set("IV_LZ4", "1");
    pi.set("IV_LZ4v2", "1");
    pi.set("IV_LZO", "1");
    pi.set("IV_COMP_STUB", "1");
    pi.set("IV_COMP_STUBv2", "1");
    return pi;
}

std::string negotiate_cipher(const std::vector<std::string>& ours, const std::vector<std::string>& theirs) {
    for (const auto& o : ours)
        for (const auto& t : theirs)
            if (strcasecmp(o.c_str(), t.c_str()) == 0) return o;
    return {};
}

}  // namespace wirebridge::proto
