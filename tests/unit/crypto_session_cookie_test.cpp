// Stateless session-id cookie: valid in the issuing slot and the two after it, bound to the client
// address, port, session id and server secret.
#include "crypto/session_cookie.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>

namespace wirebridge::crypto {
namespace {

sockaddr_in v4(const char* ip, uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

const sockaddr* sa(const sockaddr_in& a) { return reinterpret_cast<const sockaddr*>(&a); }

std::array<uint8_t, 32> secret(uint8_t seed) {
    std::array<uint8_t, 32> s{};
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(seed + i);
    return s;
}

TEST(CryptoSessionCookie, TimeSlotsLikeOpenvpn) {
    SessionCookie cookie(secret(1));
    const SessionCookie::Sid client{0xae, 0xb9, 0xaf, 0xe1, 0xf0, 0x1d, 0x79, 0xc8};
    auto from = v4("1.2.3.4", 1194);
    // hand-window 30: slots of 15 s. Issued at 1000 (slot 990..1004).
    auto sid = cookie.compute(client, sa(from), 1000, 30);
    EXPECT_TRUE(cookie.verify(sid, client, sa(from), 1000, 30));
    EXPECT_TRUE(cookie.verify(sid, client, sa(from), 1002, 30));
    EXPECT_TRUE(cookie.verify(sid, client, sa(from), 1010, 30));
    EXPECT_TRUE(cookie.verify(sid, client, sa(from), 1022, 30));
    EXPECT_TRUE(cookie.verify(sid, client, sa(from), 1034, 30));
    EXPECT_FALSE(cookie.verify(sid, client, sa(from), 1035, 30));  // three slots later
    EXPECT_FALSE(cookie.verify(sid, client, sa(from), 1040, 30));
    EXPECT_FALSE(cookie.verify(sid, client, sa(from), 980, 30));   // from the future
    // offset shifts by whole slots
    EXPECT_EQ(cookie.compute(client, sa(from), 1015, 30, -1), sid);
    EXPECT_NE(cookie.compute(client, sa(from), 1000, 30, 1), sid);
}

TEST(CryptoSessionCookie, BoundToAddressPortSidAndSecret) {
    SessionCookie cookie(secret(1));
    const SessionCookie::Sid client{0, 1, 2, 3, 4, 5, 6, 7};
    auto from = v4("1.2.3.4", 1194);
    auto sid = cookie.compute(client, sa(from), 5000, 60);
    EXPECT_TRUE(cookie.verify(sid, client, sa(from), 5001, 60));
    EXPECT_FALSE(cookie.verify(sid, client, sa(v4("1.2.3.5", 1194)), 5001, 60));
    EXPECT_FALSE(cookie.verify(sid, client, sa(v4("1.2.3.4", 1195)), 5001, 60));
    SessionCookie::Sid other_client = client;
    other_client[7] ^= 1;
    EXPECT_FALSE(cookie.verify(sid, other_client, sa(from), 5001, 60));
    SessionCookie other_secret(secret(2));
    EXPECT_FALSE(other_secret.verify(sid, client, sa(from), 5001, 60));
    SessionCookie random1, random2;
    EXPECT_NE(random1.compute(client, sa(from), 5000, 60), random2.compute(client, sa(from), 5000, 60));

    sockaddr_in6 a6{};
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons(1194);
    inet_pton(AF_INET6, "2001:db8::1", &a6.sin6_addr);
    auto sid6 = cookie.compute(client, reinterpret_cast<const sockaddr*>(&a6), 5000, 60);
    EXPECT_TRUE(cookie.verify(sid6, client, reinterpret_cast<const sockaddr*>(&a6), 5000, 60));
    a6.sin6_addr.s6_addr[15] = 2;
    EXPECT_FALSE(cookie.verify(sid6, client, reinterpret_cast<const sockaddr*>(&a6), 5000, 60));
}

}  // namespace
}  // namespace wirebridge::crypto
