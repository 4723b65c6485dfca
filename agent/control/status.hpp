// Status: what `wirebridge status` shows, as one snapshot the running agent fills in.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wirebridge::control {

// One MAC the hub learned behind a peer.
struct MacStatus {
    std::string mac;       // xx:xx:xx:xx:xx:xx
    uint16_t vlan = 0;     // 0 unless VLAN tagging is on
    uint64_t age_seconds = 0;  // since a frame from it was last seen
};

struct PeerStatus {
    std::string name;             // the peer certificate's common name
    int64_t peer_id = -1;         // the DATA_V2 peer-id (-1: none)
    std::string real_address;     // where its packets come from: 198.51.100.7:1194
    std::string virtual_address;  // the pushed or pool address, "" if none
    std::vector<std::string> macs;  // MACs learned behind this peer (server) — not "MAC@0"
    std::vector<MacStatus> mac_entries;  // the same with VLAN and age
    std::optional<uint16_t> vlan;  // server with VLAN tagging: the peer's VLAN
    std::string cipher;           // AES-256-GCM, ...
    int key_id = 0;
    uint64_t key_age_seconds = 0;
    uint64_t connected_seconds = 0;  // since this session's tunnel came up
    std::optional<uint64_t> last_heard_seconds;  // since an authentic packet came from it (none yet: nullopt)
    uint64_t handshakes = 0;      // key negotiations completed with it (1 + renegotiations done)
    uint64_t bytes_in = 0, bytes_out = 0;
    uint64_t packets_in = 0, packets_out = 0;
    std::map<std::string, uint64_t> drops;  // this peer's frames dropped, by reason (also in the totals)
};

// A data path worker (tunnel.workers > 1 on a server): what it carried since start.
struct WorkerStatus {
    unsigned index = 0;             // also its TAP queue
    uint64_t packets_in = 0;        // data packets it opened (from its socket)
    uint64_t packets_out = 0;       // data packets it sealed (to clients)
    uint64_t frames_from_tap = 0;   // frames read from its TAP queue
    uint64_t frames_to_tap = 0;     // frames written to its TAP queue
};

struct Status {
    std::string site;
    std::string role;  // client | server
    uint64_t uptime_seconds = 0;
    std::vector<PeerStatus> peers;
    std::map<std::string, uint64_t> drops;  // reason -> count
    uint64_t reloads = 0;     // configurations taken on SIGHUP
    std::string last_reload;  // what the last reload changed, or why it was refused ("" if none)
    // The kernel fast path's counters (/proc/net/gwmark/stats), or why there are none.
    std::optional<std::map<std::string, uint64_t>> fastpath;
    std::string fastpath_note;
    // Routeless mode (interest rules): queue and conntrack counters, nullopt when it is off.
    std::optional<std::map<std::string, uint64_t>> flows;
    // Server data path workers (empty: the data path runs on the main thread).
    std::vector<WorkerStatus> workers;
};

// One JSON object; stable key names (documented in docs/CONTROL.md).
std::string to_json(const Status& s);
// A table for people.
std::string to_text(const Status& s);

// JSON string literal with the escapes RFC 8259 requires.
std::string json_quote(const std::string& s);

}  // namespace wirebridge::control
