// DropLog: says in the log why packets were dropped before a session took them (a peer with another
// tls-auth/tls-crypt key or digest, stray or forged packets), without a line a packet.
//
// Each reason is logged the first time, with its source and a hint; after that at most one line a
// reason per quiet period (60 s), saying how many were dropped meanwhile. The counts themselves
// are in `wirebridge status` (pre_session_<reason>, control_<reason>).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "proto/constants.hpp"
#include "proto/reliable.hpp"  // TimeMs

namespace wirebridge::app {

class DropLog {
public:
    // what: the log line's start ("pre-session drop", "control packet dropped").
    explicit DropLog(std::string what, proto::TimeMs quiet_ms = 60000) : what_(std::move(what)), quiet_ms_(quiet_ms) {}

    // Counts one drop; logs it (warn) when due. source() names the sender, called only then.
    template <class Source>
    void note(proto::Drop d, proto::TimeMs now, Source&& source) {
        if (due(d, now)) say(d, now, source());
    }

    // A hint for the operator, per reason ("" when the reason's name says it all).
    static const char* hint(proto::Drop d);

private:
    bool due(proto::Drop d, proto::TimeMs now);
    void say(proto::Drop d, proto::TimeMs now, const std::string& source);
    struct Reason {
        proto::TimeMs last = 0;     // when it was last logged (0: never)
        std::uint64_t since = 0;    // dropped since then, not logged
        bool logged = false;
    };
    std::string what_;
    proto::TimeMs quiet_ms_;
    std::array<Reason, proto::kDropCount> reasons_{};
};

}  // namespace wirebridge::app
