// Stateless HMAC-SHA256 session-id cookie for the UDP server's first reply.
#include "crypto/session_cookie.hpp"

#include <netinet/in.h>

#include <cstdlib>
#include <cstring>

#include "crypto/hmac.hpp"
#include "crypto/random.hpp"

namespace wirebridge::crypto {

SessionCookie::SessionCookie() {
    if (!random_bytes(secret_.span())) std::abort();
}

SessionCookie::Sid SessionCookie::compute(const Sid& client_sid, const sockaddr* from, std::time_t now,
                                          int hand_window, int offset) const {
    // Input: slot (4, BE) | family (2, BE) | port (2, network order) | address (4 or 16) | sid_C (8)
    uint8_t in[4 + 2 + 2 + 16 + 8];
    std::size_t n = 0;
    const long long width = hand_window > 1 ? (hand_window + 1) / 2 : 1;
    const uint32_t slot = static_cast<uint32_t>(static_cast<long long>(now) / width + offset);
    for (int i = 0; i < 4; ++i) in[n++] = static_cast<uint8_t>(slot >> (24 - 8 * i));
    const sa_family_t family = from ? from->sa_family : AF_UNSPEC;
    in[n++] = static_cast<uint8_t>(family >> 8);
    in[n++] = static_cast<uint8_t>(family);
    if (family == AF_INET) {
        sockaddr_in a;
        std::memcpy(&a, from, sizeof a);
        std::memcpy(in + n, &a.sin_port, 2);
        std::memcpy(in + n + 2, &a.sin_addr, 4);
        n += 6;
    } else if (family == AF_INET6) {
        sockaddr_in6 a;
        std::memcpy(&a, from, sizeof a);
        std::memcpy(in + n, &a.sin6_port, 2);
        std::memcpy(in + n + 2, &a.sin6_addr, 16);
        n += 18;
    }
    std::memcpy(in + n, client_sid.data(), client_sid.size());
    n += client_sid.size();

    uint8_t mac[32];
    if (!hmac(Digest::Sha256, secret_.span(), {in, n}, mac)) std::abort();
    Sid sid;
    std::memcpy(sid.data(), mac, sid.size());
    secure_wipe(mac, sizeof mac);
    return sid;
}

bool SessionCookie::verify(const Sid& server_sid, const Sid& client_sid, const sockaddr* from, std::time_t now,
                           int hand_window) const {
    bool ok = false;
    for (int offset = -2; offset <= 0; ++offset) {  // no early exit: time does not depend on which slot matched
        Sid expect = compute(client_sid, from, now, hand_window, offset);
        ok |= constant_time_equal(expect, server_sid);
    }
    return ok;
}

}  // namespace wirebridge::crypto
