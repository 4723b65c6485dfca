// OpenVPN 2.6 wire constants: opcodes, sizes, windows, IV_PROTO bits, magic payloads, drop reasons.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace wirebridge::proto {

// First byte of every packet (TLS mode):
//
//    7   6   5   4   3   2   1   0
//  +---+---+---+---+---+---+---+---+
//  |      opcode       |  key_id   |
//  +---+---+---+---+---+---+---+---+
enum class Opcode : uint8_t {
    control_soft_reset_v1 = 3,
    control_v1 = 4,
    ack_v1 = 5,
    data_v1 = 6,
    control_hard_reset_client_v2 = 7,
    control_hard_reset_server_v2 = 8,
    data_v2 = 9,
    control_hard_reset_client_v3 = 10,  // tls-crypt-v2: recognised, not supported
    control_wkc_v1 = 11,                // tls-crypt-v2: recognised, not supported
};

inline constexpr unsigned kOpcodeShift = 3;
inline constexpr uint8_t kKeyIdMask = 0x07;
inline constexpr unsigned kKeyIdCount = 8;

inline constexpr uint8_t op_byte(Opcode op, unsigned key_id) {
    return static_cast<uint8_t>((static_cast<unsigned>(op) << kOpcodeShift) | (key_id & kKeyIdMask));
}
inline constexpr unsigned opcode_of(uint8_t b) { return b >> kOpcodeShift; }
inline constexpr unsigned key_id_of(uint8_t b) { return b & kKeyIdMask; }

// key_id 0 belongs to the first handshake only; renegotiations count 1..7 and wrap to 1.
inline constexpr unsigned next_key_id(unsigned key_id) { return key_id >= 7 ? 1 : key_id + 1; }

inline constexpr bool is_data_opcode(unsigned op) {
    return op == static_cast<unsigned>(Opcode::data_v1) || op == static_cast<unsigned>(Opcode::data_v2);
}
inline constexpr bool is_control_opcode(unsigned op) {
    return op == static_cast<unsigned>(Opcode::control_soft_reset_v1) ||
           op == static_cast<unsigned>(Opcode::control_v1) || op == static_cast<unsigned>(Opcode::ack_v1) ||
           op == static_cast<unsigned>(Opcode::control_hard_reset_client_v2) ||
           op == static_cast<unsigned>(Opcode::control_hard_reset_server_v2);
}

// Control packet, plain (no tls-auth / tls-crypt):
//
//  +--------+----------------+-------+-------------------+----------------+-----------+---------
//  | op|kid | own session id | n_ack | n_ack x ack id    | peer session id| message id| payload
//  |   1    |       8        |   1   |  4 each, BE       | 8, if n_ack > 0| 4 (not in | (TLS
//  |        |                |       |                   |                |  ACK_V1)  | records)
//  +--------+----------------+-------+-------------------+----------------+-----------+---------
//  |<-- kWrapPrefixLen ----->|<-------------------------- body ------------------------------>
//
// tls-auth inserts [HMAC (digest len)] [replay-id 4][replay-time 4] between own session id and body.
// tls-crypt inserts [replay-id 4][replay-time 4][tag 32] there and encrypts the body.
// The wrap helpers in crypto/ take the plain packet and rewrite it; prefix and body stay as drawn.
inline constexpr size_t kSessionIdLen = 8;
inline constexpr size_t kWrapPrefixLen = 1 + kSessionIdLen;
inline constexpr size_t kAckIdLen = 4;
inline constexpr size_t kMessageIdLen = 4;
inline constexpr size_t kMaxAcksOnControl = 4;  // piggy-backed on CONTROL/RESET packets
inline constexpr size_t kMaxAcksOnAck = 8;      // in an ACK_V1
inline constexpr size_t kMaxAcksParsed = 8;     // openvpn's RELIABLE_ACK_SIZE
inline constexpr size_t kReplayIdLen = 8;       // packet-id + time (long form) on wrapped control
inline constexpr size_t kTlsCryptTagLen = 32;

// Control channel reliability (reliable.c, ssl.c defaults).
inline constexpr size_t kSendWindow = 6;        // TLS_RELIABLE_N_SEND_BUFFERS
inline constexpr size_t kRecvWindow = 12;       // TLS_RELIABLE_N_REC_BUFFERS
inline constexpr uint32_t kInitialRetransmitMs = 2000;  // --tls-timeout
inline constexpr uint32_t kMaxRetransmitMs = 60000;
inline constexpr size_t kDefaultTlsMtu = 1250;  // --max-packet-size / tls-mtu
inline constexpr size_t kMinTlsMtu = 154;
inline constexpr size_t kMaxTlsMtu = 2048;

// Data packet headers:
//
//  DATA_V1:  +--------+----------------
//            | op|kid | packet-id ...
//            +--------+----------------
//  DATA_V2:  +--------+-------------------------+----------------
//            | op|kid | peer-id (24 bit, BE)    | packet-id ...
//            +--------+-------------------------+----------------
//  AEAD body after the header: [packet-id 4][tag 16][ciphertext]
inline constexpr size_t kDataV1HeaderLen = 1;
inline constexpr size_t kDataV2HeaderLen = 4;
inline constexpr uint32_t kMaxPeerId = 0xFFFFFF;
inline constexpr uint32_t kUndefinedPeerId = 0xFFFFFF;  // DATA_V2 sent before a peer-id is known
inline constexpr size_t kPacketIdLen = 4;
inline constexpr size_t kAeadTagLen = 16;
inline constexpr uint32_t kPacketIdRenegotiate = 0xFF000000;  // 2.6 renegotiates before wrap

// Data-channel replay window (--replay-window 64 15).
inline constexpr unsigned kReplayBacktrack = 64;
inline constexpr uint32_t kReplayTimeSec = 15;

// IV_PROTO bits (decimal bit field in peer-info). Bits 10..12 are 2.7+: never advertised.
enum IvProto : uint32_t {
    iv_proto_data_v2 = 1u << 1,
    iv_proto_request_push = 1u << 2,
    iv_proto_tls_key_export = 1u << 3,
    iv_proto_auth_pending_kw = 1u << 4,
    iv_proto_ncp_p2p = 1u << 5,
    iv_proto_dns_option = 1u << 6,
    iv_proto_cc_exit_notify = 1u << 7,
    iv_proto_auth_fail_temp = 1u << 8,
    iv_proto_dyn_tls_crypt = 1u << 9,
};

// Key-method 2 limits (ssl.c).
inline constexpr uint8_t kKeyMethod2 = 2;
inline constexpr uint8_t kKeyMethodMask = 0x0F;
inline constexpr size_t kPreMasterLen = 48;
inline constexpr size_t kRandomLen = 32;
inline constexpr size_t kMaxOptionsString = 512;   // TLS_OPTIONS_LEN
inline constexpr size_t kMaxUserPass = 4096;       // USER_PASS_LEN with pkcs11
inline constexpr size_t kMaxPeerInfo = 10000;

// Key material: 2 directions x (cipher 64 + hmac 64), from EKM or the PRF.
inline constexpr size_t kKeyBlockLen = 256;
inline constexpr size_t kKeyHalfLen = 64;
inline constexpr size_t kImplicitIvLen = 8;

// Payloads that travel encrypted in the data channel but are not user frames.
inline constexpr std::array<uint8_t, 16> kPingMagic = {0x2a, 0x18, 0x7b, 0xf3, 0x64, 0x1e, 0xb4, 0xcb,
                                                       0x07, 0xed, 0x2d, 0x0a, 0x98, 0x1f, 0xc7, 0x48};
inline constexpr std::array<uint8_t, 16> kOccMagic = {0x28, 0x7f, 0x34, 0x6b, 0xd4, 0xef, 0x7a, 0x81,
                                                      0x2d, 0x56, 0xb8, 0xd3, 0xaf, 0xc5, 0x45, 0x9c};
enum class OccOp : uint8_t {
    request = 0,
    reply = 1,
    mtu_request = 2,
    mtu_reply = 3,
    mtu_load_request = 4,
    mtu_load = 5,
    exit = 6,
};

// EKM labels (ssl_backend.h).
inline constexpr const char* kEkmDataKeysLabel = "EXPORTER-OpenVPN-datakeys";
inline constexpr const char* kEkmP2pPeerIdLabel = "EXPORTER-OpenVPN-p2p-peerid";

// Why a packet was refused. Also indexes the per-reason drop counters, so keep `count_` last.
enum class Drop : uint8_t {
    none = 0,
    truncated,          // shorter than its own header says
    bad_opcode,         // unknown or unsupported opcode
    bad_key_id,         // no key state with that key_id
    bad_session_id,     // peer session id does not match ours
    too_many_acks,      // ack count above kMaxAcksParsed
    oversize,           // longer than the configured maximum
    auth_failed,        // HMAC / AEAD tag / tls-crypt tag mismatch
    replay,             // packet id seen before or outside the window
    out_of_window,      // reliable message id beyond the receive window
    bad_packet_id,      // packet id 0 or time going backwards
    no_keys,            // data packet before keys exist
    bad_peer_id,        // DATA_V2 peer-id not ours
    bad_message,        // malformed key-method / control text message
    state,              // packet not expected in this state
    count_,
};
inline constexpr size_t kDropCount = static_cast<size_t>(Drop::count_);
const char* drop_name(Drop d);

}  // namespace wirebridge::proto
