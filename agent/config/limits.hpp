// LimitsConfig: the `limits:` section, what an outside host or a site may cost the agent
// (docs/SECURITY.md lists each limit, its default and the counter that shows it being hit).
#pragma once

#include <cstdint>

namespace wirebridge::config {

struct LimitsConfig {
    // Server, before authentication.
    std::uint32_t max_clients = 1024;             // authenticated clients at once
    std::uint32_t max_half_open = 256;            // sessions still negotiating (TLS, key-method 2)
    std::uint32_t max_half_open_per_source = 16;  // of those, from one IPv4 address or IPv6 /64
    std::uint32_t reset_rate = 10;                // stateless reset replies per second, refill; 0 = no limit
    std::uint32_t reset_burst = 100;              // as OpenVPN's --connect-freq-initial 100 10
    std::uint32_t reset_rate_per_source = 2;      // the same per IPv4 /24 or IPv6 /64; 0 = no limit
    std::uint32_t reset_burst_per_source = 20;
    // Server over TCP: connections are not sessions until they send a reset.
    std::uint32_t tcp_max_connections = 1024;   // open TCP connections at once; more are closed at accept
    std::uint32_t tcp_max_per_source = 16;      // of those, from one IPv4 address (IPv6: one /64)
    std::uint32_t tcp_handshake_timeout = 60;   // seconds a connection may stay without an authenticated session
    // Server, the virtual switch (authenticated sites).
    std::uint32_t mac_move_limit = 2;   // MACs one client may take over from other clients per second; 0 = no limit
    bool allow_tagged_frames = false;   // VLAN tagging off: pass clients' 802.1Q/802.1ad frames to the TAP
    // Server, an authenticated client's control channel (session/peer_limits.hpp).
    std::uint32_t push_request_burst = 3;     // repeated PUSH_REQUESTs answered at once
    std::uint32_t push_request_interval = 5;  //   then one every this many seconds; 0 = no limit
    std::uint32_t soft_reset_burst = 4;       // renegotiations a client may start at once
    std::uint32_t soft_reset_interval = 2;    //   then one every this many seconds; 0 = no limit
};

}  // namespace wirebridge::config
