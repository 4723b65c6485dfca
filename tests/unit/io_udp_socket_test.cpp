// Tests of UdpSocket over loopback: batched send and receive keep order, lengths and peers.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "io/socket_errors.hpp"
#include "io/udp_socket.hpp"

using namespace wirebridge::io;

namespace {
bool wait_readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 2000) == 1;
}
}  // namespace

TEST(UdpSocket, BatchRoundTripOverLoopback) {
    auto any = SocketAddress::from_numeric("127.0.0.1", 0);
    ASSERT_TRUE(any);
    auto a = UdpSocket::open(*any);
    auto b = UdpSocket::open(*any);
    ASSERT_TRUE(a) << a.error().message;
    ASSERT_TRUE(b);
    auto b_addr = b->local_address();
    ASSERT_TRUE(b_addr);
    EXPECT_NE(b_addr->port(), 0);

    DatagramBatch out(8, 2048);
    for (int i = 0; i < 8; ++i) {
        auto buf = out.next_buffer();
        const std::size_t len = 100 + static_cast<std::size_t>(i) * 150;
        std::memset(buf.data(), 'a' + i, len);
        out.push(len, *b_addr);
    }
    EXPECT_TRUE(out.full());
    auto left = a->send(out);
    ASSERT_TRUE(left) << left.error().message;
    EXPECT_EQ(*left, 0u);
    EXPECT_EQ(out.size(), 0u);

    DatagramBatch in(16, 2048);
    std::size_t got = 0;
    auto a_addr = a->local_address();
    ASSERT_TRUE(a_addr);
    while (got < 8 && wait_readable(b->fd())) {
        auto n = b->receive(in);
        ASSERT_TRUE(n);
        for (std::size_t i = 0; i < *n; ++i, ++got) {
            auto d = in.data(i);
            EXPECT_EQ(d.size(), 100 + got * 150);
            EXPECT_EQ(d[0], 'a' + got);
            EXPECT_EQ(d[d.size() - 1], 'a' + got);
            EXPECT_EQ(in.peer(i), *a_addr) << in.peer(i).to_string();
        }
    }
    EXPECT_EQ(got, 8u);
    auto none = b->receive(in);
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, 0u);
}

TEST(UdpSocket, ReusePortAllowsTwoBinds) {
    auto first = UdpSocket::open(*SocketAddress::from_numeric("127.0.0.1", 0), true);
    ASSERT_TRUE(first);
    auto addr = first->local_address();
    ASSERT_TRUE(addr);
    auto second = UdpSocket::open(*addr, true);
    EXPECT_TRUE(second) << second.error().message;
    auto third = UdpSocket::open(*addr, false);
    EXPECT_FALSE(third);
    EXPECT_EQ(third.error().code, EADDRINUSE);
}

// A worker's handle on the client's connected socket: its own fd, the same socket (address,
// peer), so sends from either handle reach the peer and either can receive.
TEST(UdpSocket, SharedHandleSendsAndReceivesOnTheSameSocket) {
    auto server = UdpSocket::open(*SocketAddress::from_numeric("127.0.0.1", 0));
    ASSERT_TRUE(server);
    auto server_addr = server->local_address();
    auto client = UdpSocket::open(*SocketAddress::from_numeric("127.0.0.1", 0));
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->connect(*server_addr));
    auto shared = client->share();
    ASSERT_TRUE(shared) << shared.error().message;
    EXPECT_NE(shared->fd(), client->fd());
    EXPECT_EQ(shared->local_address()->to_string(), client->local_address()->to_string());
    DatagramBatch out(2, 64);
    std::memcpy(out.buffer_ahead(1).data(), "two", 3);  // filled ahead, pushed in order
    std::memcpy(out.next_buffer().data(), "one", 3);
    out.push(3, *server_addr);
    out.push(3, *server_addr);
    auto sent = shared->send(out);
    ASSERT_TRUE(sent);
    EXPECT_EQ(*sent, 0u);
    ASSERT_TRUE(wait_readable(server->fd()));
    DatagramBatch in(4, 64);
    auto n = server->receive(in);
    ASSERT_TRUE(n);
    ASSERT_EQ(*n, 2u);
    EXPECT_EQ(std::string(in.data(0).begin(), in.data(0).end()), "one");
    EXPECT_EQ(std::string(in.data(1).begin(), in.data(1).end()), "two");
    EXPECT_EQ(in.peer(0).to_string(), client->local_address()->to_string());
    const std::uint8_t back[4] = {9, 8, 7, 6};
    ASSERT_TRUE(server->send_to(back, in.peer(0)));
    ASSERT_TRUE(wait_readable(shared->fd()));
    auto got = shared->receive(in);
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, 1u);
}

TEST(UdpSocket, SendToAndAddresses) {
    auto s = UdpSocket::open(*SocketAddress::from_numeric("::1", 0));
    ASSERT_TRUE(s) << s.error().message;
    auto addr = s->local_address();
    ASSERT_TRUE(addr);
    EXPECT_EQ(addr->to_string().rfind("[::1]:", 0), 0u);
    const std::uint8_t msg[3] = {1, 2, 3};
    auto sent = s->send_to(msg, *addr);
    ASSERT_TRUE(sent);
    EXPECT_EQ(sent->bytes, 3u);
    ASSERT_TRUE(wait_readable(s->fd()));
    DatagramBatch in(4, 64);
    auto n = s->receive(in);
    ASSERT_TRUE(n);
    ASSERT_EQ(*n, 1u);
    EXPECT_EQ(in.data(0).size(), 3u);
    EXPECT_FALSE(SocketAddress::from_numeric("not-an-ip", 1));
    auto r = SocketAddress::resolve("localhost", 7);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->port(), 7);
}

// Runs of equal-size datagrams go out as UDP GSO messages: the receivers must still see every
// datagram with its own length, content and order, runs broken where the peer or size changes,
// and a connected socket's sends reach its peer without an address.
TEST(UdpSocket, GsoRunsKeepDatagramBoundaries) {
    auto any = SocketAddress::from_numeric("127.0.0.1", 0);
    ASSERT_TRUE(any);
    auto a = UdpSocket::open(*any);
    auto b = UdpSocket::open(*any);
    auto c = UdpSocket::open(*any);
    ASSERT_TRUE(a && b && c);
    auto b_addr = b->local_address();
    auto c_addr = c->local_address();
    ASSERT_TRUE(b_addr && c_addr);

    // b: 20 x 1200 then 700 (one run), 3 x 1200 (next run); c: 5 x 300; b again: 1 x 50.
    struct Sent { std::size_t len; bool to_b; };
    std::vector<Sent> plan;
    for (int i = 0; i < 20; ++i) plan.push_back({1200, true});
    plan.push_back({700, true});
    for (int i = 0; i < 3; ++i) plan.push_back({1200, true});
    for (int i = 0; i < 5; ++i) plan.push_back({300, false});
    plan.push_back({50, true});
    DatagramBatch out(32, 2048);
    for (std::size_t i = 0; i < plan.size(); ++i) {
        auto buf = out.next_buffer();
        for (std::size_t j = 0; j < plan[i].len; ++j) buf[j] = static_cast<std::uint8_t>(i + j);
        out.push(plan[i].len, plan[i].to_b ? *b_addr : *c_addr);
    }
    auto left = a->send(out);
    ASSERT_TRUE(left) << left.error().message;
    EXPECT_EQ(*left, 0u);

    auto collect = [](UdpSocket& s, std::size_t want, std::vector<std::vector<std::uint8_t>>& got) {
        DatagramBatch in(32, 2048);
        while (got.size() < want && wait_readable(s.fd())) {
            auto n = s.receive(in);
            ASSERT_TRUE(n);
            for (std::size_t i = 0; i < *n; ++i) got.emplace_back(in.data(i).begin(), in.data(i).end());
        }
    };
    std::vector<std::vector<std::uint8_t>> at_b, at_c;
    collect(*b, 25, at_b);
    collect(*c, 5, at_c);
    ASSERT_EQ(at_b.size(), 25u);
    ASSERT_EQ(at_c.size(), 5u);
    std::size_t ib = 0, ic = 0;
    for (std::size_t i = 0; i < plan.size(); ++i) {
        const auto& d = plan[i].to_b ? at_b[ib++] : at_c[ic++];
        ASSERT_EQ(d.size(), plan[i].len) << "datagram " << i;
        for (std::size_t j = 0; j < d.size(); ++j) ASSERT_EQ(d[j], static_cast<std::uint8_t>(i + j)) << "datagram " << i;
    }

    // Connected: the address in the batch is not used, the route is the connected one.
    ASSERT_TRUE(a->connect(*c_addr));
    for (int i = 0; i < 4; ++i) {
        auto buf = out.next_buffer();
        std::memset(buf.data(), 'k', 900);
        out.push(900, *c_addr);
    }
    left = a->send(out);
    ASSERT_TRUE(left) << left.error().message;
    EXPECT_EQ(*left, 0u);
    std::vector<std::vector<std::uint8_t>> again;
    collect(*c, 4, again);
    ASSERT_EQ(again.size(), 4u);
    for (const auto& d : again) EXPECT_EQ(d.size(), 900u);
}

// A GRO socket gets a GSO run as one coalesced message; receive() hands the datagrams out one by
// one again, each with its sender. A small batch on a GRO socket is refused, not truncated.
TEST(UdpSocket, GroSplitsCoalescedRuns) {
    auto any = SocketAddress::from_numeric("127.0.0.1", 0);
    ASSERT_TRUE(any);
    auto a = UdpSocket::open(*any);
    auto b = UdpSocket::open(*any);
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(b->enable_gro());
    auto b_addr = b->local_address();
    auto a_addr = a->local_address();
    ASSERT_TRUE(b_addr && a_addr);
    DatagramBatch out(32, 2048);
    std::vector<std::size_t> lens;
    for (int i = 0; i < 20; ++i) lens.push_back(1200);
    lens.push_back(700);
    lens.push_back(64);  // a new run
    for (std::size_t i = 0; i < lens.size(); ++i) {
        auto buf = out.next_buffer();
        for (std::size_t j = 0; j < lens[i]; ++j) buf[j] = static_cast<std::uint8_t>(i * 7 + j);
        out.push(lens[i], *b_addr);
    }
    auto left = a->send(out);
    ASSERT_TRUE(left && *left == 0u);

    DatagramBatch small(4, 2048);
    EXPECT_FALSE(b->receive(small));

    DatagramBatch in(4, kGroBufferSize);
    std::vector<std::vector<std::uint8_t>> got;
    while (got.size() < lens.size() && wait_readable(b->fd())) {
        auto n = b->receive(in);
        ASSERT_TRUE(n) << n.error().message;
        for (std::size_t i = 0; i < *n; ++i) {
            EXPECT_EQ(in.peer(i), *a_addr);
            got.emplace_back(in.data(i).begin(), in.data(i).end());
        }
    }
    ASSERT_EQ(got.size(), lens.size());
    for (std::size_t i = 0; i < lens.size(); ++i) {
        ASSERT_EQ(got[i].size(), lens[i]) << i;
        for (std::size_t j = 0; j < lens[i]; ++j) ASSERT_EQ(got[i][j], static_cast<std::uint8_t>(i * 7 + j)) << i;
    }
}

TEST(SocketErrors, IcmpReportedErrorsAreTransientBadDescriptorsAreNot) {
    // What Linux reports for ICMP errors (icmp_err_convert, icmpv6_err_convert) and local hiccups.
    for (int e : {ECONNREFUSED, ENOPROTOOPT, EMSGSIZE, EPROTO, EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENONET, EOPNOTSUPP,
                  EACCES, ENOBUFS, ENOMEM, EPERM, ENETDOWN})
        EXPECT_TRUE(is_transient_socket_error(e)) << std::strerror(e);
    for (int e : {EBADF, ENOTSOCK, EFAULT, EINVAL}) EXPECT_FALSE(is_transient_socket_error(e)) << std::strerror(e);
}

namespace {
std::uint16_t inet_checksum(const std::uint8_t* p, std::size_t n) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < n; i += 2) sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
    if (n & 1) sum += static_cast<std::uint32_t>(p[n - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return htons(static_cast<std::uint16_t>(~sum));
}

// An ICMP error about a datagram from `from` to `to` (both 127.0.0.1), as anyone on the path
// could forge it: the kernel queues it on the connected socket of `from`.
void forge_icmp(int raw, std::uint8_t type, std::uint8_t code, std::uint16_t from_port, std::uint16_t to_port) {
    std::uint8_t pkt[8 + 20 + 8] = {};
    pkt[0] = type;
    pkt[1] = code;
    if (type == ICMP_PARAMETERPROB) pkt[4] = 9;  // the pointer: the inner header's protocol byte
    iphdr inner{};
    inner.version = 4;
    inner.ihl = 5;
    inner.ttl = 64;
    inner.protocol = IPPROTO_UDP;
    inner.tot_len = htons(20 + 8 + 100);
    inner.saddr = htonl(INADDR_LOOPBACK);
    inner.daddr = htonl(INADDR_LOOPBACK);
    std::memcpy(pkt + 8, &inner, sizeof inner);
    const std::uint16_t udp[4] = {htons(from_port), htons(to_port), htons(8 + 100), 0};
    std::memcpy(pkt + 28, udp, sizeof udp);
    const std::uint16_t sum = inet_checksum(pkt, sizeof pkt);
    std::memcpy(pkt + 2, &sum, sizeof sum);
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(sendto(raw, pkt, sizeof pkt, 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst), static_cast<ssize_t>(sizeof pkt));
}

TEST(UdpSocket, ADatagramSentAfterAForgedIcmpErrorIsNotLost) {
    // The kernel reports a queued ICMP error on the next send, which then sends nothing: the
    // socket tries once more, so a forged error costs no datagram.
    const int raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (raw < 0) GTEST_SKIP() << "needs CAP_NET_RAW to forge ICMP: " << std::strerror(errno);
    auto any = SocketAddress::from_numeric("127.0.0.1", 0);
    auto client = UdpSocket::open(*any);
    auto server = UdpSocket::open(*any);
    ASSERT_TRUE(client && server);
    auto client_addr = client->local_address();
    auto server_addr = server->local_address();
    ASSERT_TRUE(client_addr && server_addr);
    ASSERT_TRUE(client->connect(*server_addr));
    SoftErrorCounter errors{0};
    client->count_soft_errors_in(&errors);
    DatagramBatch in(4, 64);
    for (int round = 0; round < 3; ++round) {
        const std::uint64_t before = errors.load();
        forge_icmp(raw, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, client_addr->port(), server_addr->port());
        for (int i = 0; i < 100 && errors.load() == before; ++i) {
            DatagramBatch out(1, 64);
            std::memcpy(out.next_buffer().data(), "data", 4);
            out.push(4, *server_addr);
            auto sent = client->send(out);
            ASSERT_TRUE(sent) << sent.error().message;
            EXPECT_EQ(*sent, 0u);  // sent, not left for later
            ASSERT_TRUE(wait_readable(server->fd()));
            auto n = server->receive(in);
            ASSERT_TRUE(n);
            ASSERT_EQ(*n, 1u) << "round " << round << ", datagram " << i;
        }
        EXPECT_GT(errors.load(), before) << "the forged error was never reported (round " << round << ")";
    }
    close(raw);
}

}  // namespace

// A connected client socket (what a site uses) given forged ICMP errors: protocol unreachable
// (ENOPROTOOPT) and parameter problem (EPROTO) used to fail receive(), which dropped the session.
// Each is counted and the datagram queued behind it is still delivered by the same receive.
// (Frag needed is left to the netns test: it would lower loopback's path MTU for the machine.)
TEST(UdpSocket, ForgedIcmpErrorsAreCountedNotFatal) {
    const int raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (raw < 0) GTEST_SKIP() << "needs CAP_NET_RAW to forge ICMP: " << std::strerror(errno);
    auto any = SocketAddress::from_numeric("127.0.0.1", 0);
    auto client = UdpSocket::open(*any);
    auto server = UdpSocket::open(*any);
    ASSERT_TRUE(client && server);
    auto client_addr = client->local_address();
    auto server_addr = server->local_address();
    ASSERT_TRUE(client_addr && server_addr);
    ASSERT_TRUE(client->connect(*server_addr));
    SoftErrorCounter errors{0};
    client->count_soft_errors_in(&errors);
    auto shared = client->share();
    ASSERT_TRUE(shared);

    DatagramBatch in(4, 2048);
    const struct {
        std::uint8_t type, code;
    } forged[] = {{ICMP_DEST_UNREACH, ICMP_PROT_UNREACH}, {ICMP_PARAMETERPROB, 0}};
    std::uint64_t expected = 0;
    for (const auto& f : forged) {
        forge_icmp(raw, f.type, f.code, client_addr->port(), server_addr->port());
        // The error is queued first; then a real datagram from the server arrives behind it.
        const std::uint8_t hello[] = {'h', 'i'};
        ASSERT_TRUE(server->send_to(hello, *client_addr));
        ASSERT_TRUE(wait_readable(client->fd()));
        // The shared handle (a worker's) reads: it counts into the same counter.
        std::size_t got = 0;
        for (int i = 0; i < 20 && got == 0; ++i) {
            auto n = (i % 2 ? *client : *shared).receive(in);
            ASSERT_TRUE(n) << "type " << int(f.type) << " code " << int(f.code) << ": " << n.error().message;
            got = *n;
            if (got == 0) wait_readable(client->fd());
        }
        ASSERT_EQ(got, 1u);
        EXPECT_EQ(in.data(0).size(), 2u);
        ++expected;
        EXPECT_EQ(errors.load(), expected) << "type " << int(f.type) << " code " << int(f.code);
    }
    close(raw);
}
