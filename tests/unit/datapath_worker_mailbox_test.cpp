// WorkerMailbox: what the data path hands the main thread, bounded, with half the box kept for
// established peers, and every refused mail counted by source.
#include <gtest/gtest.h>

#include <vector>

#include "datapath/worker_mailbox.hpp"

using namespace wirebridge::datapath;
using Source = WorkerMailbox::Source;

namespace {

const std::vector<std::uint8_t> kPacket = {0x38, 1, 2, 3};

std::unique_ptr<WorkerMailbox> box(std::size_t capacity) {
    auto mb = WorkerMailbox::create(capacity);
    EXPECT_TRUE(mb);
    return std::move(*mb);
}

}  // namespace

TEST(WorkerMailbox, AFloodFromUnknownSourcesLeavesRoomForEstablishedPeers) {
    auto mb = box(8);
    int unknown_taken = 0;
    for (int i = 0; i < 100; ++i) unknown_taken += mb->post(WorkerMailbox::Kind::packet, kPacket, {}, 0, Source::unknown);
    EXPECT_EQ(unknown_taken, 4);  // half the box
    EXPECT_EQ(mb->dropped(Source::unknown), 96u);
    // An established peer's control packet and ping still get in.
    EXPECT_TRUE(mb->post(WorkerMailbox::Kind::packet, kPacket, {}, 0, Source::peer));
    EXPECT_TRUE(mb->post(WorkerMailbox::Kind::payload, kPacket, {}, 7, Source::peer));
    EXPECT_EQ(mb->dropped(Source::peer), 0u);
    std::vector<WorkerMailbox::Mail> mails;
    mb->take(mails);
    ASSERT_EQ(mails.size(), 6u);
    EXPECT_EQ(mails.back().kind, WorkerMailbox::Kind::payload);
    EXPECT_EQ(mails.back().peer_id, 7u);
}

TEST(WorkerMailbox, EstablishedPeersFillTheWholeBoxAndTheirDropsAreCounted) {
    auto mb = box(4);
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(mb->post(WorkerMailbox::Kind::packet, kPacket));
    EXPECT_FALSE(mb->post(WorkerMailbox::Kind::packet, kPacket));
    EXPECT_FALSE(mb->post(WorkerMailbox::Kind::packet, kPacket, {}, 0, Source::unknown));
    EXPECT_EQ(mb->dropped(Source::peer), 1u);
    EXPECT_EQ(mb->dropped(Source::unknown), 1u);
    std::vector<WorkerMailbox::Mail> mails;
    mb->take(mails);
    EXPECT_EQ(mails.size(), 4u);
    EXPECT_TRUE(mb->post(WorkerMailbox::Kind::packet, kPacket, {}, 0, Source::unknown));  // room again
    mb->count_filtered();
    EXPECT_EQ(mb->filtered(), 1u);
}
