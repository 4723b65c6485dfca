// DataWorker over TCP, against the kernel: a real TAP in a private network namespace and a server
// played on loopback TCP (its own TcpLink and DataChannel), the worker on the test's own loop as
// the client runner runs it. ARP requests the server seals reach the TAP through the worker and
// the kernel's replies come back sealed on the stream; control packets and data of a key not yet
// installed go to the mailbox in stream order; the session's packets go out on the stream; the
// stream's back-pressure stops and restarts the TAP; beyond its hard limit it drops, each packet
// counted (tcp_link_full); the stream's end and a refused length end it.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "datapath/data_worker.hpp"
#include "datapath_test_keys.hpp"
#include "io/tcp_link.hpp"
#include "proto/constants.hpp"
#include "proto/data_packet.hpp"

using namespace wirebridge;
using namespace wirebridge::datapath;
using Bytes = std::vector<std::uint8_t>;

namespace {

void sh(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }

// ARP to and from this test's TAP (10.97.0.0/24, MACs 02:00:00:00:02:xx).
Bytes arp_request(std::uint8_t host) { return test::arp_request(97, 2, host); }

// A control packet as the session would see it: P_CONTROL_V1 (key 0) and a marker byte.
Bytes control_packet(std::uint8_t marker, std::size_t size = 16) {
    Bytes p(size, marker);
    p[0] = proto::op_byte(proto::Opcode::control_v1, 0);
    return p;
}

class DataWorkerTcpTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root for a private network namespace";
        if (unshare(CLONE_NEWNET) != 0) GTEST_SKIP() << "unshare(CLONE_NEWNET): " << std::strerror(errno);
        sh("ip link set lo up");
        sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
    }
    void TearDown() override {
        if (worker) worker->stop();
        worker.reset();
    }

    // The worker on the test's loop over a fresh loopback stream, key 0 on both ends.
    // small_buffers: 64 KB socket buffers each way (the kernel doubles them), so that the link's own
    // queue fills beyond its high-water mark.
    void start(bool small_buffers = false) {
        auto l = io::EventLoop::create();
        ASSERT_TRUE(l);
        host.emplace(std::move(*l));
        auto t = io::TapDevice::open("wbdt0", 1);
        ASSERT_TRUE(t) << t.error().message;
        tap.emplace(std::move(*t));
        ASSERT_TRUE(tap->set_ipv4(inet_addr("10.97.0.1"), 24));
        ASSERT_TRUE(tap->set_up(true));
        auto listener = io::TcpListener::open(*io::SocketAddress::from_numeric("127.0.0.1", 0));
        ASSERT_TRUE(listener) << listener.error().message;
        auto addr = listener->local_address();
        ASSERT_TRUE(addr);
        const int small = 64 * 1024;
        if (small_buffers) setsockopt(listener->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        auto c = io::TcpStream::connect(*addr);
        ASSERT_TRUE(c) << c.error().message;
        if (small_buffers) setsockopt(c->fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
        pollfd pw{c->fd(), POLLOUT, 0};
        ASSERT_EQ(poll(&pw, 1, 2000), 1);
        io::TcpLink client(std::move(*c), false);
        ASSERT_TRUE(client.finish_connect());
        pollfd pa{listener->fd(), POLLIN, 0};
        ASSERT_EQ(poll(&pa, 1, 2000), 1);
        auto a = listener->accept();
        ASSERT_TRUE(a && a->has_value());
        server.emplace(std::move(**a), true);
        auto mb = WorkerMailbox::create(64);
        ASSERT_TRUE(mb);
        mailbox = std::move(*mb);
        rekey(0, 0x11);
        DataWorker::Setup setup;
        setup.tap = &*tap;
        setup.receive = true;
        setup.keys = &keys;
        setup.mailbox = mailbox.get();
        setup.peer = *addr;
        setup.host_loop = &*host;
        auto w = DataWorker::start(setup, std::move(client));
        ASSERT_TRUE(w) << w.error().message;
        worker = std::move(*w);
    }

    void rekey(std::uint8_t key_id, std::uint8_t fill) {
        auto k = test::fill_keys(key_id, fill);
        EXPECT_TRUE(server_dc.install(test::mirror_keys(k)));
        server_dc.set_primary(key_id);
        keys.install(std::move(k));
        keys.set_primary(key_id);
        if (worker) worker->wake();
    }

    Bytes seal(const Bytes& frame) {
        Bytes buf(kHeadroom + frame.size());
        std::memcpy(buf.data() + kHeadroom, frame.data(), frame.size());
        buf.resize(server_dc.seal(buf, frame.size()));
        return buf;
    }
    void send(const Bytes& pkt) {
        ASSERT_TRUE(server->queue(pkt));
        ASSERT_TRUE(server->flush());
    }
    void run_host() { ASSERT_TRUE(host->run_once(std::chrono::milliseconds(5))); }

    // What the server read within `ms` (the worker's loop running meanwhile): the hosts of the ARP
    // replies opened, and the packets that are not data (the session's), in order.
    struct Received {
        std::vector<std::uint8_t> hosts;
        std::vector<Bytes> others;
        std::size_t refused = 0;
    };
    Received receive(std::size_t want_hosts, std::size_t want_others, int ms) {
        Received got;
        io::DatagramBatch rx(32, 2048);
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        while ((got.hosts.size() < want_hosts || got.others.size() < want_others) && std::chrono::steady_clock::now() < end) {
            run_host();
            auto n = server->receive(rx);
            EXPECT_TRUE(n) << n.error().message;
            if (!n) break;
            for (std::size_t i = 0; i < *n; ++i) {
                std::span<std::uint8_t> pkt = rx.data(i);
                if (!proto::is_data_packet(pkt)) {
                    got.others.emplace_back(pkt.begin(), pkt.end());
                    continue;
                }
                std::span<std::uint8_t> payload;
                if (server_dc.open(pkt, 0, payload) != DataDrop::none) {
                    ++got.refused;
                    continue;
                }
                if (const std::uint8_t h = test::arp_reply_to(payload)) got.hosts.push_back(h);
            }
        }
        return got;
    }

    template <typename Pred>
    bool wait_for(Pred pred, int ms = 3000) {
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        while (!pred()) {
            if (std::chrono::steady_clock::now() >= end) return false;
            run_host();
        }
        return true;
    }

    std::optional<io::EventLoop> host;  // before the worker: it leaves the loop when it stops
    std::optional<io::TapDevice> tap;
    std::optional<io::TcpLink> server;
    DataChannel server_dc;
    WorkerKeys keys;
    std::unique_ptr<WorkerMailbox> mailbox;
    std::unique_ptr<DataWorker> worker;  // last: stopped before what it uses goes
};

}  // namespace

TEST_F(DataWorkerTcpTest, FramesCrossTheStreamBothWays) {
    start();
    if (HasFatalFailure()) return;
    // Sent in one write: the worker cuts them from its reads, whatever the segments were.
    Bytes burst;
    for (std::uint8_t h = 2; h < 22; ++h) {
        const Bytes p = seal(arp_request(h));
        burst.push_back(static_cast<std::uint8_t>(p.size() >> 8));
        burst.push_back(static_cast<std::uint8_t>(p.size()));
        burst.insert(burst.end(), p.begin(), p.end());
    }
    ASSERT_EQ(::send(server->fd(), burst.data(), burst.size(), 0), static_cast<ssize_t>(burst.size()));
    const Received got = receive(20, 0, 5000);
    EXPECT_EQ(std::set<std::uint8_t>(got.hosts.begin(), got.hosts.end()).size(), 20u);
    EXPECT_EQ(got.refused, 0u);
    EXPECT_TRUE(wait_for([&] { return worker->traffic().packets_in >= 20 && worker->traffic().packets_out >= 20; }));
    EXPECT_TRUE(worker->stream_end().empty());
    EXPECT_FALSE(worker->failed());
    EXPECT_EQ(worker->tap_write_drops(), 0u);
    EXPECT_EQ(worker->tcp_link_full_drops(), 0u);
}

TEST_F(DataWorkerTcpTest, OnlyOneWorkerOnTheHostLoopTakesAStream) {
    start();
    if (HasFatalFailure()) return;
    int sv[2];  // any stream: refused before it is used
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    io::Fd other(sv[1]);
    DataWorker::Setup setup;
    setup.tap = &*tap;
    setup.receive = true;
    setup.keys = &keys;
    setup.mailbox = mailbox.get();
    auto w = DataWorker::start(setup, io::TcpLink(io::TcpStream(io::Fd(sv[0]), {}), true));  // no host loop
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error().code, EINVAL);
}

// The session's packets keep their place in the stream: a control packet, then a data packet of a
// key the worker does not have yet (the control packet made it; the runner installs it when it
// handles that mail), then data it opens itself. Both mails come in stream order.
TEST_F(DataWorkerTcpTest, ControlAndUnknownKeysGoToTheMailboxInStreamOrder) {
    start();
    if (HasFatalFailure()) return;
    send(control_packet(0x5a));
    auto k1 = test::fill_keys(1, 0x61);  // only the server has key 1 so far
    ASSERT_TRUE(server_dc.install(test::mirror_keys(k1)));
    server_dc.set_primary(1);
    const Bytes new_key = seal(arp_request(40));
    send(new_key);
    server_dc.set_primary(0);
    send(seal(arp_request(41)));
    const Received got = receive(1, 0, 5000);
    ASSERT_EQ(got.hosts.size(), 1u);
    EXPECT_EQ(got.hosts[0], 41);
    std::vector<WorkerMailbox::Mail> mails;
    ASSERT_TRUE(wait_for([&] {
        std::vector<WorkerMailbox::Mail> more;
        mailbox->take(more);
        for (auto& m : more) mails.push_back(std::move(m));
        return mails.size() >= 2;
    }));
    ASSERT_EQ(mails.size(), 2u);
    EXPECT_EQ(mails[0].kind, WorkerMailbox::Kind::packet);
    EXPECT_EQ(mails[0].bytes, control_packet(0x5a));
    EXPECT_EQ(mails[1].kind, WorkerMailbox::Kind::packet);
    EXPECT_EQ(mails[1].bytes, new_key);
}

TEST_F(DataWorkerTcpTest, TheSessionsPacketsGoOutOnTheStream) {
    start();
    if (HasFatalFailure()) return;
    for (std::uint8_t m = 1; m <= 3; ++m) worker->queue_packet(control_packet(m, 100 * m));
    worker->flush_packets();
    send(seal(arp_request(5)));  // data after them, the other way
    const Received got = receive(1, 3, 5000);
    ASSERT_EQ(got.others.size(), 3u);
    for (std::uint8_t m = 1; m <= 3; ++m) EXPECT_EQ(got.others[m - 1], control_packet(m, 100 * m));
    EXPECT_EQ(got.hosts.size(), 1u);
}

// Back-pressure: with the server not reading, what the worker queues passes the high-water mark
// and it stops reading its TAP; once the server reads, EPOLLOUT drains the queue in order and the
// TAP is read again.
TEST_F(DataWorkerTcpTest, AFullStreamStopsTheTapUntilItDrains) {
    start(true);
    if (HasFatalFailure()) return;
    const std::size_t count = 1000;  // 1 MB: some 300 KB in the sockets, the rest queued
    for (std::size_t i = 0; i < count; ++i) {
        Bytes p = control_packet(static_cast<std::uint8_t>(i), 1000);
        p[1] = static_cast<std::uint8_t>(i >> 8);
        worker->queue_packet(p);
    }
    worker->flush_packets();
    EXPECT_FALSE(worker->reading_tap());
    run_host();
    EXPECT_FALSE(worker->reading_tap());
    const Received got = receive(0, count, 10000);
    ASSERT_EQ(got.others.size(), count);
    for (std::size_t i = 0; i < count; ++i) {
        ASSERT_EQ(got.others[i][1], static_cast<std::uint8_t>(i >> 8)) << i;
        ASSERT_EQ(got.others[i][2], static_cast<std::uint8_t>(i)) << i;
    }
    EXPECT_TRUE(wait_for([&] { return worker->reading_tap(); }));
    send(seal(arp_request(9)));
    EXPECT_EQ(receive(1, 0, 5000).hosts.size(), 1u);
    EXPECT_TRUE(worker->stream_end().empty());
    EXPECT_EQ(worker->tcp_link_full_drops(), 0u);  // above the high-water mark, under the hard limit
}

// A server that does not read at all: the stream queues up to its hard limit and drops the rest
// (what the server reads later comes in order); each packet dropped is a tcp_link_full drop, and
// the stream stays up.
TEST_F(DataWorkerTcpTest, AStreamOverItsHardLimitCountsWhatItDrops) {
    start(true);
    if (HasFatalFailure()) return;
    const std::size_t count = 3000;  // 3 MB: some 300 KB in the sockets, 2 MB queued, the rest dropped
    for (std::size_t i = 0; i < count; ++i) {
        Bytes p = control_packet(static_cast<std::uint8_t>(i), 1000);
        p[1] = static_cast<std::uint8_t>(i >> 8);
        worker->queue_packet(p);
        if (i % 100 == 99) worker->flush_packets();
    }
    worker->flush_packets();
    EXPECT_GT(worker->tcp_link_full_drops(), 0u);
    std::vector<Bytes> got = receive(0, 2000, 15000).others;
    for (Received more; !(more = receive(0, count - got.size(), 1000)).others.empty();)
        got.insert(got.end(), more.others.begin(), more.others.end());
    EXPECT_GE(got.size(), 2000u);
    EXPECT_LT(got.size(), count);
    // In order, none twice (not always a prefix: the kernel may take a few more bytes meanwhile).
    const auto seq = [](const Bytes& p) { return (std::size_t{p[1]} << 8) | p[2]; };
    for (std::size_t i = 1; i < got.size(); ++i) ASSERT_LT(seq(got[i - 1]), seq(got[i])) << i;
    EXPECT_EQ(worker->tcp_link_full_drops(), count - got.size());
    EXPECT_TRUE(worker->stream_end().empty());
}

TEST_F(DataWorkerTcpTest, TheServerClosingEndsTheStream) {
    start();
    if (HasFatalFailure()) return;
    send(seal(arp_request(3)));
    ASSERT_EQ(receive(1, 0, 5000).hosts.size(), 1u);
    std::vector<WorkerMailbox::Mail> mails;
    mailbox->take(mails);  // drains the eventfd
    server.reset();
    ASSERT_TRUE(wait_for([&] { return !worker->stream_end().empty(); }));
    EXPECT_EQ(worker->stream_end(), "the server closed the TCP connection");
    EXPECT_FALSE(worker->failed());
    pollfd woken{mailbox->fd(), POLLIN, 0};
    EXPECT_EQ(poll(&woken, 1, 1000), 1);  // the runner is woken, with no mail
    mailbox->take(mails);
    EXPECT_TRUE(mails.empty());
    // Its fds are off the loop: nothing is left to run.
    for (int i = 0; i < 5; ++i) run_host();
    worker->queue_packet(control_packet(1));  // ignored now
    worker->flush_packets();
    worker->stop();
}

TEST_F(DataWorkerTcpTest, ARefusedLengthEndsTheStream) {
    start();
    if (HasFatalFailure()) return;
    const std::uint8_t oversized[] = {0x08, 0x01, 0, 0};  // 2049 bytes announced
    ASSERT_EQ(::send(server->fd(), oversized, sizeof oversized, 0), 4);
    ASSERT_TRUE(wait_for([&] { return !worker->stream_end().empty(); }));
    EXPECT_NE(worker->stream_end().find("oversized packet on TCP"), std::string::npos) << worker->stream_end();
}
