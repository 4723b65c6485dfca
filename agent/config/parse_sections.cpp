// The sections beside tunnel: bridge, fastpath, interest, control, log and limits.
#include "config/validator.hpp"

#include <algorithm>

namespace wirebridge::config::detail {

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

}  // namespace wirebridge::config::detail
