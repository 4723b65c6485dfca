// L2Switch: the server's virtual switch between its TAP device and its clients (seed 000).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace wirebridge::datapath {

// A port is a client's peer-id, or kTapPort for the server's TAP device.
using Port = std::uint32_t;
inline constexpr Port kTapPort = 0xffffffffu;

// Why the switch did not deliver a frame (anywhere); indexes the drop counters.
enum class SwitchDrop : std::uint8_t {
    none = 0,
    runt,                  // shorter than an Ethernet header (or a tag header when one is claimed)
    unknown_port,          // from a peer-id that is not (or no longer) a port of the switch
    group_source,          // a broadcast/multicast source MAC: no station sends from one
    mac_limit,             // a new source MAC behind a client already at its bound
    multicast_limit,       // a client's broadcast/multicast over its frames-per-second budget
    client_to_client_off,  // unicast to another client's MAC while client_to_client is off
    vlan_untagged,         // VLAN tagging on: an untagged frame from the TAP
    vlan_mismatch,         // VLAN tagging on: a tagged TAP frame for a VLAN no connected client is in
    vlan_tagged_client,    // VLAN tagging on: a client sent an 802.1Q/802.1ad tagged frame
    tap_write,             // the TAP refused the frame the switch sent it (e.g. EIO: the device is down)
    mac_sticky,            // a client sent from a MAC that is live on the hub's TAP side (takeover attempt)
    mac_move_limit,        // a client took over MACs of other clients faster than mac_move_limit
    tagged_client,         // VLAN tagging off: a client sent an 802.1Q/802.1ad frame (allow_tagged_frames off)
    mac_not_allowed,       // a client with a MAC allowlist (tunnel.clients macs) sent from a MAC not in it
    count_
};
const char* switch_drop_name(SwitchDrop d);
inline constexpr std::size_t kSwitchDropCount = static_cast<std::size_t>(SwitchDrop::count_);
using SwitchDrops = std::array<std::uint64_t, kSwitchDropCount>;

// What the server's tunnel section says about the switch; all of it may change while running.
struct SwitchSettings {
    bool client_to_client = false;
    std::uint32_t mac_age_s = 300;             // 0: entries never age
    std::uint32_t max_macs_per_client = 1024;  // 0: no bound
    // Broadcast, multicast and (client_to_client on) flooded unknown-unicast frames/s from one
    // client; 0: none.
    std::uint32_t multicast_limit = 0;
    std::uint32_t mac_move_limit = 2;          // MACs a client may take over from other clients per second; 0: no limit
    bool allow_tagged_frames = false;          // tagging off: let clients' 802.1Q/802.1ad frames through
    bool vlan_tagging = false;                 // the TAP side carries 802.1Q tags
    std::uint16_t vlan_pvid = 1;               // a client's VLAN unless it has its own
};

// Per-client overrides (by certificate common name, resolved by the runner).
using Mac = std::array<std::uint8_t, 6>;
struct PortSettings {
    std::optional<std::uint16_t> vlan;
    std::optional<std::uint32_t> max_macs;
    // Set: the only source MACs this client may send from (a few: checked one by one per frame).
    std::optional<std::vector<Mac>> allowed_macs = std::nullopt;
    bool operator==(const PortSettings&) const = default;
};

// Forwarding, as a learning switch with one VLAN per client (like OpenVPN's --vlan-tagging):
//  - a frame from a client teaches (VLAN, source MAC) -> client, within the client's MAC bound;
//    a MAC that moves between clients is relearned on its new port, at most mac_move_limit a
//    second per client (counted in mac_moves()); a MAC live on the TAP side (the hub's LAN, its
//    gateway) is never taken by a client: the frame is dropped (mac_sticky); entries not
//    refreshed for mac_age_s are gone; a client with a MAC allowlist (PortSettings::allowed_macs)
//    sends only from those MACs: any other source is dropped before it is learned (mac_not_allowed);
//  - tagging off: a client's 802.1Q/802.1ad frame is dropped (tagged_client) unless
//    allow_tagged_frames, so a site cannot put frames on a VLAN of a trunk behind the TAP;
//  - from the TAP: a known unicast MAC goes to its client; broadcast, multicast and unknown
//    unicast go to every client (of the frame's VLAN) exactly once;
//  - from a client, client_to_client on: a known MAC goes to its port; the rest goes to the TAP
//    and every other client of the same VLAN; off: only to the TAP, never to another client;
//  - a frame never goes back out of its ingress port;
//  - tagging on: the TAP carries 802.1Q frames; clients are untagged members of one VLAN. A
//    client's frame gets its VLAN's tag on the way to the TAP; a TAP frame reaches only clients of
//    its tag's VLAN, untagged.
// Single-threaded (hub workers share one under a mutex, taken once per batch). Nothing is allocated per frame: the table is open addressing with a fixed
// capacity (grown only in add_port/apply, which are control-plane calls).
class L2Switch {
public:
    explicit L2Switch(const SwitchSettings& s = {});

    // Applies new settings now, keeping every port. A change of VLAN layout forgets the learned MACs
    // of the ports concerned (their keys include the VLAN).
    void apply(const SwitchSettings& s);
    const SwitchSettings& settings() const { return s_; }

    void add_port(Port p, const PortSettings& ps = {});
    // Changes a port's VLAN, bound or MAC allowlist (SIGHUP); forgets its MACs if its VLAN or its
    // allowlist changed.
    void set_port(Port p, const PortSettings& ps);
    void remove_port(Port p);  // and forgets every MAC learned on it
    const std::vector<Port>& clients() const { return clients_; }

    // The decision for one frame. `clients` and `client_frame` live until the next forward().
    struct Decision {
        std::span<const Port> clients;             // send client_frame to each of these
        std::span<const std::uint8_t> client_frame;  // untagged (tag stripped in place if it had one)
        bool to_tap = false;                       // then write tap_frame() to the TAP, after the clients
        SwitchDrop drop = SwitchDrop::none;        // why nothing at all is delivered
        // The VLAN tap_frame() tags the frame with (0: untagged). A caller that decides a batch
        // first and writes later (hub workers) tags with tag_in_place() itself.
        std::uint16_t tap_vlan = 0;
    };
    // `frame` is writable (a tag is stripped or added in place); `headroom` bytes before
    // frame.data() belong to the caller's buffer and may be used to add a tag (4 are enough).
    Decision forward(Port in, std::span<std::uint8_t> frame, std::size_t headroom, std::int64_t now_ms);
    // The frame for the TAP of the last forward() with to_tap: tagged with the ingress client's
    // VLAN when tagging is on. Call it after the clients were served: tagging in place overwrites
    // the untagged client_frame.
    std::span<const std::uint8_t> tap_frame();
    // Inserts an 802.1Q tag for `vlan` after the MACs of `frame`, using `headroom` (>= 4) bytes
    // before it; vlan 0 leaves the frame as it is. Empty when there is no room.
    static std::span<const std::uint8_t> tag_in_place(std::span<std::uint8_t> frame, std::size_t headroom,
                                                      std::uint16_t vlan);

    // Forgets entries older than mac_age_s (call about once a second: keeps each port's count of
    // MACs true so the bound counts only live entries).
    void expire(std::int64_t now_ms);

    std::size_t mac_count() const { return used_; }
    std::size_t mac_count(Port p) const;
    struct MacInfo {
        std::string mac;  // xx:xx:xx:xx:xx:xx
        std::uint16_t vlan = 0;
        std::int64_t age_s = 0;
    };
    // The live MACs learned on port p (status; not on the data path).
    std::vector<MacInfo> macs_on(Port p, std::int64_t now_ms) const;
    bool lookup(const std::uint8_t mac[6], std::uint16_t vlan, Port& out, std::int64_t now_ms) const;
    // The VLAN a client port is an untagged member of (0 when tagging is off).
    std::uint16_t port_vlan(Port p) const;

    // Counts `n` drops that happened after the decision, on the way out (the caller's write to the
    // TAP failed): in the total and on port `in` when it is a client.
    void count_drop(Port in, SwitchDrop d, std::uint64_t n = 1);
    const SwitchDrops& drops() const { return drops_; }
    // MACs relearned on another client (moves allowed), since start.
    std::uint64_t mac_moves() const { return moves_; }
    const SwitchDrops* port_drops(Port p) const;

private:
    struct Slot {
        std::uint64_t key = 0;  // kUsed | vlan << 48 | mac
        Port port = 0;
        std::int64_t seen_ms = 0;
    };
    struct PortState {
        bool present = false;
        PortSettings cfg;
        std::uint16_t vlan = 0;      // resolved: 0 when tagging is off
        std::uint32_t max_macs = 0;  // resolved: 0 = no bound
        std::uint32_t macs = 0;
        std::int64_t tokens = 0;     // multicast budget, in thousandths of a frame
        std::int64_t refilled_ms = 0;
        std::int64_t move_tokens = 0;  // mac_move_limit budget, in thousandths of a move
        std::int64_t move_refilled_ms = 0;
        SwitchDrops drops{};
    };

    static std::uint64_t make_key(const std::uint8_t* mac, std::uint16_t vlan);
    PortState* port_state(Port p);
    const PortState* port_state(Port p) const;
    void resolve(PortState& ps) const;
    bool expired(const Slot& s, std::int64_t now_ms) const;
    std::size_t find(std::uint64_t key) const;  // slot index or capacity if absent
    void erase_at(std::size_t i);
    void forget_port(Port p);
    void ensure_capacity();
    // SwitchDrop::none when learned (or refreshed, or not learned because the table is full).
    SwitchDrop learn(const std::uint8_t* mac, std::uint16_t vlan, Port in, PortState* ps, std::int64_t now_ms);
    bool move_allowed(PortState& ps, std::int64_t now_ms);
    bool multicast_allowed(PortState& ps, std::int64_t now_ms);
    Decision dropped(SwitchDrop d, PortState* ps);
    void flood(Port in, std::uint16_t vlan);

    SwitchSettings s_;
    std::vector<Slot> slots_;  // power-of-two size, at most half full
    std::size_t used_ = 0;
    std::vector<PortState> ports_;  // by peer-id
    std::vector<Port> clients_;
    std::vector<Port> out_;
    SwitchDrops drops_{};
    std::uint64_t moves_ = 0;

    // The last forward(): where its frame is, for tap_frame().
    std::uint8_t* frame_ = nullptr;
    std::size_t frame_len_ = 0;
    std::size_t headroom_ = 0;
    std::uint16_t tap_vlan_ = 0;  // 0: write untagged
    std::array<std::uint8_t, 1600 + 4> spare_{};  // tagging without headroom (not expected)
};

}  // namespace wirebridge::datapath
