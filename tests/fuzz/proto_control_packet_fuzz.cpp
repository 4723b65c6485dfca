// Fuzz target: control packet parser (+ re-encode must reproduce the header it parsed).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "proto/control_packet.hpp"
#include "proto/key_method2.hpp"
#include "proto/reliable.hpp"

using namespace wirebridge::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ControlPacket p;
    if (parse_control_packet(ByteSpan(data, size), p) == Drop::none) {
        std::vector<uint8_t> out(size + 16);
        const size_t n = encode_control_packet(p, out);
        // Parsed packets with <= 4 acks (or an ACK_V1) re-encode to the same bytes; an ACK_V1
        // has no payload, so trailing bytes are not re-encoded.
        if (n != 0) {
            if (n > size || std::memcmp(out.data(), data, n) != 0) std::abort();
            if (p.opcode != Opcode::ack_v1 && n != size) std::abort();
        }
        ReliableRecv r;
        r.receive(p.opcode, p.message_id, p.payload);
        ReliableMessage m;
        while (r.pop(m)) {
        }
    }
    KeyMethod2 km;
    (void)parse_key_method2(ByteSpan(data, size), size % 2 == 0, km);
    return 0;
}
