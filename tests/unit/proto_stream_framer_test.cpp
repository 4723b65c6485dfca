// TCP stream framing: byte-at-a-time reassembly, several packets per read, oversize refusal.
#include <gtest/gtest.h>

#include <vector>

#include "proto/stream_framer.hpp"

namespace wirebridge::proto {
namespace {

std::vector<uint8_t> framed(const std::vector<std::vector<uint8_t>>& pkts) {
    std::vector<uint8_t> out;
    for (const auto& p : pkts) {
        std::vector<uint8_t> f(p.size() + 2);
        EXPECT_EQ(StreamFramer::frame(p, f), p.size() + 2);
        out.insert(out.end(), f.begin(), f.end());
    }
    return out;
}

TEST(StreamFramer, CapturedClientResetPrefix) {
    std::vector<uint8_t> reset(14, 0);
    reset[0] = 0x38;
    std::vector<uint8_t> f(16);
    ASSERT_EQ(StreamFramer::frame(reset, f), 16u);
    EXPECT_EQ(f[0], 0x00);
    EXPECT_EQ(f[1], 0x0e);
    EXPECT_EQ(f[2], 0x38);
}

TEST(StreamFramer, ReassemblesAcrossArbitrarySplits) {
    const std::vector<std::vector<uint8_t>> pkts = {std::vector<uint8_t>(1, 1), std::vector<uint8_t>(300, 2),
                                                    std::vector<uint8_t>(2048, 3), std::vector<uint8_t>(7, 4)};
    const auto stream = framed(pkts);
    for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{1000}, stream.size()}) {
        StreamFramer fr(2048);
        std::vector<std::vector<uint8_t>> got;
        size_t pos = 0;
        while (pos < stream.size()) {
            const size_t n = std::min(chunk, stream.size() - pos);
            size_t fed = fr.feed(std::span(stream.data() + pos, n));
            pos += fed;
            ByteSpan p;
            StreamFramer::Status st;
            while ((st = fr.next(p)) == StreamFramer::Status::packet) got.emplace_back(p.begin(), p.end());
            ASSERT_EQ(st, StreamFramer::Status::need_more);
            ASSERT_TRUE(fed > 0 || n == 0);
        }
        EXPECT_EQ(got, pkts) << "chunk " << chunk;
        EXPECT_EQ(fr.buffered(), 0u);
    }
}

TEST(StreamFramer, RefusesOversizeAndZeroLength) {
    StreamFramer fr(100);
    const std::vector<uint8_t> big = {0x00, 0x65, 1, 2, 3};
    fr.feed(big);
    ByteSpan p;
    EXPECT_EQ(fr.next(p), StreamFramer::Status::oversize);
    EXPECT_TRUE(fr.failed());
    EXPECT_EQ(fr.feed(big), 0u);
    StreamFramer z(100);
    const std::vector<uint8_t> zero = {0, 0};
    z.feed(zero);
    EXPECT_EQ(z.next(p), StreamFramer::Status::oversize);
    std::vector<uint8_t> out(4);
    EXPECT_EQ(StreamFramer::frame(std::vector<uint8_t>(3, 1), out), 0u);  // no room
}

}  // namespace
}  // namespace wirebridge::proto
