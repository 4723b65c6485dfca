// L2Switch: the server's virtual switch between its TAP device and its clients (MAC learning).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace wirebridge::datapath {

// A port is a client's peer-id, or kTapPort for the server's TAP device.
using Port = std::uint32_t;
inline constexpr Port kTapPort = 0xffffffffu;

// Forwarding, per seed 000 and DESIGN.md:
//  - every frame teaches the switch its source MAC -> ingress port (moves are followed);
//  - from the TAP: a known unicast MAC goes to its client; broadcast, multicast and unknown
//    unicast go to every client;
//  - from a client with client_to_client: a known MAC goes to its port (TAP or client); the rest
//    goes to the TAP and every other client; without client_to_client everything goes to the TAP;
//  - a frame never goes back out of the port it came in, and reaches each port at most once.
// Single-threaded; the table is sized once (learning a new MAC does not allocate until it is full).
class L2Switch {
public:
    explicit L2Switch(bool client_to_client, std::size_t max_macs = 4096, std::int64_t age_sec = 300);

    void add_port(Port p);
    void remove_port(Port p);  // and forgets every MAC learned on it
    const std::vector<Port>& clients() const { return clients_; }

    // The ports `frame` must go to. The returned span lives until the next call.
    std::span<const Port> forward(Port in, std::span<const std::uint8_t> frame, std::int64_t now_sec);

    std::size_t mac_count() const { return table_.size(); }
    // The MACs learned on port p, as xx:xx:xx:xx:xx:xx (for status; not on the data path).
    std::vector<std::string> macs_on(Port p) const;
    bool lookup(const std::uint8_t mac[6], Port& out, std::int64_t now_sec) const;

private:
    static std::uint64_t key(const std::uint8_t* mac);
    void learn(const std::uint8_t* mac, Port p, std::int64_t now_sec);

    struct Entry {
        Port port;
        std::int64_t seen;
    };
    bool c2c_;
    std::size_t max_macs_;
    std::int64_t age_sec_;
    std::vector<Port> clients_;
    std::unordered_map<std::uint64_t, Entry> table_;
    std::vector<Port> out_;
};

}  // namespace wirebridge::datapath
