// tls-auth wrap/unwrap: HMAC over replay-id || op || sid || rest, placed after op|sid.
#include "crypto/tls_auth.hpp"

#include <cstring>
#include <string>

#include "crypto/secure_bytes.hpp"

namespace wirebridge::crypto {

Result<TlsAuth> TlsAuth::create(Digest d, std::span<const uint8_t> send_key, std::span<const uint8_t> recv_key) {
    const std::size_t n = digest_size(d);
    if (send_key.size() < n || recv_key.size() < n)
        return fail("tls-auth with " + std::string(digest_name(d)) + " needs " + std::to_string(n) +
                    "-byte HMAC keys");
    auto s = Hmac::create(d, send_key.first(n));
    if (!s) return fail(s.error());
    auto r = Hmac::create(d, recv_key.first(n));
    if (!r) return fail(r.error());
    return TlsAuth(std::move(*s), std::move(*r));
}

Result<TlsAuth> TlsAuth::from_static_key(const StaticKey& k, KeyDirection dir, Digest d) {
    KeyPair p = select_keys(k, dir);
    return create(d, p.send.hmac, p.recv.hmac);
}

Result<std::size_t> TlsAuth::wrap(std::span<const uint8_t> plain, std::span<uint8_t> out, ReplayId id) {
    const std::size_t hlen = send_.size();
    if (plain.size() < kControlPrefixSize) return fail("tls-auth: control packet shorter than op + session id");
    const std::size_t total = plain.size() + overhead();
    if (out.size() < total) return fail("tls-auth: output buffer too small");

    uint8_t rid[kReplayIdSize];
    put_replay_id(rid, id);
    uint8_t mac[kMaxDigestSize];
    send_.reset();
    send_.update(rid);
    send_.update(plain);
    send_.final(mac);

    // out may alias plain: move the rest first (memmove), then the fixed prefix.
    const std::size_t rest = plain.size() - kControlPrefixSize;
    std::memmove(out.data() + kControlPrefixSize + hlen + kReplayIdSize, plain.data() + kControlPrefixSize, rest);
    if (out.data() != plain.data()) std::memmove(out.data(), plain.data(), kControlPrefixSize);
    std::memcpy(out.data() + kControlPrefixSize, mac, hlen);
    std::memcpy(out.data() + kControlPrefixSize + hlen, rid, kReplayIdSize);
    return total;
}

Result<Unwrapped> TlsAuth::unwrap(std::span<const uint8_t> packet, std::span<uint8_t> out) {
    const std::size_t hlen = recv_.size();
    if (packet.size() < kControlPrefixSize + hlen + kReplayIdSize)
        return fail("tls-auth: packet too short (" + std::to_string(packet.size()) + " bytes)");
    const std::size_t plain_len = packet.size() - overhead();
    if (out.size() < plain_len) return fail("tls-auth: output buffer too small");

    const uint8_t* mac = packet.data() + kControlPrefixSize;
    const uint8_t* rid = mac + hlen;
    uint8_t expect[kMaxDigestSize];
    recv_.reset();
    recv_.update({rid, kReplayIdSize});
    recv_.update(packet.first(kControlPrefixSize));
    recv_.update(packet.subspan(kControlPrefixSize + hlen + kReplayIdSize));
    recv_.final(expect);
    if (!constant_time_equal({expect, hlen}, {mac, hlen})) return fail("tls-auth: HMAC mismatch");

    Unwrapped u{get_replay_id(rid), plain_len};
    if (out.data() != packet.data()) std::memmove(out.data(), packet.data(), kControlPrefixSize);
    std::memmove(out.data() + kControlPrefixSize, rid + kReplayIdSize, plain_len - kControlPrefixSize);
    return u;
}

}  // namespace wirebridge::crypto
