// TcpLink over a real stream (a socketpair; loopback TCP for the EOF and write sides): whole
// packets in batches whatever the reads cut, a frame split at every byte, refused lengths, an end
// inside a packet, a batch that fills before the stream is drained, and framed batch sends.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <vector>

#include "io/tcp_link.hpp"

using namespace wirebridge::io;
using Bytes = std::vector<std::uint8_t>;

namespace {

// len bytes of fill.
Bytes packet(std::size_t len, std::uint8_t fill) { return Bytes(len, fill); }

Bytes framed(const std::vector<Bytes>& packets) {
    Bytes out;
    for (const auto& p : packets) {
        out.push_back(static_cast<std::uint8_t>(p.size() >> 8));
        out.push_back(static_cast<std::uint8_t>(p.size()));
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

// A link reading one end of a stream socketpair; the test writes raw bytes into the other end.
class TcpLinkTest : public ::testing::Test {
protected:
    void SetUp() override {
        int sv[2];
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
        link.emplace(TcpStream(Fd(sv[0]), SocketAddress{}), true);
        writer = Fd(sv[1]);
    }
    void write_raw(std::span<const std::uint8_t> bytes) {
        ASSERT_EQ(::write(writer.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    }
    // Every packet the link has now, batch after batch (a batch of `capacity`).
    std::vector<Bytes> drain(DatagramBatch& batch) {
        std::vector<Bytes> got;
        for (int i = 0; i < 1000; ++i) {
            auto n = link->receive(batch);
            EXPECT_TRUE(n) << n.error().message;
            if (!n || *n == 0) break;
            for (std::size_t k = 0; k < *n; ++k) got.emplace_back(batch.data(k).begin(), batch.data(k).end());
        }
        return got;
    }

    std::optional<TcpLink> link;
    Fd writer;
};

}  // namespace

TEST_F(TcpLinkTest, WholePacketsAcrossReads) {
    std::vector<Bytes> sent;
    for (std::size_t i = 0; i < 40; ++i) sent.push_back(packet(1 + i * 37, static_cast<std::uint8_t>(i)));
    const Bytes wire = framed(sent);
    DatagramBatch batch(8, 2048);
    std::vector<Bytes> got;
    // Chunks of 97 bytes: packets begin, end and have their length split anywhere.
    for (std::size_t off = 0; off < wire.size(); off += 97) {
        write_raw(std::span(wire).subspan(off, std::min<std::size_t>(97, wire.size() - off)));
        for (auto& p : drain(batch)) got.push_back(std::move(p));
    }
    EXPECT_EQ(got, sent);
    EXPECT_FALSE(link->holds_input());
    EXPECT_FALSE(link->ended());
    for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(batch.peer(i).length, link->peer().length);
}

TEST_F(TcpLinkTest, AFrameSplitAtEveryByte) {
    const std::vector<Bytes> sent = {packet(1, 0xa1), packet(300, 0xb2), packet(2048, 0xc3), packet(2, 0xd4)};
    const Bytes wire = framed(sent);
    for (std::size_t cut = 1; cut < wire.size(); ++cut) {
        SetUp();
        DatagramBatch batch(4, 2048);
        write_raw(std::span(wire).first(cut));
        std::vector<Bytes> got = drain(batch);
        write_raw(std::span(wire).subspan(cut));
        for (auto& p : drain(batch)) got.push_back(std::move(p));
        ASSERT_EQ(got, sent) << "split after byte " << cut;
    }
}

TEST_F(TcpLinkTest, OversizeAndZeroLengthsAreRefused) {
    DatagramBatch batch(4, 2048);
    // 2049 > kMaxPacket: refused as soon as the length is seen, the packets before it delivered.
    Bytes wire = framed({packet(10, 1)});
    wire.push_back(0x08);
    wire.push_back(0x01);
    write_raw(wire);
    auto n = link->receive(batch);
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(*n, 1u);
    EXPECT_EQ(Bytes(batch.data(0).begin(), batch.data(0).end()), packet(10, 1));
    EXPECT_TRUE(link->holds_input());  // the loop comes back for the refusal
    n = link->receive(batch);
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error().code, EPROTO);
    EXPECT_NE(n.error().message.find("oversized"), std::string::npos) << n.error().message;
    EXPECT_FALSE(link->receive(batch));  // the stream stays refused
    // A batch of smaller buffers lowers the limit to its buffer size.
    SetUp();
    DatagramBatch small(4, 512);
    write_raw(framed({packet(513, 2)}));
    auto s = link->receive(small);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, EPROTO);
    SetUp();
    const Bytes zero = {0, 0, 0x44};
    write_raw(zero);
    auto z = link->receive(batch);
    ASSERT_FALSE(z);
    EXPECT_EQ(z.error().code, EPROTO);
    EXPECT_NE(z.error().message.find("empty"), std::string::npos) << z.error().message;
}

TEST_F(TcpLinkTest, EndInsideAPacketAfterItsWholePackets) {
    DatagramBatch batch(4, 2048);
    Bytes wire = framed({packet(5, 1), packet(6, 2)});
    const Bytes partial = framed({packet(100, 3)});
    wire.insert(wire.end(), partial.begin(), partial.begin() + 40);
    write_raw(wire);
    writer.reset();  // the peer closes mid-packet
    auto n = link->receive(batch);
    ASSERT_TRUE(n) << n.error().message;
    ASSERT_EQ(*n, 2u);
    EXPECT_EQ(Bytes(batch.data(1).begin(), batch.data(1).end()), packet(6, 2));
    EXPECT_TRUE(link->holds_input());  // the loop comes back to hear of the end
    auto e = link->receive(batch);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().code, EPROTO);
    EXPECT_NE(e.error().message.find("ended inside a packet"), std::string::npos) << e.error().message;
}

TEST_F(TcpLinkTest, CleanEndIsNotAnError) {
    DatagramBatch batch(4, 2048);
    write_raw(framed({packet(5, 1)}));
    writer.reset();
    auto n = link->receive(batch);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 1u);
    auto e = link->receive(batch);
    ASSERT_TRUE(e) << e.error().message;
    EXPECT_EQ(*e, 0u);
    EXPECT_TRUE(link->ended());
}

TEST_F(TcpLinkTest, AFullBatchLeavesTheRestForTheNextCall) {
    std::vector<Bytes> sent;
    for (std::size_t i = 0; i < 10; ++i) sent.push_back(packet(50, static_cast<std::uint8_t>(i)));
    write_raw(framed(sent));
    DatagramBatch batch(3, 2048);
    auto n = link->receive(batch);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 3u);
    // Everything was read at once: the socket is empty, the link says it holds more.
    pollfd p{link->fd(), POLLIN, 0};
    EXPECT_EQ(poll(&p, 1, 0), 0);
    EXPECT_TRUE(link->holds_input());
    std::vector<Bytes> got;
    for (std::size_t k = 0; k < *n; ++k) got.emplace_back(batch.data(k).begin(), batch.data(k).end());
    for (auto& b : drain(batch)) got.push_back(std::move(b));
    EXPECT_EQ(got, sent);
    EXPECT_FALSE(link->holds_input());
}

TEST_F(TcpLinkTest, BatchSendIsFramedAndRoundTrips) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    TcpLink sender(TcpStream(Fd(sv[0]), SocketAddress{}), true);
    TcpLink receiver(TcpStream(Fd(sv[1]), SocketAddress{}), true);
    DatagramBatch out(4, 2048);
    std::vector<Bytes> sent = {packet(1, 9), packet(1500, 8), packet(2048, 7)};
    for (const auto& p : sent) {
        std::copy(p.begin(), p.end(), out.next_buffer().begin());
        out.push(p.size(), SocketAddress{});
    }
    auto dropped = sender.send(out);
    ASSERT_TRUE(dropped) << dropped.error().message;
    EXPECT_EQ(*dropped, 0u);
    EXPECT_EQ(out.size(), 0u);
    EXPECT_EQ(sender.pending(), 0u);
    // The bytes on the wire: a 2-byte big-endian length before each packet.
    Bytes wire(2 + 1 + 2 + 1500 + 2 + 2048);
    ASSERT_EQ(::recv(sv[1], wire.data(), 5, MSG_PEEK), 5);
    EXPECT_EQ(wire[0], 0);
    EXPECT_EQ(wire[1], 1);
    EXPECT_EQ(wire[2], 9);
    EXPECT_EQ(wire[3], 1500 >> 8);
    EXPECT_EQ(wire[4], 1500 & 0xff);
    DatagramBatch in(4, 2048);
    auto n = receiver.receive(in);
    ASSERT_TRUE(n) << n.error().message;
    ASSERT_EQ(*n, 3u);
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(Bytes(in.data(i).begin(), in.data(i).end()), sent[i]);
}

// The write side's high-water mark over loopback TCP: what the socket does not take stays queued
// (pending), a flush after the peer read sends it, nothing is lost or reordered.
TEST(TcpLinkWrite, QueuedBeyondTheSocketIsFlushedLater) {
    auto listener = TcpListener::open(*SocketAddress::from_numeric("127.0.0.1", 0));
    ASSERT_TRUE(listener);
    auto addr = listener->local_address();
    ASSERT_TRUE(addr);
    auto c = TcpStream::connect(*addr);
    ASSERT_TRUE(c);
    pollfd pw{c->fd(), POLLOUT, 0};
    ASSERT_EQ(poll(&pw, 1, 2000), 1);
    TcpLink client(std::move(*c), false);
    ASSERT_TRUE(client.finish_connect());
    pollfd pa{listener->fd(), POLLIN, 0};
    ASSERT_EQ(poll(&pa, 1, 2000), 1);
    auto a = listener->accept();
    ASSERT_TRUE(a && a->has_value());
    TcpLink server(std::move(**a), true);
    const int small = 64 * 1024;  // the kernel doubles it; still well below what is queued
    setsockopt(client.fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(server.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    const std::size_t count = 2000;
    for (std::size_t i = 0; i < count; ++i) {
        Bytes p = packet(1000, static_cast<std::uint8_t>(i));
        p[0] = static_cast<std::uint8_t>(i >> 8);
        ASSERT_TRUE(client.queue(p));
    }
    ASSERT_TRUE(client.flush());
    EXPECT_GT(client.pending(), TcpLink::kHighWater);  // 2 MB queued, some 100 KB taken by the socket
    DatagramBatch in(32, 2048);
    std::size_t got = 0;
    for (int rounds = 0; got < count && rounds < 100000; ++rounds) {
        ASSERT_TRUE(client.flush());
        auto n = server.receive(in);
        ASSERT_TRUE(n) << n.error().message;
        for (std::size_t k = 0; k < *n; ++k, ++got) {
            ASSERT_EQ(in.data(k).size(), 1000u);
            ASSERT_EQ(in.data(k)[0], static_cast<std::uint8_t>(got >> 8));
            ASSERT_EQ(in.data(k)[1], static_cast<std::uint8_t>(got));
        }
        if (*n == 0) {
            pollfd pr{server.fd(), POLLIN, 0};
            poll(&pr, 1, 1);
        }
    }
    EXPECT_EQ(got, count);
    EXPECT_EQ(client.pending(), 0u);
}
