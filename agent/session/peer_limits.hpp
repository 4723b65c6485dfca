// PeerLimits: what an authenticated peer may make a session do on its control channel, and the
// small bucket that enforces it (docs/SECURITY.md, "Hub, authenticated sites: the control channel").
#pragma once

#include <algorithm>
#include <cstdint>

#include "proto/reliable.hpp"

namespace wirebridge::session {

using proto::TimeMs;

// Whole tokens: `burst` at once, then one more every `period_ms` (period 0: no limit). Cheaper to
// reason about than tokens per second for rates of one every few seconds.
class PeriodBucket {
public:
    PeriodBucket() = default;
    PeriodBucket(std::uint32_t period_ms, std::uint32_t burst) : period_(period_ms), burst_(burst), tokens_(burst) {}

    bool take(TimeMs now) {
        if (period_ == 0) return true;
        if (last_ == 0 || now < last_) last_ = now;
        const std::uint64_t add = static_cast<std::uint64_t>(now - last_) / period_;
        if (add > 0) {
            tokens_ = static_cast<std::uint32_t>(std::min<std::uint64_t>(burst_, tokens_ + add));
            last_ += static_cast<TimeMs>(add * period_);
        }
        if (tokens_ == 0) return false;
        if (tokens_ == burst_) last_ = now;  // a full bucket starts its refill from now
        --tokens_;
        return true;
    }

private:
    std::uint32_t period_ = 0, burst_ = 0, tokens_ = 0;
    TimeMs last_ = 0;
};

// Server side, per client. A storm beyond these is refused and counted (SessionCounters), never
// queued: each answered PUSH_REQUEST is TLS output, each SOFT_RESET a new TLS handshake.
struct PeerLimits {
    std::uint32_t push_reply_burst = 3;        // PUSH_REQUESTs answered at once after the first reply
    std::uint32_t push_reply_period_ms = 5000; //   then one more every 5 s (a client asks every 5 s)
    std::uint32_t soft_reset_burst = 4;        // renegotiations the client may start at once
    std::uint32_t soft_reset_period_ms = 2000; //   then one more every 2 s (0: no limit)
};

}  // namespace wirebridge::session
