// Control packet codec on openvpn's own captured bytes (tests/unit_tests/openvpn/test_pkt.c).
#include <gtest/gtest.h>

#include <vector>

#include "proto/control_packet.hpp"

namespace wirebridge::proto {
namespace {

const std::vector<uint8_t> kClientResetNone = {0x38, 0x68, 0x91, 0x92, 0x3f, 0xa3, 0x10,
                                               0x34, 0x37, 0x00, 0x00, 0x00, 0x00, 0x00};
// CONTROL_V1 with one ack (truncated TLS payload), from test_pkt.c.
const std::vector<uint8_t> kClientControlWithAck = {0x20, 0x78, 0x19, 0xbf, 0x2e, 0xbc, 0xd1, 0x9a, 0x45, 0x01,
                                                    0x00, 0x00, 0x00, 0x00, 0xea, 0xfe, 0xbf, 0xa4, 0x41, 0x8a,
                                                    0xe3, 0x1b, 0x00, 0x00, 0x00, 0x01, 0x16, 0x03, 0x01};
// ACK_V1 acking message 0.
const std::vector<uint8_t> kClientAckNone = {0x28, 0xae, 0xb9, 0xaf, 0xe1, 0xf0, 0x1d, 0x79, 0xc8, 0x01, 0x00,
                                             0x00, 0x00, 0x00, 0xdd, 0x85, 0xdb, 0x53, 0x56, 0x23, 0xb0, 0x2e};

TEST(ControlPacket, ParsesClientHardReset) {
    ControlPacket p;
    ASSERT_EQ(parse_control_packet(kClientResetNone, p), Drop::none);
    EXPECT_EQ(p.opcode, Opcode::control_hard_reset_client_v2);
    EXPECT_EQ(p.key_id, 0);
    EXPECT_EQ(p.own_sid.bytes, (std::array<uint8_t, 8>{0x68, 0x91, 0x92, 0x3f, 0xa3, 0x10, 0x34, 0x37}));
    EXPECT_EQ(p.acks.count, 0);
    EXPECT_EQ(p.message_id, 0u);
    EXPECT_TRUE(p.payload.empty());
}

TEST(ControlPacket, ParsesControlWithAck) {
    ControlPacket p;
    ASSERT_EQ(parse_control_packet(kClientControlWithAck, p), Drop::none);
    EXPECT_EQ(p.opcode, Opcode::control_v1);
    ASSERT_EQ(p.acks.count, 1);
    EXPECT_EQ(p.acks.ids[0], 0u);
    EXPECT_EQ(p.peer_sid.bytes, (std::array<uint8_t, 8>{0xea, 0xfe, 0xbf, 0xa4, 0x41, 0x8a, 0xe3, 0x1b}));
    EXPECT_EQ(p.message_id, 1u);
    ASSERT_EQ(p.payload.size(), 3u);
    EXPECT_EQ(p.payload[0], 0x16);  // TLS handshake record
}

TEST(ControlPacket, ParsesAckV1WithoutMessageId) {
    ControlPacket p;
    ASSERT_EQ(parse_control_packet(kClientAckNone, p), Drop::none);
    EXPECT_EQ(p.opcode, Opcode::ack_v1);
    ASSERT_EQ(p.acks.count, 1);
    EXPECT_EQ(p.peer_sid.bytes, (std::array<uint8_t, 8>{0xdd, 0x85, 0xdb, 0x53, 0x56, 0x23, 0xb0, 0x2e}));
    EXPECT_TRUE(p.payload.empty());
}

TEST(ControlPacket, EncodeReproducesCapturedBytes) {
    for (const auto* bytes : {&kClientResetNone, &kClientControlWithAck, &kClientAckNone}) {
        ControlPacket p;
        ASSERT_EQ(parse_control_packet(*bytes, p), Drop::none);
        std::vector<uint8_t> out(64);
        const size_t n = encode_control_packet(p, out);
        out.resize(n);
        EXPECT_EQ(out, *bytes);
    }
}

TEST(ControlPacket, EveryTruncationIsRefused) {
    for (const auto* bytes : {&kClientResetNone, &kClientControlWithAck, &kClientAckNone}) {
        const size_t header = bytes == &kClientControlWithAck ? bytes->size() - 3 : bytes->size();
        for (size_t n = 0; n < header; ++n) {
            ControlPacket p;
            EXPECT_EQ(parse_control_packet(std::span(bytes->data(), n), p), Drop::truncated) << n;
        }
    }
}

TEST(ControlPacket, RefusesDataOpcodesAndTooManyAcks) {
    ControlPacket p;
    std::vector<uint8_t> data = {0x48, 0, 0, 1, 1, 2, 3};
    EXPECT_EQ(parse_control_packet(data, p), Drop::bad_opcode);
    std::vector<uint8_t> b = kClientResetNone;
    b[9] = 9;
    b.resize(200, 0);
    EXPECT_EQ(parse_control_packet(b, p), Drop::too_many_acks);
}

TEST(ControlPacket, EncoderRespectsAckLimits) {
    ControlPacket p;
    p.opcode = Opcode::control_v1;
    for (uint32_t i = 0; i < 5; ++i) p.acks.push(i);
    std::vector<uint8_t> out(128);
    EXPECT_EQ(encode_control_packet(p, out), 0u);  // > 4 acks on a CONTROL packet
    p.opcode = Opcode::ack_v1;
    EXPECT_EQ(encode_control_packet(p, out), control_overhead(5, false));
    std::vector<uint8_t> small(10);
    EXPECT_EQ(encode_control_packet(p, small), 0u);
}

TEST(ControlPacket, KeyIdRoundTrips) {
    for (uint8_t kid = 0; kid < 8; ++kid) {
        ControlPacket p;
        p.opcode = Opcode::control_soft_reset_v1;
        p.key_id = kid;
        p.message_id = 7;
        std::vector<uint8_t> out(64);
        out.resize(encode_control_packet(p, out));
        ControlPacket q;
        ASSERT_EQ(parse_control_packet(out, q), Drop::none);
        EXPECT_EQ(q.key_id, kid);
        EXPECT_EQ(q.opcode, Opcode::control_soft_reset_v1);
        EXPECT_EQ(q.message_id, 7u);
    }
    EXPECT_EQ(next_key_id(0), 1u);
    EXPECT_EQ(next_key_id(6), 7u);
    EXPECT_EQ(next_key_id(7), 1u);
}

}  // namespace
}  // namespace wirebridge::proto
