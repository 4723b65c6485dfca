// Socket errors a UDP tunnel shrugs off: what an ICMP error (anyone on the path can forge one)
// or a local hiccup reports on the next receive or send.
#pragma once

#include <atomic>
#include <cstdint>

namespace wirebridge::io {

// True for errors that say nothing about the socket itself: ICMP errors the kernel queued on it
// (port/protocol/host unreachable, frag needed, parameter problem, administratively prohibited),
// buffer shortage and local firewall refusals. A UDP tunnel treats them as lost datagrams, as
// OpenVPN does: the keepalive timeout, not one unauthenticated ICMP message, decides that a
// peer is gone. Only errors that mean the descriptor or the call is wrong are fatal.
//
// Linux maps ICMP to errno (icmp_err_convert, icmpv6_err_convert): port unreachable ECONNREFUSED,
// protocol unreachable ENOPROTOOPT, frag needed / packet too big EMSGSIZE, parameter problem
// EPROTO, host/net unreachable EHOSTUNREACH/ENETUNREACH, host unknown EHOSTDOWN, host isolated
// ENONET, source route failed EOPNOTSUPP, administratively prohibited (IPv6) EACCES.
bool is_transient_socket_error(int err);

// Counts transient errors for a socket and every handle shared from it (workers' dups); owned by
// whoever outlives the sockets (the runner), so reconnects do not reset it.
using SoftErrorCounter = std::atomic<std::uint64_t>;

}  // namespace wirebridge::io
