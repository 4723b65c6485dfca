// Status -> Prometheus text format: one HELP and TYPE per family, then its samples.
#include "control/prometheus.hpp"

#include <set>
#include <sstream>
#include <vector>

namespace wirebridge::control {

namespace {

// The data channel's drop reasons (docs/CONTROL.md); every other reason is the hub's switch's.
const std::set<std::string> kDataChannelDrops{"truncated",      "no_key",          "auth_failed", "replay",
                                              "packet_id_wrap", "bad_compression", "bad_fragment"};
// The kernel fast path's counters; its other lines (entries, max_entries) are gauges.
const std::set<std::string> kFastpathGauges{"entries", "max_entries"};

struct Sample {
    std::string labels;  // without braces: a="x",b="y"
    double value;
};

class Writer {
public:
    // One family: written only when it has samples, so the output never holds an empty family.
    void family(const std::string& name, const char* type, const char* help, const std::vector<Sample>& samples) {
        if (samples.empty()) return;
        o_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
        for (const auto& s : samples) {
            o_ << name;
            if (!s.labels.empty()) o_ << "{" << s.labels << "}";
            o_ << " " << number(s.value) << "\n";
        }
    }
    std::string str() const { return o_.str(); }

private:
    static std::string number(double v) {
        std::ostringstream n;
        n.precision(17);
        n << v;
        return n.str();
    }
    std::ostringstream o_;
};

}  // namespace

std::string prometheus_label(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string to_prometheus(const Status& s) {
    const std::string site = "site=\"" + prometheus_label(s.site) + "\"";
    auto peer_labels = [&](const PeerStatus& p) {
        return site + ",peer=\"" + prometheus_label(p.name) + "\",peer_id=\"" +
               (p.peer_id >= 0 ? std::to_string(p.peer_id) : std::string()) + "\"";
    };
    Writer w;
    w.family("wirebridge_info", "gauge", "The agent: its site and role (always 1).",
             {{site + ",role=\"" + prometheus_label(s.role) + "\"", 1}});
    w.family("wirebridge_uptime_seconds", "gauge", "Seconds since the agent started.",
             {{site, static_cast<double>(s.uptime_seconds)}});
    w.family("wirebridge_peers", "gauge", "Peers the agent has a session with.",
             {{site, static_cast<double>(s.peers.size())}});

    std::vector<Sample> up, rx_bytes, tx_bytes, rx_packets, tx_packets, heard, key_age, handshakes,
        connected, peer_drops, macs;
    for (const auto& p : s.peers) {
        const std::string l = peer_labels(p);
        up.push_back({l, p.cipher.empty() ? 0.0 : 1.0});
        rx_bytes.push_back({l, static_cast<double>(p.bytes_in)});
        tx_bytes.push_back({l, static_cast<double>(p.bytes_out)});
        rx_packets.push_back({l, static_cast<double>(p.packets_in)});
        tx_packets.push_back({l, static_cast<double>(p.packets_out)});
        if (p.last_heard_seconds) heard.push_back({l, static_cast<double>(*p.last_heard_seconds)});
        key_age.push_back({l, static_cast<double>(p.key_age_seconds)});
        handshakes.push_back({l, static_cast<double>(p.handshakes)});
        connected.push_back({l, static_cast<double>(p.connected_seconds)});
        macs.push_back({l, static_cast<double>(p.macs.size())});
        for (const auto& [reason, n] : p.drops)
            peer_drops.push_back({l + ",reason=\"" + prometheus_label(reason) + "\"", static_cast<double>(n)});
    }
    w.family("wirebridge_peer_up", "gauge", "1 when the peer's tunnel is up (keys negotiated), else 0.", up);
    w.family("wirebridge_peer_receive_bytes_total", "counter",
             "Bytes of Ethernet frames received from the peer through the data channel.", rx_bytes);
    w.family("wirebridge_peer_transmit_bytes_total", "counter",
             "Bytes of Ethernet frames sent to the peer through the data channel.", tx_bytes);
    w.family("wirebridge_peer_receive_packets_total", "counter", "Ethernet frames received from the peer.", rx_packets);
    w.family("wirebridge_peer_transmit_packets_total", "counter", "Ethernet frames sent to the peer.", tx_packets);
    w.family("wirebridge_peer_last_heard_seconds", "gauge",
             "Seconds since an authentic packet (data, keepalive or control) came from the peer.", heard);
    w.family("wirebridge_peer_key_age_seconds", "gauge", "Seconds since the keys in use were negotiated.", key_age);
    w.family("wirebridge_peer_handshakes_total", "counter",
             "Key negotiations completed with the peer (the first and every renegotiation).", handshakes);
    w.family("wirebridge_peer_connected_seconds", "gauge", "Seconds since the peer's tunnel came up.", connected);
    w.family("wirebridge_peer_macs", "gauge", "MAC addresses learned behind the peer (hub).", macs);
    w.family("wirebridge_peer_drops_total", "counter", "Frames of the peer the hub's switch dropped, by reason.",
             peer_drops);

    std::vector<Sample> data_drops, switch_drops;
    for (const auto& [reason, n] : s.drops)
        (kDataChannelDrops.count(reason) ? data_drops : switch_drops)
            .push_back({site + ",reason=\"" + prometheus_label(reason) + "\"", static_cast<double>(n)});
    w.family("wirebridge_data_channel_drops_total", "counter",
             "Data channel packets dropped, by reason (truncated, no_key, auth_failed, replay, packet_id_wrap, "
             "bad_compression, bad_fragment).",
             data_drops);
    w.family("wirebridge_switch_drops_total", "counter",
             "Frames the hub's virtual switch or the TAP side dropped, by reason.", switch_drops);
    w.family("wirebridge_reloads_total", "counter", "SIGHUP reloads whose file was read (taken or refused).",
             {{site, static_cast<double>(s.reloads)}});

    if (s.fastpath) {
        std::vector<Sample> events, gauges;
        for (const auto& [name, n] : *s.fastpath)
            (kFastpathGauges.count(name) ? gauges : events)
                .push_back({site + ",counter=\"" + prometheus_label(name) + "\"", static_cast<double>(n)});
        w.family("wirebridge_fastpath_events_total", "counter",
                 "The kernel fast path's counters (/proc/net/gwmark/stats) of the agent's network namespace.", events);
        w.family("wirebridge_fastpath_flows", "gauge",
                 "Flows in the kernel fast path's cache (counter=entries) and its bound (counter=max_entries).", gauges);
    }
    w.family("wirebridge_fastpath_loaded", "gauge", "1 when the xt_GWMARK module's counters could be read.",
             {{site, s.fastpath ? 1.0 : 0.0}});
    if (s.flows) {
        std::vector<Sample> f;
        for (const auto& [name, n] : *s.flows)
            f.push_back({site + ",counter=\"" + prometheus_label(name) + "\"", static_cast<double>(n)});
        w.family("wirebridge_routeless", "gauge",
                 "Routeless mode's queue, decision and conntrack counts (docs/ROUTELESS.md).", f);
    }
    std::vector<Sample> wk_in, wk_out, wk_from, wk_to;
    for (const auto& k : s.workers) {
        const std::string l = site + ",worker=\"" + std::to_string(k.index) + "\"";
        wk_in.push_back({l, static_cast<double>(k.packets_in)});
        wk_out.push_back({l, static_cast<double>(k.packets_out)});
        wk_from.push_back({l, static_cast<double>(k.frames_from_tap)});
        wk_to.push_back({l, static_cast<double>(k.frames_to_tap)});
    }
    w.family("wirebridge_worker_receive_packets_total", "counter", "Data packets a worker opened.", wk_in);
    w.family("wirebridge_worker_transmit_packets_total", "counter", "Data packets a worker sealed.", wk_out);
    w.family("wirebridge_worker_tap_read_frames_total", "counter", "Frames a worker read from its TAP queue.", wk_from);
    w.family("wirebridge_worker_tap_write_frames_total", "counter", "Frames a worker wrote to its TAP queue.", wk_to);
    return w.str();
}

}  // namespace wirebridge::control
