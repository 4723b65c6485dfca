// DATA_V1 / DATA_V2 header codec (the part of a data packet in front of the AEAD body).
#pragma once

#include <cstdint>

#include "proto/bytes.hpp"
#include "proto/constants.hpp"

namespace wirebridge::proto {

struct DataHeader {
    Opcode opcode = Opcode::data_v2;
    uint8_t key_id = 0;
    uint32_t peer_id = kUndefinedPeerId;  // DATA_V2 only

    size_t length() const { return opcode == Opcode::data_v2 ? kDataV2HeaderLen : kDataV1HeaderLen; }
};

// Parses the header; `body` receives what follows it (packet-id, tag, ciphertext).
Drop parse_data_header(ByteSpan in, DataHeader& out, ByteSpan& body);

// Writes the header (1 or 4 bytes); returns its length or 0 if `out` is too small.
size_t encode_data_header(const DataHeader& h, MutByteSpan out);

// True if the first byte of a datagram is a data opcode (the cheap demultiplexing test).
inline bool is_data_packet(ByteSpan in) { return !in.empty() && is_data_opcode(opcode_of(in[0])); }

}  // namespace wirebridge::proto
