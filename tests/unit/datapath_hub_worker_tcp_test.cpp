// HubWorker over TCP, against the kernel: a real TAP in a private network namespace, the shared L2
// switch, and sites played on loopback TCP (a connected TcpLink and a DataChannel each, peer-ids of
// their own), the worker on the test's own loop as the server runner runs it, each accepted link
// handed over with add_link(). A site's sealed ARP request goes through the worker and the switch
// to the TAP; the kernel's reply comes back sealed on that site's link only. Control packets (and
// data of a key not published yet) are mailed in stream order with the link's peer; the session's
// packets go out on the right link; a link's end (the site closed, a refused length, close_link())
// is reported with its reason and ends that link alone; a site that does not read does not stop
// the others (its link drops beyond its hard limit, in order, each drop counted as tcp_link_full,
// and the TAP is read on).
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "datapath/hub_worker.hpp"
#include "datapath_test_keys.hpp"
#include "io/tcp_link.hpp"
#include "io/tcp_socket.hpp"
#include "proto/constants.hpp"
#include "proto/data_packet.hpp"
#include "proto/keepalive.hpp"

using namespace wirebridge;
using namespace wirebridge::datapath;
using Bytes = std::vector<std::uint8_t>;

namespace {

void sh(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }

// ARP to and from this test's TAP (10.97.0.0/24, MACs 02:00:00:00:02:xx).
Bytes arp_request(std::uint8_t host) { return test::arp_request(97, 2, host); }

// A control packet as the session would see it: P_CONTROL_V1 (key 0), a sequence number in bytes
// 1-2, a marker after.
Bytes control_packet(std::size_t seq, std::size_t size = 16, std::uint8_t marker = 0x5a) {
    Bytes p(size, marker);
    p[0] = proto::op_byte(proto::Opcode::control_v1, 0);
    p[1] = static_cast<std::uint8_t>(seq >> 8);
    p[2] = static_cast<std::uint8_t>(seq);
    return p;
}
std::size_t seq_of(const Bytes& p) { return p.size() < 3 ? 0 : (std::size_t{p[1]} << 8) | p[2]; }

// A site: its end of the stream (connected to the hub's listener), its address as the hub sees it
// (the accepted link's peer) and its end of the keys.
struct Site {
    std::uint32_t peer_id = 0;
    std::optional<io::TcpLink> link;
    io::SocketAddress addr;
    DataChannel dc;
    std::shared_ptr<HubPeer> hub;  // the hub's entry for it
};

class HubWorkerTcpTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root for a private network namespace";
        if (unshare(CLONE_NEWNET) != 0) GTEST_SKIP() << "unshare(CLONE_NEWNET): " << std::strerror(errno);
        sh("ip link set lo up");
        // No IPv6 chatter (router solicitations, MLD) on the TAP: only the ARP replies come back.
        sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
    }
    void TearDown() override {
        if (worker) worker->stop();
        worker.reset();
    }

    // What every worker of the test shares (the TAP, the directory, the switch, the mailbox); no
    // host loop yet.
    HubWorker::Setup shared_setup() {
        HubWorker::Setup setup;
        setup.tap = &*tap;
        setup.directory = &*directory;
        setup.sw = &sw;
        setup.switch_mutex = &sw_mutex;
        setup.mailbox = mailbox.get();
        return setup;
    }

    void start() {
        auto l = io::EventLoop::create();
        ASSERT_TRUE(l);
        host.emplace(std::move(*l));
        auto t = io::TapDevice::open("wbht0", 1);
        ASSERT_TRUE(t) << t.error().message;
        tap.emplace(std::move(*t));
        ASSERT_TRUE(tap->set_ipv4(inet_addr("10.97.0.1"), 24));
        ASSERT_TRUE(tap->set_up(true));
        auto mb = WorkerMailbox::create(64);
        ASSERT_TRUE(mb);
        mailbox = std::move(*mb);
        directory.emplace(1);
        auto listen = io::TcpListener::open(*io::SocketAddress::from_numeric("127.0.0.1", 0));
        ASSERT_TRUE(listen) << listen.error().message;
        listener.emplace(std::move(*listen));
        HubWorker::Setup setup = shared_setup();
        setup.host_loop = &*host;
        setup.link_ended = [this](const io::SocketAddress& peer, const std::string& why) { ended.emplace_back(peer, why); };
        auto w = HubWorker::start_tcp(setup);
        ASSERT_TRUE(w) << w.error().message;
        worker = std::move(*w);
    }

    // A site connected to the hub (its link handed to the worker); with `keys`, a port on the switch,
    // an entry in the directory and key 0 on both ends. small_buffers: 64 KB socket buffers on the
    // way to the site (the kernel doubles them), so that the hub's link queue fills when it does
    // not read.
    Site& add_site(std::uint32_t peer_id, bool keys = true, bool small_buffers = false) {
        auto& site = sites.emplace_back(std::make_unique<Site>());
        site->peer_id = peer_id;
        auto at = listener->local_address();
        EXPECT_TRUE(at);
        auto c = io::TcpStream::connect(*at);
        EXPECT_TRUE(c) << c.error().message;
        const int small = 64 * 1024;
        if (small_buffers) setsockopt(c->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        pollfd pw{c->fd(), POLLOUT, 0};
        EXPECT_EQ(poll(&pw, 1, 2000), 1);
        site->link.emplace(std::move(*c), false);
        EXPECT_TRUE(site->link->finish_connect());
        pollfd pa{listener->fd(), POLLIN, 0};
        EXPECT_EQ(poll(&pa, 1, 2000), 1);
        auto a = listener->accept();
        EXPECT_TRUE(a && a->has_value());
        if (small_buffers) setsockopt((*a)->fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
        site->addr = (*a)->peer();
        EXPECT_TRUE(worker->add_link(io::TcpLink(std::move(**a), true)));
        if (keys) {
            {
                std::lock_guard<std::mutex> g(sw_mutex);
                sw.add_port(peer_id);
            }
            site->hub = directory->add(peer_id, site->addr);
            auto k = test::fill_keys(0, static_cast<std::uint8_t>(0x10 + peer_id * 4));
            k.peer_id = peer_id;
            EXPECT_TRUE(site->dc.install(test::mirror_keys(k)));
            site->dc.set_primary(0);
            site->hub->keys.install(std::move(k));
            site->hub->keys.set_primary(0);
            directory->publish();
            worker->wake();
        }
        return *site;
    }

    Bytes seal(Site& site, const Bytes& frame) {
        Bytes buf(kHeadroom + frame.size());
        std::memcpy(buf.data() + kHeadroom, frame.data(), frame.size());
        buf.resize(site.dc.seal(buf, frame.size()));
        return buf;
    }
    void send(Site& site, const Bytes& pkt) {
        ASSERT_TRUE(site.link->queue(pkt));
        ASSERT_TRUE(site.link->flush());
        ASSERT_EQ(site.link->pending(), 0u);
    }
    void run_host() { ASSERT_TRUE(host->run_once(std::chrono::milliseconds(2))); }

    // What the sites read within `ms` (the worker's loop running meanwhile), by peer-id: the hosts of
    // the ARP replies each opened, and the packets that are not data (the session's), in order.
    // Stops early once `want_hosts` replies and `want_others` other packets are in. `readers`: the
    // sites that read (all if empty).
    struct Received {
        std::map<std::uint32_t, std::vector<std::uint8_t>> hosts;
        std::map<std::uint32_t, std::vector<Bytes>> others;
        std::map<std::uint32_t, std::size_t> data;  // data packets read, opened or not
        std::size_t replies = 0, other_count = 0, refused = 0;
        std::set<std::uint32_t> ended;  // sites whose stream ended
    };
    Received receive(std::size_t want_hosts, std::size_t want_others, int ms, std::set<std::uint32_t> readers = {}) {
        Received got;
        io::DatagramBatch rx(32, 2048);
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        while ((got.replies < want_hosts || got.other_count < want_others) && std::chrono::steady_clock::now() < end) {
            run_host();
            for (auto& s : sites) {
                if (!s->link || (!readers.empty() && !readers.count(s->peer_id)) || got.ended.count(s->peer_id)) continue;
                auto n = s->link->receive(rx);
                if (!n) {
                    got.ended.insert(s->peer_id);
                    continue;
                }
                if (*n == 0 && s->link->ended()) got.ended.insert(s->peer_id);
                for (std::size_t i = 0; i < *n; ++i) {
                    std::span<std::uint8_t> pkt = rx.data(i);
                    if (!proto::is_data_packet(pkt)) {
                        got.others[s->peer_id].emplace_back(pkt.begin(), pkt.end());
                        ++got.other_count;
                        continue;
                    }
                    ++got.data[s->peer_id];
                    std::span<std::uint8_t> payload;
                    if (s->dc.open(pkt, 0, payload) != DataDrop::none) {
                        ++got.refused;
                        continue;
                    }
                    if (const std::uint8_t h = test::arp_reply_to(payload)) {
                        got.hosts[s->peer_id].push_back(h);
                        ++got.replies;
                    }
                }
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
    std::vector<WorkerMailbox::Mail> mails() {
        std::vector<WorkerMailbox::Mail> m;
        mailbox->take(m);
        return m;
    }
    // Whether the site's end of the stream saw the hub close it (within `ms`).
    bool closed_by_hub(Site& s, int ms = 3000) {
        io::DatagramBatch rx(8, 2048);
        return wait_for(
            [&] {
                auto n = s.link->receive(rx);
                return !n || (*n == 0 && s.link->ended());
            },
            ms);
    }

    std::optional<io::EventLoop> host;  // before the worker: it leaves the loop when it stops
    std::optional<io::TapDevice> tap;
    std::optional<HubDirectory> directory;
    std::optional<io::TcpListener> listener;
    L2Switch sw;
    std::mutex sw_mutex;
    std::unique_ptr<WorkerMailbox> mailbox;
    std::vector<std::unique_ptr<Site>> sites;
    std::vector<std::pair<io::SocketAddress, std::string>> ended;  // what link_ended was told
    std::unique_ptr<HubWorker> worker;  // last: stopped before what it uses goes
};

std::set<std::uint8_t> as_set(const std::vector<std::uint8_t>& v) { return {v.begin(), v.end()}; }
std::set<std::uint8_t> range(std::uint8_t from, std::uint8_t to) {
    std::set<std::uint8_t> s;
    for (std::uint8_t h = from; h < to; ++h) s.insert(h);
    return s;
}

// Several packets in one write: the worker cuts them from its reads, whatever the segments were.
void send_burst(Site& site, const std::vector<Bytes>& pkts) {
    Bytes burst;
    for (const Bytes& p : pkts) {
        burst.push_back(static_cast<std::uint8_t>(p.size() >> 8));
        burst.push_back(static_cast<std::uint8_t>(p.size()));
        burst.insert(burst.end(), p.begin(), p.end());
    }
    ASSERT_EQ(::send(site.link->fd(), burst.data(), burst.size(), 0), static_cast<ssize_t>(burst.size()));
}

}  // namespace

TEST_F(HubWorkerTcpTest, OnlyOnAHostLoop) {
    start();
    if (HasFatalFailure()) return;
    auto w = HubWorker::start_tcp(shared_setup());  // no host loop
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error().code, EINVAL);
}

// Two sites' frames cross both ways; each site hears only its own replies; the counters and each
// site's traffic slot say so.
TEST_F(HubWorkerTcpTest, FramesCrossBothWaysForTwoSites) {
    start();
    if (HasFatalFailure()) return;
    Site& a = add_site(1);
    Site& b = add_site(2);
    if (HasFailure()) return;
    EXPECT_EQ(worker->link_count(), 2u);
    std::vector<Bytes> pa, pb;
    for (std::uint8_t h = 2; h < 22; ++h) pa.push_back(seal(a, arp_request(h)));
    for (std::uint8_t h = 22; h < 42; ++h) pb.push_back(seal(b, arp_request(h)));
    send_burst(a, pa);
    send_burst(b, pb);
    const Received got = receive(40, 0, 5000);
    EXPECT_EQ(as_set(got.hosts.at(1)), range(2, 22));
    EXPECT_EQ(as_set(got.hosts.at(2)), range(22, 42));
    EXPECT_EQ(got.refused, 0u);
    EXPECT_TRUE(got.others.empty());
    EXPECT_TRUE(wait_for([&] { return worker->counts().packets_in >= 40 && worker->counts().packets_out >= 40; }));
    EXPECT_GE(a.hub->traffic_sum().packets_in, 20u);
    EXPECT_GE(b.hub->traffic_sum().packets_out, 20u);
    EXPECT_EQ(worker->counts().mailed, 0u);
    EXPECT_EQ(worker->counts().tcp_link_full, 0u);  // both read: nothing dropped at a link's limit
    EXPECT_TRUE(ended.empty());
}

// What is the session's comes to the mailbox in stream order with the link's peer as its source:
// control packets and data of a key the worker does not have yet (between them, data it opens
// itself goes on to the TAP). From a link of no client (not in the directory) only what may start
// a session is mailed; the rest is refused.
TEST_F(HubWorkerTcpTest, TheSessionsPacketsAreMailedInStreamOrder) {
    start();
    if (HasFatalFailure()) return;
    Site& a = add_site(1);
    Site& stranger = add_site(9, false);
    if (HasFailure()) return;
    auto k1 = test::fill_keys(1, 0x61);  // only the site has key 1 so far
    k1.peer_id = 1;
    ASSERT_TRUE(a.dc.install(test::mirror_keys(k1)));
    std::vector<Bytes> burst{control_packet(1)};
    a.dc.set_primary(1);
    burst.push_back(seal(a, arp_request(40)));  // key 1: mailed
    a.dc.set_primary(0);
    burst.push_back(seal(a, arp_request(41)));  // key 0: opened here
    burst.push_back(control_packet(2));
    const Bytes ping(proto::kPingMagic.begin(), proto::kPingMagic.end());
    burst.push_back(seal(a, ping));  // opened here, its payload mailed (keepalive)
    send_burst(a, burst);
    Bytes reset(20, 0x11);
    reset[0] = proto::op_byte(proto::Opcode::control_hard_reset_client_v2, 0);
    Bytes junk(40, 0x22);
    junk[0] = proto::op_byte(proto::Opcode::data_v2, 0);
    send(stranger, junk);  // data of nobody's: refused
    send(stranger, reset);
    const Received got = receive(1, 0, 5000);
    ASSERT_EQ(got.hosts.at(1).size(), 1u);
    EXPECT_EQ(got.hosts.at(1)[0], 41);
    std::vector<WorkerMailbox::Mail> m;
    ASSERT_TRUE(wait_for([&] {
        for (auto& x : mails()) m.push_back(std::move(x));
        return m.size() >= 5;
    }));
    ASSERT_EQ(m.size(), 5u);
    std::vector<WorkerMailbox::Mail> from_a, from_stranger;
    for (auto& x : m) (x.from == a.addr ? from_a : from_stranger).push_back(std::move(x));
    ASSERT_EQ(from_a.size(), 4u);
    EXPECT_EQ(from_a[0].kind, WorkerMailbox::Kind::packet);
    EXPECT_EQ(from_a[0].bytes, control_packet(1));
    EXPECT_EQ(from_a[1].bytes, burst[1]);
    EXPECT_EQ(from_a[2].bytes, control_packet(2));
    EXPECT_EQ(from_a[3].kind, WorkerMailbox::Kind::payload);  // a batch's opened payloads come after its packets
    EXPECT_EQ(from_a[3].peer_id, 1u);
    EXPECT_EQ(from_a[3].bytes, ping);
    ASSERT_EQ(from_stranger.size(), 1u);
    EXPECT_EQ(from_stranger[0].from, stranger.addr);
    EXPECT_EQ(from_stranger[0].bytes, reset);
    EXPECT_EQ(worker->counts().mailed, 5u);
    EXPECT_EQ(mailbox->filtered(), 1u);
    EXPECT_TRUE(ended.empty());
}

// The session's own packets go out on the link of the address they are for, in order, before and
// after data; a packet for an address without a link goes nowhere.
TEST_F(HubWorkerTcpTest, TheSessionsPacketsGoOutOnTheRightLink) {
    start();
    if (HasFatalFailure()) return;
    Site& a = add_site(1);
    Site& b = add_site(2);
    if (HasFailure()) return;
    for (std::size_t i = 1; i <= 3; ++i) worker->queue_packet(a.addr, control_packet(i, 100 * i));
    worker->queue_packet(b.addr, control_packet(7));
    worker->queue_packet(*io::SocketAddress::from_numeric("127.0.0.1", 9), control_packet(8));
    worker->flush_packets();
    send(a, seal(a, arp_request(5)));
    const Received got = receive(1, 4, 5000);
    ASSERT_EQ(got.others.at(1).size(), 3u);
    for (std::size_t i = 1; i <= 3; ++i) EXPECT_EQ(got.others.at(1)[i - 1], control_packet(i, 100 * i));
    ASSERT_EQ(got.others.at(2).size(), 1u);
    EXPECT_EQ(got.others.at(2)[0], control_packet(7));
    EXPECT_EQ(as_set(got.hosts.at(1)), std::set<std::uint8_t>{5});
}

// A site that closes its end: the worker closes the link and says so, with the reason; the other
// site goes on.
TEST_F(HubWorkerTcpTest, ASiteClosingIsReported) {
    start();
    if (HasFatalFailure()) return;
    Site& a = add_site(1);
    Site& b = add_site(2);
    if (HasFailure()) return;
    const io::SocketAddress gone = a.addr;
    a.link.reset();
    ASSERT_TRUE(wait_for([&] { return !ended.empty(); }));
    ASSERT_EQ(ended.size(), 1u);
    EXPECT_EQ(ended[0].first, gone);
    EXPECT_EQ(ended[0].second, "end of stream");
    EXPECT_EQ(worker->link_count(), 1u);
    send(b, seal(b, arp_request(6)));
    const Received got = receive(1, 0, 5000);
    EXPECT_EQ(as_set(got.hosts.at(2)), std::set<std::uint8_t>{6});
    worker->queue_packet(gone, control_packet(1));  // its link is gone: nothing happens
    worker->flush_packets();
    EXPECT_EQ(ended.size(), 1u);
}

// The runner closes a link (handshake timeout, its session ended): closed at once, reported with
// the runner's reason, the site sees its end.
TEST_F(HubWorkerTcpTest, CloseLinkClosesIt) {
    start();
    if (HasFatalFailure()) return;
    Site& a = add_site(1);
    Site& b = add_site(2);
    if (HasFailure()) return;
    worker->close_link(a.addr, "no authenticated session within limits.tcp_handshake_timeout (3 s)");
    ASSERT_EQ(ended.size(), 1u);
    EXPECT_EQ(ended[0].first, a.addr);
    EXPECT_EQ(ended[0].second, "no authenticated session within limits.tcp_handshake_timeout (3 s)");
    EXPECT_EQ(worker->link_count(), 1u);
    EXPECT_TRUE(closed_by_hub(a));
    worker->close_link(a.addr, "again");  // no such link any more
    EXPECT_EQ(ended.size(), 1u);
    send(b, seal(b, arp_request(7)));
    EXPECT_EQ(receive(1, 0, 5000).replies, 1u);
}

// A refused length (the stream cannot be resynchronised) ends that link alone, with the reason.
TEST_F(HubWorkerTcpTest, ARefusedLengthEndsOnlyThatLink) {
    start();
    if (HasFatalFailure()) return;
    Site& a = add_site(1);
    Site& b = add_site(2);
    if (HasFailure()) return;
    send(a, seal(a, arp_request(3)));  // a whole packet before it is still taken
    const std::uint8_t oversized[] = {0x08, 0x01, 0, 0};  // 2049 bytes announced
    ASSERT_EQ(::send(a.link->fd(), oversized, sizeof oversized, 0), 4);
    ASSERT_TRUE(wait_for([&] { return !ended.empty(); }));
    ASSERT_EQ(ended.size(), 1u);
    EXPECT_EQ(ended[0].first, a.addr);
    EXPECT_NE(ended[0].second.find("oversized packet on TCP"), std::string::npos) << ended[0].second;
    EXPECT_TRUE(wait_for([&] { return worker->counts().packets_in >= 1; }));
    EXPECT_TRUE(closed_by_hub(a));
    send(b, seal(b, arp_request(8)));
    const Received got = receive(1, 0, 5000, {2});
    EXPECT_EQ(as_set(got.hosts.at(2)), std::set<std::uint8_t>{8});
    EXPECT_EQ(ended.size(), 1u);
}

// A site that does not read: its link queues up to its hard limit and drops the rest (what it
// gets later comes in order), its link stays up; meanwhile the TAP is read on and
// another site's frames cross both ways. Every packet its link refused, the session's and the data
// path's, is a tcp_link_full drop, and nothing else is.
TEST_F(HubWorkerTcpTest, ASlowSiteDoesNotStopTheOthers) {
    start();
    if (HasFatalFailure()) return;
    Site& a = add_site(1);
    Site& slow = add_site(2, true, true);
    if (HasFailure()) return;
    const std::size_t count = 3000;  // 3 MB: some 300 KB in the sockets, 2 MB queued, the rest dropped
    for (std::size_t i = 0; i < count; ++i) {
        worker->queue_packet(slow.addr, control_packet(i, 1000));
        if (i % 100 == 99) worker->flush_packets();
    }
    worker->flush_packets();
    for (int i = 0; i < 20; ++i) run_host();
    EXPECT_GT(worker->counts().tcp_link_full, 0u);
    // The data path's way to the full link: the slow site asks, the kernel's reply is sealed for it.
    send(slow, seal(slow, arp_request(40)));
    EXPECT_TRUE(wait_for([&] { return slow.hub->traffic_sum().packets_out >= 1; }));
    for (std::uint8_t round = 0; round < 3; ++round) {
        std::vector<Bytes> burst;
        for (std::uint8_t h = 0; h < 10; ++h) burst.push_back(seal(a, arp_request(static_cast<std::uint8_t>(2 + round * 10 + h))));
        send_burst(a, burst);
        const Received got = receive(10, 0, 5000, {1});
        EXPECT_EQ(as_set(got.hosts.at(1)), range(static_cast<std::uint8_t>(2 + round * 10), static_cast<std::uint8_t>(12 + round * 10)))
            << "round " << int(round);
    }
    EXPECT_TRUE(ended.empty());
    // The slow site reads now: what was queued, in order (the rest was dropped).
    Received first = receive(0, 2000, 15000, {2});
    std::vector<Bytes> others = first.others[2];
    std::size_t data_read = first.data[2];
    for (Received more; !(more = receive(0, count - others.size(), 1000, {2})).others[2].empty() || more.data[2] != 0;) {
        others.insert(others.end(), more.others[2].begin(), more.others[2].end());
        data_read += more.data[2];
    }
    EXPECT_GE(others.size(), 2000u);
    EXPECT_LT(others.size(), count);
    // In order, none twice. Not always a gap-free prefix: while the site does not read, the kernel
    // may still take a few more bytes (its receive queue collapsed), and a packet refused before
    // that is followed by ones queued after.
    for (std::size_t i = 1; i < others.size(); ++i) ASSERT_LT(seq_of(others[i - 1]), seq_of(others[i])) << i;
    // Counted exactly: the session's packets that did not arrive and the sealed ones that did not.
    const std::uint64_t sealed = slow.hub->traffic_sum().packets_out;
    ASSERT_GE(sealed, data_read);
    EXPECT_GT(sealed, data_read);  // the reply to 40 at least: the link was still over its limit
    EXPECT_EQ(worker->counts().tcp_link_full, (count - others.size()) + (sealed - data_read))
        << "session packets read " << others.size() << " of " << count << ", data packets read " << data_read << " of "
        << sealed;
    // Drained: its link carries its frames again.
    send(slow, seal(slow, arp_request(50)));
    EXPECT_EQ(as_set(receive(1, 0, 5000, {2}).hosts[2]), std::set<std::uint8_t>{50});
    EXPECT_TRUE(ended.empty());
    EXPECT_EQ(worker->link_count(), 2u);
}

// A TAP that refuses writes (down: EIO): each frame is a tap_write drop on the switch (status), the
// worker and the link go on, and once the TAP is up frames cross again.
TEST_F(HubWorkerTcpTest, ARefusedTapWriteIsCountedAndTheLinksGoOn) {
    start();
    if (HasFatalFailure()) return;
    Site& a = add_site(1);
    if (HasFailure()) return;
    ASSERT_TRUE(tap->set_up(false));
    std::vector<Bytes> burst;
    for (std::uint8_t h = 2; h < 5; ++h) burst.push_back(seal(a, arp_request(h)));
    send_burst(a, burst);
    const auto tap_write_drops = [&] {
        std::lock_guard<std::mutex> g(sw_mutex);
        return sw.drops()[static_cast<std::size_t>(SwitchDrop::tap_write)];
    };
    EXPECT_TRUE(wait_for([&] { return tap_write_drops() >= 3; }));
    EXPECT_EQ(tap_write_drops(), 3u);
    for (const auto& m : mails()) EXPECT_NE(m.kind, WorkerMailbox::Kind::error);
    ASSERT_TRUE(tap->set_up(true));
    send(a, seal(a, arp_request(9)));
    EXPECT_EQ(as_set(receive(1, 0, 5000).hosts[1]), std::set<std::uint8_t>{9});
    EXPECT_TRUE(ended.empty());
}
