// DATA_V1/V2 header codec and ping/OCC recognition, on table-driven bytes.
#include <gtest/gtest.h>

#include <vector>

#include "proto/data_packet.hpp"
#include "proto/keepalive.hpp"

namespace wirebridge::proto {
namespace {

struct Case {
    std::vector<uint8_t> bytes;
    Drop verdict;
    Opcode op;
    uint8_t key_id;
    uint32_t peer_id;
    size_t body;
};

TEST(DataHeader, Table) {
    const Case cases[] = {
        {{0x48, 0x00, 0x00, 0x05, 0xaa}, Drop::none, Opcode::data_v2, 0, 5, 1},
        {{0x4b, 0x12, 0x34, 0x56}, Drop::none, Opcode::data_v2, 3, 0x123456, 0},
        {{0x4f, 0xff, 0xff, 0xff, 1, 2}, Drop::none, Opcode::data_v2, 7, 0xffffff, 2},
        {{0x31, 0x00, 0x00, 0x00, 0x01}, Drop::none, Opcode::data_v1, 1, kUndefinedPeerId, 4},
        {{0x48, 0x00, 0x00}, Drop::truncated, Opcode::data_v2, 0, 0, 0},
        {{}, Drop::truncated, Opcode::data_v2, 0, 0, 0},
        {{0x20, 0, 0, 0}, Drop::bad_opcode, Opcode::data_v2, 0, 0, 0},
        {{0x38, 0, 0, 0}, Drop::bad_opcode, Opcode::data_v2, 0, 0, 0},
    };
    for (const Case& c : cases) {
        DataHeader h;
        ByteSpan body;
        ASSERT_EQ(parse_data_header(c.bytes, h, body), c.verdict);
        if (c.verdict != Drop::none) continue;
        EXPECT_EQ(h.opcode, c.op);
        EXPECT_EQ(h.key_id, c.key_id);
        EXPECT_EQ(h.peer_id, c.peer_id);
        EXPECT_EQ(body.size(), c.body);
        std::vector<uint8_t> out(8);
        out.resize(encode_data_header(h, out));
        EXPECT_EQ(out, std::vector<uint8_t>(c.bytes.begin(), c.bytes.begin() + h.length()));
    }
}

TEST(DataHeader, PeerIdIsMaskedTo24Bits) {
    DataHeader h{Opcode::data_v2, 2, 0x01abcdef};
    std::vector<uint8_t> out(4);
    ASSERT_EQ(encode_data_header(h, out), 4u);
    EXPECT_EQ(out, (std::vector<uint8_t>{0x4a, 0xab, 0xcd, 0xef}));
    std::vector<uint8_t> small(3);
    EXPECT_EQ(encode_data_header(h, small), 0u);
}

TEST(Keepalive, RecognisesPingAndOcc) {
    std::vector<uint8_t> ping(kPingMagic.begin(), kPingMagic.end());
    EXPECT_TRUE(is_ping(ping));
    ping.push_back(0);
    EXPECT_FALSE(is_ping(ping));
    std::vector<uint8_t> occ(kOccMagic.begin(), kOccMagic.end());
    EXPECT_FALSE(is_occ(occ));  // no opcode byte
    occ.push_back(6);
    ASSERT_TRUE(occ_opcode(occ));
    EXPECT_EQ(*occ_opcode(occ), OccOp::exit);
    occ[3] ^= 1;
    EXPECT_FALSE(is_occ(occ));
}

}  // namespace
}  // namespace wirebridge::proto
