// One key_id's negotiation: reliability windows, TLS session, key-method 2, data-channel keys.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "crypto/aead.hpp"
#include "crypto/cbc_hmac.hpp"
#include "crypto/tls_session.hpp"
#include "proto/key_method2.hpp"
#include "proto/reliable.hpp"
#include "session/data_keys.hpp"

namespace wirebridge::session {

struct KeyState {
    enum class Phase : uint8_t {
        pre_start,  // our reset is queued, the peer's not yet seen
        start,      // resets exchanged: TLS runs
        active,     // key-method 2 done both ways
        failed,
    };

    KeyState(uint8_t id, uint32_t tls_timeout_ms, proto::TimeMs deadline)
        : key_id(id), send(tls_timeout_ms), must_negotiate(deadline) {}

    uint8_t key_id;
    Phase phase = Phase::pre_start;
    proto::ReliableSend send;
    proto::ReliableRecv recv;
    proto::AckQueue acks;
    proto::TimeMs must_negotiate;
    proto::TimeMs established = proto::kNever;
    proto::TimeMs expires = proto::kNever;  // lame duck end
    bool our_reset_queued = false;
    bool peer_reset_seen = false;

    std::unique_ptr<crypto::TlsSession> tls;
    std::vector<uint8_t> tls_out;  // ciphertext not yet cut into CONTROL_V1 messages
    size_t tls_out_pos = 0;
    std::vector<uint8_t> plain_in; // TLS plaintext not yet parsed
    bool cert_checked = false;     // the peer's certificate compared with the first handshake's
    bool km2_sent = false;
    bool km2_received = false;
    bool auth_pending = false;     // server: key-method 2 done, the admit/reverify verdict not yet known
    proto::TimeMs started = 0;
    proto::KeyMethod2 local_km;
    proto::KeyMethod2 peer_km;

    // Data channel, once keys exist. The session seals its pings and OCC messages with `enc` (or
    // `cbc_enc`); every data packet is opened by the data path (datapath::DataChannel).
    std::optional<DataKeys> keys;
    std::optional<crypto::AeadEncryptor> enc;
    std::optional<crypto::CbcEncryptor> cbc_enc;  // instead of enc with a CBC cipher
    bool can_send() const { return enc.has_value() || cbc_enc.has_value(); }
    uint64_t bytes = 0;  // data bytes both ways, for reneg-bytes

    bool has_keys() const { return keys.has_value(); }
};

}  // namespace wirebridge::session
