// Names of drop reasons, for counters and status output.
#include "proto/constants.hpp"

namespace wirebridge::proto {

const char* drop_name(Drop d) {
    switch (d) {
    case Drop::none: return "none";
    case Drop::truncated: return "truncated";
    case Drop::bad_opcode: return "bad_opcode";
    case Drop::bad_key_id: return "bad_key_id";
    case Drop::bad_session_id: return "bad_session_id";
    case Drop::too_many_acks: return "too_many_acks";
    case Drop::oversize: return "oversize";
    case Drop::auth_failed: return "auth_failed";
    case Drop::replay: return "replay";
    case Drop::out_of_window: return "out_of_window";
    case Drop::bad_packet_id: return "bad_packet_id";
    case Drop::no_keys: return "no_keys";
    case Drop::bad_peer_id: return "bad_peer_id";
    case Drop::bad_message: return "bad_message";
    case Drop::state: return "state";
    case Drop::count_: break;
    }
    return "unknown";
}

}  // namespace wirebridge::proto
