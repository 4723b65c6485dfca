// Control-channel reliability: windows, backoff, in-order delivery, duplicate handling.
#include <gtest/gtest.h>

#include <vector>

#include "proto/reliable.hpp"

namespace wirebridge::proto {
namespace {

std::vector<uint8_t> msg(uint8_t v) { return std::vector<uint8_t>(3, v); }

TEST(ReliableSend, WindowOfSix) {
    ReliableSend s;
    for (uint32_t i = 0; i < kSendWindow; ++i) {
        ASSERT_TRUE(s.can_queue());
        EXPECT_EQ(s.queue(Opcode::control_v1, msg(uint8_t(i)), 0), i);
    }
    EXPECT_FALSE(s.can_queue());
    // Acking a younger message frees a slot but not the window: id 6 would be 6 past id 0.
    EXPECT_TRUE(s.ack(3));
    EXPECT_FALSE(s.can_queue());
    EXPECT_TRUE(s.ack(0));
    EXPECT_TRUE(s.can_queue());
    EXPECT_FALSE(s.ack(0));  // duplicate ack
    EXPECT_FALSE(s.ack(99));
}

TEST(ReliableSend, ExponentialBackoffFromTwoSeconds) {
    ReliableSend s;
    s.queue(Opcode::control_v1, msg(1), 1000);
    const ReliableMessage* m = s.due(1000);
    ASSERT_NE(m, nullptr);
    s.sent(m->id, 1000);
    EXPECT_EQ(s.due(2999), nullptr);
    EXPECT_EQ(s.deadline(), 3000);
    ASSERT_NE(s.due(3000), nullptr);
    s.sent(0, 3000);
    EXPECT_EQ(s.deadline(), 7000);
    s.sent(0, 7000);
    EXPECT_EQ(s.deadline(), 15000);
    for (int i = 0; i < 10; ++i) s.sent(0, 0);
    EXPECT_EQ(s.deadline(), TimeMs{kMaxRetransmitMs});
    s.ack(0);
    EXPECT_EQ(s.deadline(), kNever);
    EXPECT_TRUE(s.empty());
}

TEST(ReliableSend, FastRetransmitAfterThreeLaterAcks) {
    ReliableSend s;
    for (int i = 0; i < 4; ++i) {
        s.queue(Opcode::control_v1, msg(uint8_t(i)), 0);
        s.sent(uint32_t(i), 0);
    }
    EXPECT_EQ(s.due(100), nullptr);
    s.ack(1);
    s.ack(2);
    EXPECT_EQ(s.due(100), nullptr);
    s.ack(3);
    const ReliableMessage* m = s.due(100);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->id, 0u);
}

TEST(ReliableRecv, InOrderDeliveryDuplicatesAndWindow) {
    ReliableRecv r;
    EXPECT_EQ(r.receive(Opcode::control_v1, 1, msg(1)), ReliableRecv::Verdict::accepted);
    ReliableMessage out;
    EXPECT_FALSE(r.pop(out));  // 0 still missing
    EXPECT_EQ(r.receive(Opcode::control_v1, 1, msg(1)), ReliableRecv::Verdict::duplicate);
    EXPECT_EQ(r.receive(Opcode::control_v1, 12, msg(12)), ReliableRecv::Verdict::out_of_window);
    EXPECT_EQ(r.receive(Opcode::control_v1, 11, msg(11)), ReliableRecv::Verdict::accepted);
    EXPECT_EQ(r.receive(Opcode::control_hard_reset_client_v2, 0, msg(0)), ReliableRecv::Verdict::accepted);
    ASSERT_TRUE(r.pop(out));
    EXPECT_EQ(out.id, 0u);
    EXPECT_EQ(out.opcode, Opcode::control_hard_reset_client_v2);
    ASSERT_TRUE(r.pop(out));
    EXPECT_EQ(out.id, 1u);
    EXPECT_EQ(out.payload, msg(1));
    EXPECT_FALSE(r.pop(out));
    EXPECT_EQ(r.receive(Opcode::control_v1, 0, msg(0)), ReliableRecv::Verdict::duplicate);
    EXPECT_EQ(r.receive(Opcode::control_v1, 13, msg(13)), ReliableRecv::Verdict::accepted);  // window moved
}

TEST(AckQueue, MergesAndSplits) {
    AckQueue q;
    for (uint32_t id : {5u, 6u, 5u, 7u, 8u, 9u}) q.add(id);
    EXPECT_EQ(q.size(), 5u);
    AckList l;
    q.take(l, kMaxAcksOnControl);
    ASSERT_EQ(l.count, 4);
    EXPECT_EQ(l.ids[0], 5u);
    EXPECT_EQ(l.ids[3], 8u);
    q.take(l, kMaxAcksOnControl);
    ASSERT_EQ(l.count, 1);
    EXPECT_EQ(l.ids[0], 9u);
    EXPECT_TRUE(q.empty());
    for (uint32_t i = 0; i < 100; ++i) q.add(i);  // bounded
    EXPECT_LE(q.size(), 2 * kRecvWindow);
}

}  // namespace
}  // namespace wirebridge::proto
