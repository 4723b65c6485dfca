// Control channel packet codec: parse and encode the plain layout drawn in constants.hpp.
#include "proto/control_packet.hpp"

namespace wirebridge::proto {

Drop parse_control_packet(ByteSpan in, ControlPacket& out) {
    ByteReader r(in);
    const uint8_t first = r.u8();
    if (!r.ok()) return Drop::truncated;
    const unsigned op = opcode_of(first);
    if (!is_control_opcode(op)) return Drop::bad_opcode;
    out.opcode = static_cast<Opcode>(op);
    out.key_id = static_cast<uint8_t>(key_id_of(first));
    if (!r.copy(out.own_sid.bytes.data(), kSessionIdLen)) return Drop::truncated;
    const uint8_t n = r.u8();
    if (!r.ok()) return Drop::truncated;
    if (n > kMaxAcksParsed) return Drop::too_many_acks;
    out.acks.count = 0;
    for (uint8_t i = 0; i < n; ++i) out.acks.push(r.u32());
    if (n > 0) {
        r.copy(out.peer_sid.bytes.data(), kSessionIdLen);
    } else {
        out.peer_sid = SessionId{};
    }
    if (!r.ok()) return Drop::truncated;
    if (out.opcode == Opcode::ack_v1) {
        if (n == 0) return Drop::bad_message;  // an ACK without acks means nothing
        out.message_id = 0;
    } else {
        out.message_id = r.u32();
        if (!r.ok()) return Drop::truncated;
    }
    out.payload = r.rest();
    return Drop::none;
}

size_t encode_control_packet(const ControlPacket& pkt, MutByteSpan out) {
    const size_t max_acks = pkt.opcode == Opcode::ack_v1 ? kMaxAcksOnAck : kMaxAcksOnControl;
    if (pkt.acks.count > max_acks) return 0;
    if (pkt.opcode == Opcode::ack_v1 && pkt.acks.count == 0) return 0;
    ByteWriter w(out);
    w.u8(op_byte(pkt.opcode, pkt.key_id));
    w.bytes(pkt.own_sid.bytes.data(), kSessionIdLen);
    w.u8(pkt.acks.count);
    for (uint8_t i = 0; i < pkt.acks.count; ++i) w.u32(pkt.acks.ids[i]);
    if (pkt.acks.count) w.bytes(pkt.peer_sid.bytes.data(), kSessionIdLen);
    if (pkt.has_message_id()) {
        w.u32(pkt.message_id);
        w.bytes(pkt.payload);
    }
    return w.ok() ? w.size() : 0;
}

}  // namespace wirebridge::proto
