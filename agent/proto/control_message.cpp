// Control-channel text messages and PUSH_REPLY option parsing.
#include "proto/control_message.hpp"

#include <charconv>

namespace wirebridge::proto {

namespace {

constexpr unsigned kMaxPushParts = 64;  // bound push-continuation against a looping server

bool starts_with_word(std::string_view text, std::string_view word, std::string_view& args) {
    if (text.substr(0, word.size()) != word) return false;
    if (text.size() == word.size()) {
        args = {};
        return true;
    }
    if (text[word.size()] != ',') return false;
    args = text.substr(word.size() + 1);
    return true;
}

std::optional<uint32_t> to_u32(std::string_view s) {
    uint32_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

}  // namespace

ControlMessage classify_control_message(std::string_view raw) {
    ControlMessage m;
    while (!raw.empty() && raw.back() == '\0') raw.remove_suffix(1);
    for (char c : raw) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 && c != '\t' && c != '\n' && c != '\r') return m;
    }
    m.text = raw;
    struct Word {
        std::string_view word;
        ControlMessageKind kind;
    };
    static constexpr Word kWords[] = {
        {"PUSH_REQUEST", ControlMessageKind::push_request}, {"PUSH_REPLY", ControlMessageKind::push_reply},
        {"AUTH_FAILED", ControlMessageKind::auth_failed},   {"AUTH_PENDING", ControlMessageKind::auth_pending},
        {"RESTART", ControlMessageKind::restart},           {"HALT", ControlMessageKind::halt},
        {"EXIT", ControlMessageKind::exit},                 {"INFO_PRE", ControlMessageKind::info_pre},
        {"INFO", ControlMessageKind::info},
    };
    for (const Word& w : kWords) {
        if (starts_with_word(raw, w.word, m.args)) {
            m.kind = w.kind;
            return m;
        }
    }
    return m;
}

std::vector<uint8_t> control_message_bytes(std::string_view text) {
    std::vector<uint8_t> out(text.begin(), text.end());
    out.push_back(0);
    return out;
}

std::vector<std::string> split_option_words(std::string_view line) {
    std::vector<std::string> words;
    std::string cur;
    bool in_word = false, quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (c == '\\' && i + 1 < line.size()) {
            cur += line[++i];
            in_word = true;
        } else if (c == '"') {
            quoted = !quoted;
            in_word = true;
        } else if (!quoted && (c == ' ' || c == '\t')) {
            if (in_word) words.push_back(std::move(cur));
            cur.clear();
            in_word = false;
        } else {
            cur += c;
            in_word = true;
        }
    }
    if (in_word) words.push_back(std::move(cur));
    return words;
}

CompressionFraming compression_of(const std::vector<std::string>& w) {
    if (w.empty()) return CompressionFraming::none;
    if (w[0] == "comp-lzo") {  // options.c: every comp-lzo variant is the non-swapped LZO framing
        if (w.size() < 2 || w[1] == "yes" || w[1] == "no" || w[1] == "adaptive") return CompressionFraming::comp_lzo;
        return CompressionFraming::unsupported;
    }
    if (w[0] != "compress") return CompressionFraming::none;
    if (w.size() < 2 || w[1] == "stub" || w[1] == "lz4") return CompressionFraming::compress_v1;  // bare: stub
    if (w[1] == "stub-v2" || w[1] == "lz4-v2") return CompressionFraming::compress_v2;
    if (w[1] == "lzo") return CompressionFraming::comp_lzo;
    return CompressionFraming::unsupported;
}

std::string compression_stub_option(CompressionFraming f) {
    switch (f) {
        case CompressionFraming::comp_lzo: return "comp-lzo no";
        case CompressionFraming::compress_v1: return "compress stub";
        case CompressionFraming::compress_v2: return "compress stub-v2";
        case CompressionFraming::none:
        case CompressionFraming::unsupported: break;
    }
    return {};
}

const char* compression_name(CompressionFraming f) {
    switch (f) {
        case CompressionFraming::none: return "none";
        case CompressionFraming::comp_lzo: return "comp-lzo";
        case CompressionFraming::compress_v1: return "compress (v1)";
        case CompressionFraming::compress_v2: return "compress (v2)";
        case CompressionFraming::unsupported: return "unsupported";
    }
    return "?";
}

bool PushOptions::apply(std::string_view line) {
    const auto w = split_option_words(line);
    if (w.empty()) return true;
    const std::string& name = w[0];
    auto num = [&](std::optional<uint32_t>& dst) {
        if (w.size() < 2) return false;
        dst = to_u32(w[1]);
        return dst.has_value();
    };
    if (name == "cipher") {
        if (w.size() < 2) return false;
        cipher = w[1];
    } else if (name == "peer-id") {
        if (!num(peer_id) || *peer_id > kMaxPeerId) return false;
    } else if (name == "ping") {
        return num(ping);
    } else if (name == "ping-restart") {
        return num(ping_restart);
    } else if (name == "tun-mtu") {
        return num(tun_mtu);
    } else if (name == "explicit-exit-notify") {
        if (w.size() < 2) explicit_exit_notify = 1;
        else return num(explicit_exit_notify);
    } else if (name == "key-derivation") {
        if (w.size() >= 2 && w[1] == "tls-ekm") tls_ekm = true;
        else return false;
    } else if (name == "protocol-flags") {
        for (size_t i = 1; i < w.size(); ++i) {
            if (w[i] == "tls-ekm") tls_ekm = true;
            else if (w[i] == "cc-exit") cc_exit = true;
            else if (w[i] == "dyn-tls-crypt") dyn_tls_crypt = true;
            else ignored.push_back("protocol-flags " + w[i]);
        }
    } else if (name == "ifconfig") {
        if (w.size() < 3) return false;
        ifconfig_local = w[1];
        ifconfig_netmask = w[2];
    } else if (name == "route-gateway") {
        if (w.size() < 2) return false;
        route_gateway = w[1];
    } else if (name == "auth-token") {
        if (w.size() < 2) return false;
        auth_token = w[1];
    } else if (name == "comp-lzo" || name == "compress") {
        compression = compression_of(w);
    } else {
        ignored.emplace_back(line);
    }
    return true;
}

PushReplyAssembler::Status PushReplyAssembler::feed(std::string_view args) {
    if (++parts_ > kMaxPushParts) return Status::error;
    Status st = Status::complete;
    while (!args.empty()) {
        const size_t c = args.find(',');
        std::string_view opt = args.substr(0, c);
        args = c == std::string_view::npos ? std::string_view{} : args.substr(c + 1);
        if (opt.substr(0, 17) == "push-continuation") {
            const auto w = split_option_words(opt);
            st = (w.size() == 2 && w[1] == "2") ? Status::more : Status::complete;
            continue;
        }
        if (!opts_.apply(opt)) return Status::error;
    }
    return st;
}

std::string build_push_reply(const PushOptions& o) {
    std::string s = "PUSH_REPLY";
    auto add = [&](const std::string& opt) {
        s += ',';
        s += opt;
    };
    if (o.route_gateway) add("route-gateway " + *o.route_gateway);
    if (o.ping) add("ping " + std::to_string(*o.ping));
    if (o.ping_restart) add("ping-restart " + std::to_string(*o.ping_restart));
    if (o.ifconfig_local && o.ifconfig_netmask) add("ifconfig " + *o.ifconfig_local + " " + *o.ifconfig_netmask);
    if (o.peer_id) add("peer-id " + std::to_string(*o.peer_id));
    if (o.cipher) add("cipher " + *o.cipher);
    if (o.cc_exit || o.dyn_tls_crypt) {
        std::string f = "protocol-flags";
        if (o.cc_exit) f += " cc-exit";
        if (o.tls_ekm) f += " tls-ekm";
        if (o.dyn_tls_crypt) f += " dyn-tls-crypt";
        add(f);
    } else if (o.tls_ekm) {
        add("key-derivation tls-ekm");
    }
    if (o.tun_mtu) add("tun-mtu " + std::to_string(*o.tun_mtu));
    if (const std::string c = compression_stub_option(o.compression); !c.empty()) add(c);
    for (const auto& i : o.ignored) add(i);
    return s;
}

}  // namespace wirebridge::proto
