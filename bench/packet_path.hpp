// bench/packet_path.hpp: where wb-udpflood's `--via packet` frames go. From a connected IPv4 UDP
// socket: the interface that holds its source address, that interface's MAC, the receiver's MAC
// (the ARP table; a loopback or NOARP link takes its own), and a send-only AF_PACKET socket.
//
// Why a packet socket: on the one machine the benchmark has, the load tool shares the CPUs with
// both tunnel ends, and its UDP sends (routing, socket accounting, skb building per datagram) cost
// more than the tunnel's own work per 64-byte datagram. Frames built once and handed to the link
// skip that, as a separate traffic generator would; what enters the tunnel is the same datagrams.
#pragma once

#include <linux/if_packet.h>

#include <optional>
#include <string>

#include "udp4_frame.hpp"

namespace wirebridge::bench {

struct PacketPath {
    std::string ifname;
    int ifindex = 0;
    Udp4Path frame;  // the MACs and addresses every frame carries
};

// Resolves the path of fd, a UDP socket connected to an IPv4 receiver on the same link. May send
// one 1-byte datagram on fd to make the kernel resolve the receiver's MAC (the receiver counts it
// as not ours), and waits for that at most a second. nullopt after putting the reason in why.
std::optional<PacketPath> resolve_packet_path(int fd, std::string& why);

// The source port (host byte order) a flow's socket holds: its frames carry it.
std::optional<std::uint16_t> source_port_of(int fd);

// A send-only AF_PACKET socket (it binds no protocol, so it receives nothing) and the address its
// frames go to; -1 after putting the reason in why (EPERM: it needs CAP_NET_RAW).
int open_packet_socket(const PacketPath& p, sockaddr_ll& to, std::string& why);

}  // namespace wirebridge::bench
