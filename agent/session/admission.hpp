// Admission: what an unauthenticated peer may cost the hub. Token buckets for the stateless reset
// replies (global and per source prefix, as OpenVPN 2.6's --connect-freq-initial), caps on
// half-open sessions (global and per source prefix) and on admitted clients, and their counters.
//
// Nothing here allocates per packet or per attacker: the per-prefix buckets are a fixed table
// indexed by a keyed hash of the prefix (two prefixes that collide share a bucket, which only
// makes the limit stricter for them).
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "proto/constants.hpp"
#include "proto/reliable.hpp"

namespace wirebridge::session {

using proto::TimeMs;

// A source prefix. of(): IPv4 /24 or IPv6 /64, what one small network sends from (reset budgets).
// host(): IPv4 /32 or IPv6 /64, one host (half-open caps: a cookie echo proves the address, and
// sites behind one /24 must not share a cap).
struct SourcePrefix {
    std::uint8_t family = 0;
    std::array<std::uint8_t, 8> bytes{};
    bool operator==(const SourcePrefix&) const = default;
    static SourcePrefix of(const sockaddr* sa, socklen_t len) { return make(sa, len, 3); }
    static SourcePrefix host(const sockaddr* sa, socklen_t len) { return make(sa, len, 4); }

private:
    static SourcePrefix make(const sockaddr* sa, socklen_t len, int v4_bytes);
};

// A token bucket: `burst` tokens, `rate` more per second; rate 0 = unlimited.
class TokenBucket {
public:
    TokenBucket() = default;
    TokenBucket(std::uint32_t rate, std::uint32_t burst) : rate_(rate), burst_(burst), milli_tokens_(std::uint64_t{burst} * 1000) {}
    bool take(TimeMs now);

private:
    std::uint32_t rate_ = 0, burst_ = 0;
    std::uint64_t milli_tokens_ = 0;  // thousandths of a token: refills of less than 1 s add up
    TimeMs last_ = 0;
};

struct AdmissionLimits {
    std::uint32_t max_clients = 1024;             // admitted (authenticated) clients
    std::uint32_t max_half_open = 256;            // sessions that have not authenticated yet
    std::uint32_t max_half_open_per_source = 16;  // of those, from one address (IPv6: /64)
    std::uint32_t reset_rate = 10;                // reset replies per second, all sources (refill)
    std::uint32_t reset_burst = 100;              //   and at most this many at once
    std::uint32_t reset_rate_per_source = 2;      // the same per source prefix
    std::uint32_t reset_burst_per_source = 20;
};

// What was refused, for `wirebridge status` (drops.<name>) and docs/SECURITY.md.
enum class Refusal : std::uint8_t {
    reset_rate_global = 0,  // a reset not answered: the global reply budget is spent
    reset_rate_source,      // a reset not answered: its source prefix's budget is spent
    half_open_global,       // a new session refused: max_half_open sessions are negotiating
    half_open_source,       // a new session refused: its address has max_half_open_per_source
    max_clients,            // an authenticated client refused: max_clients are connected
    pool_exhausted,         // an authenticated client refused: no pool address left
    auth_failed,            // a client refused by auth_user_pass_verify (told AUTH_FAILED)
    count_,
};
inline constexpr std::size_t kRefusalCount = static_cast<std::size_t>(Refusal::count_);
const char* refusal_name(Refusal r);

class ResetLimiter {
public:
    explicit ResetLimiter(const AdmissionLimits& limits);
    // May a reset from `from` be answered now? Takes a token from both buckets only if both have one.
    bool allow(const sockaddr* from, socklen_t len, TimeMs now, Refusal& why);

private:
    static constexpr std::size_t kBuckets = 4096;
    std::size_t slot(const SourcePrefix& p) const;
    TokenBucket global_;
    std::vector<TokenBucket> per_source_;
    std::uint64_t seed_ = 0;
};

}  // namespace wirebridge::session
