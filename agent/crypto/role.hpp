// Role: which end of the TLS handshake a peer is; OpenVPN's key directions follow from it.
#pragma once

namespace wirebridge::crypto {

// The TLS client is the OpenVPN client (or P2P tls-client); the TLS server is the OpenVPN server.
enum class Role { Client, Server };

}  // namespace wirebridge::crypto
