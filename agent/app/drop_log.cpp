// DropLog: the first drop of each reason at once, then one line a reason per quiet period.
#include "app/drop_log.hpp"

#include "common/log.hpp"

namespace wirebridge::app {

const char* DropLog::hint(proto::Drop d) {
    switch (d) {
        case proto::Drop::auth_failed:
            return "the tls-auth/tls-crypt HMAC does not verify: the peer has another key, digest (tls_auth.digest) or key direction";
        case proto::Drop::bad_session_id: return "a session id that does not match: a stale or forged packet";
        case proto::Drop::replay: return "a control packet id seen before: a replay or a duplicate";
        case proto::Drop::no_keys: return "data without a session: a peer that still sends after this side restarted";
        case proto::Drop::bad_opcode: return "not an OpenVPN packet wirebridge knows";
        default: return "";
    }
}

bool DropLog::due(proto::Drop d, proto::TimeMs now) {
    const auto i = static_cast<std::size_t>(d);
    if (i == 0 || i >= reasons_.size()) return false;
    Reason& r = reasons_[i];
    if (r.logged && now - r.last < quiet_ms_) {
        ++r.since;
        return false;
    }
    return true;
}

void DropLog::say(proto::Drop d, proto::TimeMs now, const std::string& source) {
    Reason& r = reasons_[static_cast<std::size_t>(d)];
    std::string line = what_ + ": " + proto::drop_name(d) + " from " + source;
    if (const char* h = hint(d); *h) line += std::string(" (") + h + ")";
    if (r.since) line += "; " + std::to_string(r.since) + " more since the last such line";
    log_warn(line);
    r.logged = true;
    r.since = 0;
    r.last = now;
}

}  // namespace wirebridge::app
