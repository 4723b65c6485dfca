// DATA_V1 / DATA_V2 header codec.
#include "proto/data_packet.hpp"

namespace wirebridge::proto {

Drop parse_data_header(ByteSpan in, DataHeader& out, ByteSpan& body) {
    if (in.empty()) return Drop::truncated;
    const unsigned op = opcode_of(in[0]);
    out.key_id = static_cast<uint8_t>(key_id_of(in[0]));
    if (op == static_cast<unsigned>(Opcode::data_v1)) {
        out.opcode = Opcode::data_v1;
        out.peer_id = kUndefinedPeerId;
        body = in.subspan(kDataV1HeaderLen);
        return Drop::none;
    }
    if (op != static_cast<unsigned>(Opcode::data_v2)) return Drop::bad_opcode;
    if (in.size() < kDataV2HeaderLen) return Drop::truncated;
    out.opcode = Opcode::data_v2;
    out.peer_id = (uint32_t{in[1]} << 16) | (uint32_t{in[2]} << 8) | in[3];
    body = in.subspan(kDataV2HeaderLen);
    return Drop::none;
}

size_t encode_data_header(const DataHeader& h, MutByteSpan out) {
    ByteWriter w(out);
    w.u8(op_byte(h.opcode, h.key_id));
    if (h.opcode == Opcode::data_v2) w.u24(h.peer_id & kMaxPeerId);
    return w.ok() ? w.size() : 0;
}

}  // namespace wirebridge::proto
