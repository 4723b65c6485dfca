// Status rendering: JSON for programs, an aligned table for people.
#include "control/status.hpp"

#include <cstdio>
#include <sstream>

namespace wirebridge::control {

std::string json_quote(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof(buf), "\\u%04x", c);
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    return out + "\"";
}

namespace {

std::string json_counters(const std::map<std::string, uint64_t>& m) {
    std::string out = "{";
    bool first = true;
    for (const auto& [k, v] : m) {
        out += (first ? "" : ",") + json_quote(k) + ":" + std::to_string(v);
        first = false;
    }
    return out + "}";
}

std::string human_bytes(uint64_t b) {
    const char* unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(b);
    int i = 0;
    while (v >= 1024 && i < 4) {
        v /= 1024;
        ++i;
    }
    char buf[32];
    std::snprintf(buf, sizeof(buf), i == 0 ? "%.0f %s" : "%.1f %s", v, unit[i]);
    return buf;
}

}  // namespace

std::string to_json(const Status& s) {
    std::ostringstream o;
    o << "{\"site\":" << json_quote(s.site) << ",\"role\":" << json_quote(s.role)
      << ",\"uptime_seconds\":" << s.uptime_seconds << ",\"peers\":[";
    for (size_t i = 0; i < s.peers.size(); ++i) {
        const PeerStatus& p = s.peers[i];
        o << (i ? "," : "") << "{\"name\":" << json_quote(p.name)
          << ",\"real_address\":" << json_quote(p.real_address)
          << ",\"virtual_address\":" << json_quote(p.virtual_address) << ",\"macs\":[";
        for (size_t j = 0; j < p.macs.size(); ++j) o << (j ? "," : "") << json_quote(p.macs[j]);
        o << "],\"cipher\":" << json_quote(p.cipher) << ",\"key_id\":" << p.key_id
          << ",\"key_age_seconds\":" << p.key_age_seconds << ",\"bytes_in\":" << p.bytes_in
          << ",\"bytes_out\":" << p.bytes_out << ",\"packets_in\":" << p.packets_in
          << ",\"packets_out\":" << p.packets_out << ",\"peer_id\":";
        if (p.peer_id >= 0)
            o << p.peer_id;
        else
            o << "null";
        o << ",\"vlan\":";
        if (p.vlan)
            o << *p.vlan;
        else
            o << "null";
        o << ",\"connected_seconds\":" << p.connected_seconds << ",\"last_heard_seconds\":";
        if (p.last_heard_seconds)
            o << *p.last_heard_seconds;
        else
            o << "null";
        o << ",\"handshakes\":" << p.handshakes << ",\"mac_entries\":[";
        for (size_t j = 0; j < p.mac_entries.size(); ++j) {
            const MacStatus& m = p.mac_entries[j];
            o << (j ? "," : "") << "{\"mac\":" << json_quote(m.mac) << ",\"vlan\":" << m.vlan
              << ",\"age_seconds\":" << m.age_seconds << "}";
        }
        o << "],\"drops\":" << json_counters(p.drops) << "}";
    }
    o << "],\"drops\":" << json_counters(s.drops) << ",\"reloads\":" << s.reloads
      << ",\"last_reload\":" << json_quote(s.last_reload) << ",\"fastpath\":";
    if (s.fastpath)
        o << json_counters(*s.fastpath);
    else
        o << "null";
    o << ",\"fastpath_note\":" << json_quote(s.fastpath_note) << ",\"flows\":";
    if (s.flows)
        o << json_counters(*s.flows);
    else
        o << "null";
    o << ",\"workers\":[";
    for (size_t i = 0; i < s.workers.size(); ++i) {
        const WorkerStatus& w = s.workers[i];
        o << (i ? "," : "") << "{\"index\":" << w.index << ",\"packets_in\":" << w.packets_in
          << ",\"packets_out\":" << w.packets_out << ",\"frames_from_tap\":" << w.frames_from_tap
          << ",\"frames_to_tap\":" << w.frames_to_tap << "}";
    }
    o << "]}\n";
    return o.str();
}

std::string to_text(const Status& s) {
    std::ostringstream o;
    o << "site " << s.site << " (" << s.role << "), up " << s.uptime_seconds << " s, "
      << s.peers.size() << (s.peers.size() == 1 ? " peer" : " peers") << "\n";
    for (const PeerStatus& p : s.peers) {
        // State and when it was last heard from first, as `wg show` puts the latest handshake.
        o << "  peer " << (p.name.empty() ? "-" : p.name);
        if (p.peer_id >= 0) o << " (peer-id " << p.peer_id << ")";
        o << ": " << (p.cipher.empty() ? "connecting" : "up");
        if (p.last_heard_seconds) o << ", last heard " << *p.last_heard_seconds << " s ago";
        else o << ", never heard";
        if (p.handshakes != 0) o << ", " << p.handshakes << (p.handshakes == 1 ? " handshake" : " handshakes");
        o << "\n    " << p.real_address;
        if (!p.virtual_address.empty()) o << "  virtual " << p.virtual_address;
        if (p.vlan) o << "  vlan " << *p.vlan;
        if (p.connected_seconds != 0) o << "  up " << p.connected_seconds << " s";
        o << "\n    " << p.cipher << " key " << p.key_id;
        if (p.key_age_seconds != 0) o << " (age " << p.key_age_seconds << " s)";
        o << "  in " << human_bytes(p.bytes_in) << " / " << p.packets_in << " pkts  out "
          << human_bytes(p.bytes_out) << " / " << p.packets_out << " pkts\n";
        if (!p.mac_entries.empty()) {
            o << "    macs";
            for (const MacStatus& m : p.mac_entries) {
                o << " " << m.mac;
                if (m.vlan) o << " vlan " << m.vlan;
                o << " (" << m.age_seconds << " s)";
            }
            o << "\n";
        } else if (!p.macs.empty()) {
            o << "    macs";
            for (const std::string& m : p.macs) o << " " << m;
            o << "\n";
        }
        if (!p.drops.empty()) {
            o << "    drops";
            for (const auto& [k, v] : p.drops) o << " " << k << "=" << v;
            o << "\n";
        }
    }
    if (!s.drops.empty()) {
        o << "  drops";
        for (const auto& [k, v] : s.drops) o << " " << k << "=" << v;
        o << "\n";
    }
    if (s.reloads != 0 || !s.last_reload.empty())
        o << "  reloads " << s.reloads << (s.last_reload.empty() ? "" : ": last " + s.last_reload) << "\n";
    if (s.fastpath) {
        o << "  fastpath";
        for (const auto& [k, v] : *s.fastpath) o << " " << k << "=" << v;
        o << "\n";
    }
    if (!s.fastpath_note.empty()) o << "  fastpath: " << s.fastpath_note << "\n";
    for (const WorkerStatus& w : s.workers)
        o << "  worker " << w.index << " (TAP queue " << w.index << ")  in " << w.packets_in << " pkts  out "
          << w.packets_out << " pkts  from TAP " << w.frames_from_tap << " frames  to TAP " << w.frames_to_tap
          << " frames\n";
    if (s.flows) {
        o << "  flows";
        for (const auto& [k, v] : *s.flows) o << " " << k << "=" << v;
        o << "\n";
    }
    return o.str();
}

}  // namespace wirebridge::control
