// DataWorker, the client's pump thread, against the kernel: a real multi-queue TAP in a private
// network namespace and a server played on loopback (a UDP socket and its own DataChannel).
// ARP requests the server seals reach the TAP through the worker; the kernel's ARP replies come
// back through a worker, sealed, to the server. One worker and several, a TAP that refuses
// writes, a key change while traffic flows, and a replay across threads (the shared window).
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "datapath/data_worker.hpp"
#include "datapath_test_keys.hpp"
#include "io/clock.hpp"
#include "io/tap_device.hpp"
#include "io/udp_socket.hpp"

using namespace wirebridge;
using namespace wirebridge::datapath;
using Bytes = std::vector<std::uint8_t>;

namespace {

void sh(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }

using test::fill_keys;
using test::mirror_keys;

// ARP to and from this test's TAP (10.98.0.0/24, MACs 02:00:00:00:01:xx).
Bytes arp_request(std::uint8_t host) { return test::arp_request(98, 1, host); }
using test::arp_reply_to;

class DataWorkerTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root for a private network namespace";
        if (unshare(CLONE_NEWNET) != 0) GTEST_SKIP() << "unshare(CLONE_NEWNET): " << std::strerror(errno);
        sh("ip link set lo up");
        // No IPv6 chatter (router solicitations, MLD) on the TAP: only the ARP replies come back.
        sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
    }
    void TearDown() override {
        for (auto& w : workers) w->stop();
        workers.clear();
    }

    // n workers on a TAP of n queues (worker 0 reads the socket), keys 0 published and primary.
    // on_host: one worker on a loop of the test's own thread (the runners' single-thread mode).
    void start(unsigned n, bool on_host = false) {
        if (on_host) {
            auto l = io::EventLoop::create();
            ASSERT_TRUE(l);
            host.emplace(std::move(*l));
        }
        auto t = io::TapDevice::open("wbdw0", n);
        ASSERT_TRUE(t) << t.error().message;
        tap.emplace(std::move(*t));
        ASSERT_TRUE(tap->set_ipv4(inet_addr("10.98.0.1"), 24));
        ASSERT_TRUE(tap->set_up(true));
        auto lo = io::SocketAddress::from_numeric("127.0.0.1", 0);
        ASSERT_TRUE(lo);
        auto s = io::UdpSocket::open(*lo);
        ASSERT_TRUE(s) << s.error().message;
        server.emplace(std::move(*s));
        auto sa = server->local_address();
        ASSERT_TRUE(sa);
        server_addr = *sa;
        auto c = io::UdpSocket::open(*lo);
        ASSERT_TRUE(c) << c.error().message;
        client.emplace(std::move(*c));
        client->count_soft_errors_in(&soft_errors);  // as the client runner does: its shares count too
        client->count_refusals_in(&refusals);
        ASSERT_TRUE(client->connect(server_addr));
        auto ca = client->local_address();
        ASSERT_TRUE(ca);
        client_addr = *ca;
        auto mb = WorkerMailbox::create(64);
        ASSERT_TRUE(mb);
        mailbox = std::move(*mb);
        rekey(0, 0x11);
        for (unsigned k = 0; k < n; ++k) {
            DataWorker::Setup setup;
            setup.index = k;
            setup.tap = &*tap;
            setup.queue = k;
            setup.receive = k == 0;
            setup.send_block = std::max(1u, 32u / n);
            setup.keys = &keys;
            setup.mailbox = mailbox.get();
            setup.peer = server_addr;
            setup.host_loop = host ? &*host : nullptr;
            auto sock = client->share();
            ASSERT_TRUE(sock);
            auto w = DataWorker::start(setup, std::move(*sock));
            ASSERT_TRUE(w) << w.error().message;
            workers.push_back(std::move(*w));
        }
    }

    // A new key on both ends, primary at once (as the session's keys_ready + keys_primary).
    std::shared_ptr<const PublishedKey> rekey(std::uint8_t key_id, std::uint8_t fill) {
        auto k = fill_keys(key_id, fill);
        EXPECT_TRUE(server_dc.install(mirror_keys(k)));
        server_dc.set_primary(key_id);
        auto published = keys.install(std::move(k));
        keys.set_primary(key_id);
        for (auto& w : workers) w->wake();
        return published;
    }

    Bytes seal(const Bytes& frame) {
        Bytes buf(kHeadroom + frame.size());
        std::memcpy(buf.data() + kHeadroom, frame.data(), frame.size());
        buf.resize(server_dc.seal(buf, frame.size()));
        return buf;
    }
    void send(const Bytes& pkt) {
        auto r = server->send_to(pkt, client_addr);
        ASSERT_TRUE(r) << r.error().message;
    }

    // What the workers sent the server within `ms`, opened: the hosts of the ARP replies and the
    // key_id each came with. Stops early once `want` replies are in.
    struct Received {
        std::vector<std::uint8_t> hosts, key_ids;
        std::uint64_t refused = 0;
    };
    Received receive(std::size_t want, int ms) {
        Received got;
        io::DatagramBatch rx(32, 2048);
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        while (got.hosts.size() < want && std::chrono::steady_clock::now() < end) {
            pollfd p{server->fd(), POLLIN, 0};
            poll(&p, 1, host ? 1 : 50);
            run_host();
            auto n = server->receive(rx);
            if (!n || *n == 0) continue;
            for (std::size_t i = 0; i < *n; ++i) {
                std::span<std::uint8_t> pkt = rx.data(i);
                const std::uint8_t key_id = pkt.empty() ? 0 : pkt[0] & 7;
                std::span<std::uint8_t> payload;
                if (server_dc.open(pkt, 0, payload) != DataDrop::none) {
                    ++got.refused;
                    continue;
                }
                if (const std::uint8_t h = arp_reply_to(payload)) {
                    got.hosts.push_back(h);
                    got.key_ids.push_back(key_id);
                }
            }
        }
        return got;
    }

    WorkerTraffic traffic() const {
        WorkerTraffic t;
        for (const auto& w : workers) t.add(w->traffic());
        return t;
    }

    // Single-thread mode: the worker works when its host loop runs (here: the test's thread).
    void run_host() {
        if (host) {
            ASSERT_TRUE(host->run_once(std::chrono::milliseconds(5)));
        }
    }

    template <typename Pred>
    bool wait_for(Pred pred, int ms = 3000) {
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        while (!pred()) {
            if (std::chrono::steady_clock::now() >= end) return false;
            if (host) run_host();
            else std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return true;
    }

    io::SoftErrorCounter soft_errors{0}, refusals{0};
    std::optional<io::EventLoop> host;  // before the workers: they leave it when they stop
    std::optional<io::TapDevice> tap;
    std::optional<io::UdpSocket> server, client;
    io::SocketAddress server_addr, client_addr;
    DataChannel server_dc;
    WorkerKeys keys;
    std::unique_ptr<WorkerMailbox> mailbox;
    std::vector<std::unique_ptr<DataWorker>> workers;  // last: stopped before what they use goes
};

}  // namespace

TEST_F(DataWorkerTest, OneWorkerCarriesFramesBothWays) {
    start(1);
    if (HasFatalFailure()) return;
    for (std::uint8_t h = 2; h < 12; ++h) send(seal(arp_request(h)));
    const Received got = receive(10, 5000);
    EXPECT_EQ(std::set<std::uint8_t>(got.hosts.begin(), got.hosts.end()).size(), 10u);
    EXPECT_EQ(got.refused, 0u);
    EXPECT_TRUE(wait_for([&] { return traffic().packets_in >= 10 && traffic().packets_out >= 10; }));
    EXPECT_FALSE(workers[0]->failed());
    EXPECT_EQ(workers[0]->tap_write_drops(), 0u);
}

TEST_F(DataWorkerTest, SeveralWorkersShareTheKeyWithoutReplays) {
    start(3);
    if (HasFatalFailure()) return;
    // Many requesters: the kernel spreads its replies over the TAP queues by flow, so several
    // workers seal with ids of one key, interleaved within the peer's replay window.
    for (std::uint8_t h = 2; h < 62; ++h) send(seal(arp_request(h)));
    const Received got = receive(60, 8000);
    EXPECT_EQ(std::set<std::uint8_t>(got.hosts.begin(), got.hosts.end()).size(), 60u);
    EXPECT_EQ(got.refused, 0u);  // no replay, no auth failure at the server
    unsigned busy = 0;
    for (const auto& w : workers) busy += w->traffic().packets_out > 0;
    EXPECT_GE(busy, 1u);
    EXPECT_TRUE(wait_for([&] { return traffic().packets_out >= 60; }));
}

TEST_F(DataWorkerTest, TapWriteFailureIsCountedAndTheWorkerGoesOn) {
    start(1);
    if (HasFatalFailure()) return;
    ASSERT_TRUE(tap->set_up(false));  // a TAP that is down refuses writes (EIO)
    for (std::uint8_t h = 2; h < 5; ++h) send(seal(arp_request(h)));
    // All three opened (their writes refused) before the TAP is up again: a frame the worker had
    // not read yet would reach the TAP once it is up, and its reply come before host 20's.
    EXPECT_TRUE(wait_for([&] { return traffic().packets_in >= 3; }));
    EXPECT_EQ(workers[0]->tap_write_drops(), 3u);  // one a frame, in one batch or several
    EXPECT_FALSE(workers[0]->failed());
    std::vector<WorkerMailbox::Mail> mails;
    mailbox->take(mails);
    for (const auto& m : mails) EXPECT_NE(m.kind, WorkerMailbox::Kind::error);
    // Up again: the same worker carries traffic as before.
    ASSERT_TRUE(tap->set_up(true));
    const std::uint64_t drops = workers[0]->tap_write_drops();
    send(seal(arp_request(20)));
    const Received got = receive(1, 5000);
    ASSERT_EQ(got.hosts.size(), 1u) << ::testing::PrintToString(got.hosts);
    EXPECT_EQ(got.hosts[0], 20);
    EXPECT_EQ(workers[0]->tap_write_drops(), drops);
}

// A refused io_uring batch is as many drops as it had frames. On the host loop the five packets
// are all in the socket before the worker reads: one batch, one refused flush.
TEST_F(DataWorkerTest, EveryFrameOfARefusedBatchIsADrop) {
    start(1, true);
    if (HasFatalFailure()) return;
    ASSERT_TRUE(tap->set_up(false));  // a TAP that is down refuses writes (EIO)
    for (std::uint8_t h = 2; h < 7; ++h) send(seal(arp_request(h)));
    EXPECT_TRUE(wait_for([&] { return traffic().packets_in >= 5; }));
    EXPECT_EQ(workers[0]->tap_write_drops(), 5u);
    EXPECT_FALSE(workers[0]->failed());
}

TEST_F(DataWorkerTest, KeyChangeWhileTrafficFlows) {
    start(2);
    if (HasFatalFailure()) return;
    std::vector<Bytes> old_key;
    for (std::uint8_t h = 2; h < 22; ++h) old_key.push_back(seal(arp_request(h)));
    for (const auto& p : old_key) send(p);
    rekey(1, 0x31);  // the session's next key, primary at once; key 0 stays until retired
    for (std::uint8_t h = 22; h < 42; ++h) send(seal(arp_request(h)));
    const Received got = receive(40, 8000);
    EXPECT_EQ(std::set<std::uint8_t>(got.hosts.begin(), got.hosts.end()).size(), 40u);
    EXPECT_EQ(got.refused, 0u);
    EXPECT_GT(std::count(got.key_ids.begin(), got.key_ids.end(), 1), 0);  // the workers took the new key
    // Once the workers saw the new key they seal with it (what was in flight before may use key 0).
    send(seal(arp_request(50)));
    const Received after = receive(1, 5000);
    ASSERT_EQ(after.key_ids.size(), 1u);
    EXPECT_EQ(after.key_ids[0], 1);
    EXPECT_EQ(traffic().drops[static_cast<std::size_t>(DataDrop::no_key)], 0u);
}

TEST_F(DataWorkerTest, ReplayIsRefusedAcrossThreads) {
    start(2);
    if (HasFatalFailure()) return;
    // The main thread's DataChannel, installed from the published key as the client runner does:
    // it shares the key's receive window with the workers.
    const auto set = keys.current();
    ASSERT_TRUE(set->slots[0]);
    DataChannel main_dc;
    ASSERT_TRUE(main_dc.install(set->slots[0]->keys, set->slots[0]->replay));
    const Bytes pkt = seal(arp_request(7));
    send(pkt);
    send(pkt);  // the same packet again: the worker refuses it as a replay
    const Received got = receive(1, 5000);
    ASSERT_EQ(got.hosts.size(), 1u);
    EXPECT_TRUE(wait_for([&] { return traffic().drops[static_cast<std::size_t>(DataDrop::replay)] == 1; }));
    EXPECT_EQ(receive(1, 300).hosts.size(), 0u);  // one reply only
    // What a worker accepted, another thread refuses too.
    Bytes again = pkt;
    std::span<std::uint8_t> payload;
    EXPECT_EQ(main_dc.open(again, 0, payload), DataDrop::replay);
    // A fresh packet is still fine on that thread.
    Bytes fresh = seal(arp_request(8));
    EXPECT_EQ(main_dc.open(fresh, 0, payload), DataDrop::none);
}

// The runners' single-thread mode: the same worker on a loop it does not own (no thread); frames
// cross both ways, a refused TAP write is counted, a key change is taken at once (wake() is a
// plain call), and stop() takes its fds off the loop.
TEST_F(DataWorkerTest, OneWorkerOnTheHostLoop) {
    start(1, true);
    if (HasFatalFailure()) return;
    for (std::uint8_t h = 2; h < 12; ++h) send(seal(arp_request(h)));
    Received got = receive(10, 5000);
    EXPECT_EQ(std::set<std::uint8_t>(got.hosts.begin(), got.hosts.end()).size(), 10u);
    EXPECT_EQ(got.refused, 0u);
    ASSERT_TRUE(tap->set_up(false));
    send(seal(arp_request(30)));
    EXPECT_TRUE(wait_for([&] { return workers[0]->tap_write_drops() >= 1; }));
    EXPECT_FALSE(workers[0]->failed());
    ASSERT_TRUE(tap->set_up(true));
    rekey(1, 0x41);
    send(seal(arp_request(31)));
    got = receive(1, 5000);
    ASSERT_EQ(got.key_ids.size(), 1u);
    EXPECT_EQ(got.key_ids[0], 1);
    EXPECT_EQ(traffic().drops[static_cast<std::size_t>(DataDrop::no_key)], 0u);
    workers[0]->stop();
    send(seal(arp_request(32)));
    EXPECT_EQ(receive(1, 300).hosts.size(), 0u);  // nobody reads the socket any more
}

// The client's refusal rule (Session::note_refusals) counts ICMP port unreachable on the socket:
// the worker, which reads and sends on its own handle, counts them in the runner's counter. Here
// the server's socket is closed; ARP requests the kernel sends out of the TAP are sealed by the
// worker and refused by the kernel (nobody listens on the port any more).
TEST_F(DataWorkerTest, RefusalsTheWorkerMeetsReachTheRunnersCounter) {
    start(1, true);
    if (HasFatalFailure()) return;
    send(seal(arp_request(2)));
    ASSERT_EQ(receive(1, 5000).hosts.size(), 1u);
    ASSERT_EQ(refusals.load(), 0u);
    server.reset();  // the server process is gone
    auto lo = io::SocketAddress::from_numeric("10.98.0.1", 0);
    ASSERT_TRUE(lo);
    auto probe = io::UdpSocket::open(*lo);
    ASSERT_TRUE(probe) << probe.error().message;
    for (int host = 77; host < 81; ++host) {  // each a new neighbour: an ARP request out of the TAP at once
        auto to = io::SocketAddress::from_numeric("10.98.0." + std::to_string(host), 9);
        ASSERT_TRUE(to);
        const std::uint8_t byte = 0;
        ASSERT_TRUE(probe->send_to(std::span<const std::uint8_t>(&byte, 1), *to));
        wait_for([&] { return refusals.load() > static_cast<std::uint64_t>(host - 77); }, 500);
    }
    EXPECT_GE(refusals.load(), 2u);
    EXPECT_GE(soft_errors.load(), refusals.load());
    EXPECT_FALSE(workers[0]->failed());
}

// A worker on its own thread that meets a refusal wakes the main thread (the client runner, whose
// session then notes it and arms its refusal rule's deadline, Session::note_refusals): a bare wake-up on
// the mailbox's eventfd, no mail (a flood of forged ICMP errors takes no room from the mails).
TEST_F(DataWorkerTest, ARefusalTheWorkerMeetsWakesTheMainThread) {
    start(1);
    if (HasFatalFailure()) return;
    send(seal(arp_request(2)));
    ASSERT_EQ(receive(1, 5000).hosts.size(), 1u);
    std::vector<WorkerMailbox::Mail> mails;
    mailbox->take(mails);  // drains the eventfd
    pollfd quiet{mailbox->fd(), POLLIN, 0};
    ASSERT_EQ(poll(&quiet, 1, 0), 0);
    server.reset();  // the server process is gone
    auto lo = io::SocketAddress::from_numeric("10.98.0.1", 0);
    ASSERT_TRUE(lo);
    auto probe = io::UdpSocket::open(*lo);
    ASSERT_TRUE(probe) << probe.error().message;
    auto to = io::SocketAddress::from_numeric("10.98.0.77", 9);  // a new neighbour: an ARP request out of the TAP
    ASSERT_TRUE(to);
    const std::uint8_t byte = 0;
    ASSERT_TRUE(probe->send_to(std::span<const std::uint8_t>(&byte, 1), *to));
    ASSERT_TRUE(wait_for([&] { return refusals.load() >= 1; }, 2000));
    pollfd woken{mailbox->fd(), POLLIN, 0};
    EXPECT_EQ(poll(&woken, 1, 1000), 1);
    mailbox->take(mails);
    EXPECT_TRUE(mails.empty());
    EXPECT_FALSE(workers[0]->failed());
}

// What the runner tells the session as "last heard" is when the worker opened the packet, not when
// the runner happens to sync its traffic (up to 1 s later: the refusal rule's grace counted from
// there, and a run of refusals noted meanwhile ended, issue 16).
TEST_F(DataWorkerTest, TrafficKeepsTheTimeTheLastPacketWasOpened) {
    start(1, true);
    if (HasFatalFailure()) return;
    EXPECT_EQ(traffic().last_in_ms, 0);
    const std::int64_t before = io::now_ms();
    send(seal(arp_request(2)));
    ASSERT_TRUE(wait_for([&] { return traffic().packets_in >= 1; }));
    const std::int64_t after = io::now_ms();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    run_host();
    const WorkerTraffic t = traffic();
    EXPECT_GE(t.last_in_ms, before);
    EXPECT_LE(t.last_in_ms, after);
}

// And when it last sent one: the session's next ping is due a ping interval after the worker's
// send, not after the runner's traffic sync up to 1 s later (an idle site could then miss a
// crashed hub's down time altogether, stress hub_kill).
TEST_F(DataWorkerTest, TrafficKeepsTheTimeTheLastPacketWasSent) {
    start(1, true);
    if (HasFatalFailure()) return;
    EXPECT_EQ(traffic().last_out_ms, 0);
    const std::int64_t before = io::now_ms();
    send(seal(arp_request(2)));
    ASSERT_EQ(receive(1, 5000).hosts.size(), 1u);  // the kernel's ARP reply, sealed and sent by the worker
    const std::int64_t after = io::now_ms();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    run_host();
    const WorkerTraffic t = traffic();
    EXPECT_GE(t.last_out_ms, before);
    EXPECT_LE(t.last_out_ms, after);
}
