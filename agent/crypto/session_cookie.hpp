// SessionCookie: the 2.6 UDP server's stateless session id (HMAC cookie) for HARD_RESET_SERVER_V2.
//
// The server answers a client reset without keeping state: its session id is
//   sid_S = HMAC-SHA256(server secret, time slot || client address || sid_C)[0..8)
//   time slot = now / ((hand_window + 1) / 2) + offset
// and state is created only when the client's next packet echoes a sid_S that verifies
// (ssl_pkt.c calculate_session_id_hmac / check_session_hmac_and_pkt_id). The cookie is only
// ever checked by the server that made it, so its exact bytes need not match openvpn's; the
// address is hashed in a canonical form (family, port, address bytes), not as a raw sockaddr.
// verify() accepts cookies from the current slot and the two before it (openvpn master; 2.6.14
// also tried slot +1, which cannot help since the same server issues and checks the cookie): a
// cookie stays valid for between hand-window/2 and hand-window seconds after it was issued.
// The ack/message-id checks of check_session_hmac_and_pkt_id belong to proto.
//
// Usage:
//   crypto::SessionCookie cookie;                                  // random 32-byte secret
//   auto sid_s = cookie.compute(client_sid, from, now, 60);        // std::array<uint8_t, 8>
//   bool ok = cookie.verify(echoed_sid_s, client_sid, from, now, 60);
//
// Thread-safety: compute/verify are const and keep no state; safe from many threads.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <ctime>
#include <span>

#include "crypto/secure_bytes.hpp"

namespace wirebridge::crypto {

class SessionCookie {
public:
    using Sid = std::array<uint8_t, 8>;

    SessionCookie();  // random secret
    explicit SessionCookie(std::span<const uint8_t, 32> secret) : secret_(secret) {}

    // `from` is the client's address (sockaddr_in or sockaddr_in6); other families hash no address.
    Sid compute(const Sid& client_sid, const sockaddr* from, std::time_t now, int hand_window, int offset = 0) const;
    bool verify(const Sid& server_sid, const Sid& client_sid, const sockaddr* from, std::time_t now,
                int hand_window) const;

private:
    SecureArray<32> secret_;
};

}  // namespace wirebridge::crypto
