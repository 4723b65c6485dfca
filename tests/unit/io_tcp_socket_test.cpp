// Tests of TcpStream/TcpListener over loopback: non-blocking connect, accept, echo, EOF.
#include <gtest/gtest.h>
#include <poll.h>

#include <string>
#include <vector>

#include "io/tcp_socket.hpp"

using namespace wirebridge::io;

namespace {
bool wait_for(int fd, short events) {
    pollfd p{fd, events, 0};
    return poll(&p, 1, 2000) == 1;
}
}  // namespace

TEST(TcpSocket, ConnectAcceptTransferEof) {
    auto listener = TcpListener::open(*SocketAddress::from_numeric("127.0.0.1", 0));
    ASSERT_TRUE(listener) << listener.error().message;
    auto addr = listener->local_address();
    ASSERT_TRUE(addr);
    auto none = listener->accept();
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value());

    auto client = TcpStream::connect(*addr);
    ASSERT_TRUE(client) << client.error().message;
    ASSERT_TRUE(wait_for(client->fd(), POLLOUT));
    ASSERT_TRUE(client->finish_connect());
    ASSERT_TRUE(wait_for(listener->fd(), POLLIN));
    auto accepted = listener->accept();
    ASSERT_TRUE(accepted);
    ASSERT_TRUE(accepted->has_value());
    TcpStream server = std::move(**accepted);

    // 1 MB each way through non-blocking writes and reads.
    std::vector<std::uint8_t> data(1 << 20);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7);
    std::vector<std::uint8_t> got;
    std::size_t sent = 0;
    std::uint8_t buf[65536];
    for (int rounds = 0; got.size() < data.size() && rounds < 100000; ++rounds) {
        if (sent < data.size()) {
            auto w = client->write(std::span(data).subspan(sent));
            ASSERT_TRUE(w);
            sent += w->bytes;
        }
        auto r = server.read(buf);
        ASSERT_TRUE(r);
        EXPECT_FALSE(r->eof);
        got.insert(got.end(), buf, buf + r->bytes);
        if (r->would_block) wait_for(server.fd(), POLLIN);
    }
    EXPECT_EQ(got, data);
    auto wb = server.read(buf);
    ASSERT_TRUE(wb);
    EXPECT_TRUE(wb->would_block);
    client = TcpStream::connect(*addr);  // drops the old stream: the server sees EOF
    ASSERT_TRUE(wait_for(server.fd(), POLLIN));
    auto eof = server.read(buf);
    ASSERT_TRUE(eof);
    EXPECT_TRUE(eof->eof);
}

TEST(TcpSocket, RefusedConnectIsReported) {
    auto listener = TcpListener::open(*SocketAddress::from_numeric("127.0.0.1", 0));
    ASSERT_TRUE(listener);
    auto addr = *listener->local_address();
    listener = TcpListener::open(*SocketAddress::from_numeric("127.0.0.1", 0));  // frees the port
    auto client = TcpStream::connect(addr);
    if (!client) {
        EXPECT_EQ(client.error().code, ECONNREFUSED);
        return;
    }
    ASSERT_TRUE(wait_for(client->fd(), POLLOUT));
    auto r = client->finish_connect();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ECONNREFUSED);
}
