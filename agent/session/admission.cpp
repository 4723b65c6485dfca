// Admission limits: token buckets and source prefixes (see admission.hpp).
#include "session/admission.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <random>

namespace wirebridge::session {

SourcePrefix SourcePrefix::make(const sockaddr* sa, socklen_t len, int v4_bytes) {
    SourcePrefix p;
    if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        p.family = AF_INET;
        std::memcpy(p.bytes.data(), &in->sin_addr, static_cast<std::size_t>(v4_bytes));
    } else if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        const std::uint8_t* a = in6->sin6_addr.s6_addr;
        static const std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(a, mapped, 12) == 0) {  // an IPv4 client on a dual-stack socket
            p.family = AF_INET;
            std::memcpy(p.bytes.data(), a + 12, static_cast<std::size_t>(v4_bytes));
        } else {
            p.family = AF_INET6;
            std::memcpy(p.bytes.data(), a, 8);  // /64
        }
    }
    return p;
}

bool TokenBucket::take(TimeMs now) {
    if (rate_ == 0) return true;
    if (now > last_) {
        const std::uint64_t cap = std::uint64_t{burst_} * 1000;
        const std::uint64_t add = static_cast<std::uint64_t>(now - last_) * rate_;  // ms * tokens/s = milli-tokens
        milli_tokens_ = std::min(cap, milli_tokens_ + add);
    }
    last_ = now;
    if (milli_tokens_ < 1000) return false;
    milli_tokens_ -= 1000;
    return true;
}

const char* refusal_name(Refusal r) {
    switch (r) {
        case Refusal::reset_rate_global: return "reset_rate_limited";
        case Refusal::reset_rate_source: return "reset_rate_limited_source";
        case Refusal::half_open_global: return "half_open_limit";
        case Refusal::half_open_source: return "half_open_limit_source";
        case Refusal::max_clients: return "max_clients";
        case Refusal::pool_exhausted: return "pool_exhausted";
        case Refusal::auth_failed: return "auth_failed";
        case Refusal::count_: break;
    }
    return "?";
}

ResetLimiter::ResetLimiter(const AdmissionLimits& limits)
    : global_(limits.reset_rate, limits.reset_burst),
      per_source_(kBuckets, TokenBucket(limits.reset_rate_per_source, limits.reset_burst_per_source)) {
    std::random_device rd;
    seed_ = (std::uint64_t{rd()} << 32) | rd();
}

std::size_t ResetLimiter::slot(const SourcePrefix& p) const {
    // FNV-1a over the prefix, keyed: an attacker cannot aim many prefixes at one victim's bucket.
    std::uint64_t h = 0xcbf29ce484222325ull ^ seed_;
    auto mix = [&h](std::uint8_t b) {
        h ^= b;
        h *= 0x100000001b3ull;
    };
    mix(p.family);
    for (std::uint8_t b : p.bytes) mix(b);
    h ^= h >> 29;
    return static_cast<std::size_t>(h % kBuckets);
}

bool ResetLimiter::allow(const sockaddr* from, socklen_t len, TimeMs now, Refusal& why) {
    TokenBucket& mine = per_source_[slot(SourcePrefix::of(from, len))];
    // The source's bucket first: one noisy prefix spends its own budget, not everyone's.
    if (!mine.take(now)) {
        why = Refusal::reset_rate_source;
        return false;
    }
    if (!global_.take(now)) {
        why = Refusal::reset_rate_global;
        return false;
    }
    return true;
}

}  // namespace wirebridge::session
