// HubWorker, the hub's pump, against the kernel: a real multi-queue TAP in a private network
// namespace, the shared L2 switch, and sites played on loopback (a UDP socket and a DataChannel
// each, peer-ids of their own). A site's sealed ARP request goes through a worker and the switch to
// the TAP; the kernel's ARP reply comes back through the switch (which learned the requester's MAC
// on the site's port) and a worker, sealed for that site only. One worker on the test's own loop
// (the runner's single-thread mode) and several on threads, a TAP that refuses writes, a key change
// inside one batch (and a key the workers do not have yet: mailed to the session thread), and a
// replay across workers (the key's shared receive window).
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "datapath/hub_worker.hpp"
#include "datapath_test_keys.hpp"
#include "io/tap_device.hpp"
#include "io/udp_socket.hpp"

using namespace wirebridge;
using namespace wirebridge::datapath;
using Bytes = std::vector<std::uint8_t>;

namespace {

void sh(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }

using test::fill_keys;
using test::mirror_keys;

// ARP to and from this test's TAP (10.97.0.0/24, MACs 02:00:00:00:02:xx).
Bytes arp_request(std::uint8_t host) { return test::arp_request(97, 2, host); }
using test::arp_reply_to;

// A site: its socket on loopback (unconnected: it may send to any worker's socket and hears every
// one) and its end of the keys.
struct Site {
    std::uint32_t peer_id = 0;
    std::optional<io::UdpSocket> sock;
    io::SocketAddress addr;
    DataChannel dc;
    std::shared_ptr<HubPeer> hub;  // the hub's entry for it
};

class HubWorkerTest : public ::testing::Test {
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

    // n workers on a TAP of n queues. on_host: one worker on a loop of the test's own thread (the
    // runner's single-thread mode). reuse_port: one SO_REUSEPORT group on one port, as the runner
    // opens it (the kernel picks a worker per site); otherwise a port per worker, so that a site
    // can reach each worker on purpose.
    void start(unsigned n, bool on_host = false, bool reuse_port = true) {
        if (on_host) {
            auto l = io::EventLoop::create();
            ASSERT_TRUE(l);
            host.emplace(std::move(*l));
        }
        auto t = io::TapDevice::open("wbhw0", n);
        ASSERT_TRUE(t) << t.error().message;
        tap.emplace(std::move(*t));
        ASSERT_TRUE(tap->set_ipv4(inet_addr("10.97.0.1"), 24));
        ASSERT_TRUE(tap->set_up(true));
        auto mb = WorkerMailbox::create(64);
        ASSERT_TRUE(mb);
        mailbox = std::move(*mb);
        directory.emplace(n);
        for (unsigned k = 0; k < n; ++k) {
            auto at = io::SocketAddress::from_numeric("127.0.0.1", reuse_port && k > 0 ? hub_ports[0] : 0);
            ASSERT_TRUE(at);
            auto s = io::UdpSocket::open(*at, reuse_port);
            ASSERT_TRUE(s) << s.error().message;
            ASSERT_TRUE(s->enable_gro());
            auto la = s->local_address();
            ASSERT_TRUE(la);
            hub_addrs.push_back(*la);
            hub_ports.push_back(la->port());
            HubWorker::Setup setup;
            setup.index = k;
            setup.tap = &*tap;
            setup.send_block = std::max(1u, 32u / n);
            setup.directory = &*directory;
            setup.sw = &sw;
            setup.switch_mutex = &sw_mutex;
            setup.mailbox = mailbox.get();
            setup.host_loop = host ? &*host : nullptr;
            auto w = HubWorker::start(setup, std::move(*s));
            ASSERT_TRUE(w) << w.error().message;
            workers.push_back(std::move(*w));
        }
    }

    // A site with keys 0 on both ends (primary), a port on the switch and an entry in the directory.
    Site& add_site(std::uint32_t peer_id) {
        auto& site = sites.emplace_back(std::make_unique<Site>());
        site->peer_id = peer_id;
        auto lo = io::SocketAddress::from_numeric("127.0.0.1", 0);
        EXPECT_TRUE(lo);
        auto s = io::UdpSocket::open(*lo);
        EXPECT_TRUE(s) << s.error().message;
        site->sock.emplace(std::move(*s));
        auto a = site->sock->local_address();
        EXPECT_TRUE(a);
        site->addr = *a;
        {
            std::lock_guard<std::mutex> g(sw_mutex);
            sw.add_port(peer_id);
        }
        site->hub = directory->add(peer_id, site->addr);
        rekey(*site, 0, static_cast<std::uint8_t>(0x10 + peer_id * 4));
        return *site;
    }

    // A new key for a site. hub: published to the workers now (as the runner does on keys_ready +
    // keys_primary); site: the site seals with it from now on.
    void rekey(Site& site, std::uint8_t key_id, std::uint8_t fill, bool hub = true, bool at_site = true) {
        auto k = fill_keys(key_id, fill);
        k.peer_id = site.peer_id;
        if (at_site) {
            EXPECT_TRUE(site.dc.install(mirror_keys(k)));
            site.dc.set_primary(key_id);
        }
        if (hub) publish(site, std::move(k));
        else pending_keys.emplace(site.peer_id, std::move(k));
    }
    void publish(Site& site, session::DataKeys k) {
        const std::uint8_t key_id = k.key_id;
        site.hub->keys.install(std::move(k));
        site.hub->keys.set_primary(key_id);
        directory->publish();
        for (auto& w : workers) w->wake();
    }
    void publish_pending(Site& site) {
        auto it = pending_keys.find(site.peer_id);
        ASSERT_NE(it, pending_keys.end());
        publish(site, std::move(it->second));
        pending_keys.erase(it);
    }

    Bytes seal(Site& site, const Bytes& frame) {
        Bytes buf(kHeadroom + frame.size());
        std::memcpy(buf.data() + kHeadroom, frame.data(), frame.size());
        buf.resize(site.dc.seal(buf, frame.size()));
        return buf;
    }
    void send(Site& site, const Bytes& pkt, unsigned worker = 0) {
        auto r = site.sock->send_to(pkt, hub_addrs.at(worker));
        ASSERT_TRUE(r) << r.error().message;
    }

    // What the workers sent the sites within `ms`, opened by each site: the hosts of the ARP
    // replies per site and the key_id each came with. Stops early once `want` replies are in.
    struct Received {
        std::map<std::uint32_t, std::vector<std::uint8_t>> hosts, key_ids;  // by peer-id
        std::size_t replies = 0;
        std::uint64_t refused = 0;
    };
    Received receive(std::size_t want, int ms) {
        Received got;
        io::DatagramBatch rx(32, 2048);
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        while (got.replies < want && std::chrono::steady_clock::now() < end) {
            std::vector<pollfd> p;
            for (auto& s : sites) p.push_back(pollfd{s->sock->fd(), POLLIN, 0});
            poll(p.data(), p.size(), host ? 1 : 50);
            run_host();
            for (auto& s : sites) {
                auto n = s->sock->receive(rx);
                if (!n) continue;
                for (std::size_t i = 0; i < *n; ++i) {
                    std::span<std::uint8_t> pkt = rx.data(i);
                    const std::uint8_t key_id = pkt.empty() ? 0 : pkt[0] & 7;
                    std::span<std::uint8_t> payload;
                    if (s->dc.open(pkt, 0, payload) != DataDrop::none) {
                        ++got.refused;
                        continue;
                    }
                    if (const std::uint8_t h = arp_reply_to(payload)) {
                        got.hosts[s->peer_id].push_back(h);
                        got.key_ids[s->peer_id].push_back(key_id);
                        ++got.replies;
                    }
                }
            }
        }
        return got;
    }

    // The switch's drops of one reason (all ports).
    std::uint64_t switch_drops(SwitchDrop d) {
        std::lock_guard<std::mutex> g(sw_mutex);
        return sw.drops()[static_cast<std::size_t>(d)];
    }
    WorkerTraffic traffic(const Site& s) const { return s.hub->traffic_sum(); }
    HubWorkerCounts counts() const {
        HubWorkerCounts t;
        for (const auto& w : workers) {
            const HubWorkerCounts c = w->counts();
            t.packets_in += c.packets_in;
            t.packets_out += c.packets_out;
            t.frames_from_tap += c.frames_from_tap;
            t.frames_to_tap += c.frames_to_tap;
            t.mailed += c.mailed;
        }
        return t;
    }
    std::vector<WorkerMailbox::Mail> mails() {
        std::vector<WorkerMailbox::Mail> m;
        mailbox->take(m);
        return m;
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

    std::optional<io::EventLoop> host;  // before the workers: they leave it when they stop
    std::optional<io::TapDevice> tap;
    std::optional<HubDirectory> directory;
    L2Switch sw;
    std::mutex sw_mutex;
    std::unique_ptr<WorkerMailbox> mailbox;
    std::vector<io::SocketAddress> hub_addrs;
    std::vector<std::uint16_t> hub_ports;
    std::vector<std::unique_ptr<Site>> sites;
    std::map<std::uint32_t, session::DataKeys> pending_keys;
    std::vector<std::unique_ptr<HubWorker>> workers;  // last: stopped before what they use goes
};

std::set<std::uint8_t> as_set(const std::vector<std::uint8_t>& v) { return {v.begin(), v.end()}; }
std::set<std::uint8_t> range(std::uint8_t from, std::uint8_t to) {
    std::set<std::uint8_t> s;
    for (std::uint8_t h = from; h < to; ++h) s.insert(h);
    return s;
}

}  // namespace

// The runner's single-thread mode: one worker on a loop it does not own (no thread). Two sites'
// frames cross both ways, each site hears only its own replies; a refused TAP write is counted
// and the worker goes on; a key change is taken at once (wake() is a plain
// call); stop() takes its fds off the loop.
TEST_F(HubWorkerTest, OneWorkerOnTheHostLoop) {
    start(1, true);
    if (HasFatalFailure()) return;
    Site& a = add_site(1);
    Site& b = add_site(2);
    for (std::uint8_t h = 2; h < 12; ++h) send(a, seal(a, arp_request(h)));
    for (std::uint8_t h = 12; h < 22; ++h) send(b, seal(b, arp_request(h)));
    Received got = receive(20, 5000);
    EXPECT_EQ(as_set(got.hosts[1]), range(2, 12));
    EXPECT_EQ(as_set(got.hosts[2]), range(12, 22));
    EXPECT_EQ(got.refused, 0u);
    EXPECT_GE(counts().packets_in, 20u);
    EXPECT_GE(traffic(a).packets_in, 10u);
    EXPECT_GE(traffic(b).packets_out, 10u);

    ASSERT_TRUE(tap->set_up(false));  // a TAP that is down refuses writes (EIO)
    send(a, seal(a, arp_request(30)));
    EXPECT_TRUE(wait_for([&] { return switch_drops(SwitchDrop::tap_write) >= 1; }));
    for (const auto& m : mails()) EXPECT_NE(m.kind, WorkerMailbox::Kind::error);
    ASSERT_TRUE(tap->set_up(true));

    rekey(b, 1, 0x41);
    send(b, seal(b, arp_request(31)));
    got = receive(1, 5000);
    ASSERT_EQ(got.key_ids[2].size(), 1u);
    EXPECT_EQ(got.key_ids[2][0], 1);
    EXPECT_EQ(traffic(b).drops[static_cast<std::size_t>(DataDrop::no_key)], 0u);

    workers[0]->stop();
    send(a, seal(a, arp_request(32)));
    EXPECT_EQ(receive(1, 300).replies, 0u);  // nobody reads the socket any more
}

// A refused io_uring batch is as many tap_write drops as it had frames. On the host loop the
// five packets of two sites are all in the socket before the worker reads: one batch, one
// refused flush.
TEST_F(HubWorkerTest, EveryFrameOfARefusedBatchIsADrop) {
    start(1, true);
    if (HasFatalFailure()) return;
    Site& a = add_site(1);
    Site& b = add_site(2);
    ASSERT_TRUE(tap->set_up(false));  // a TAP that is down refuses writes (EIO)
    for (std::uint8_t h = 2; h < 5; ++h) send(a, seal(a, arp_request(h)));
    for (std::uint8_t h = 5; h < 7; ++h) send(b, seal(b, arp_request(h)));
    EXPECT_TRUE(wait_for([&] { return counts().packets_in >= 5; }));
    EXPECT_EQ(switch_drops(SwitchDrop::tap_write), 5u);
    for (const auto& m : mails()) EXPECT_NE(m.kind, WorkerMailbox::Kind::error);
}

// Several workers on threads, a port each, the sites spread over them: every worker opens its
// sites' packets; the replies leave by whichever TAP queue the kernel picked, sealed by that
// queue's worker with ids of the site's key that interleave within the site's replay window.
TEST_F(HubWorkerTest, SeveralWorkersCarryEverySite) {
    start(3, false, false);
    if (HasFatalFailure()) return;
    for (std::uint32_t id = 1; id <= 6; ++id) add_site(id);
    for (std::uint32_t id = 1; id <= 6; ++id) {
        Site& s = *sites[id - 1];
        for (std::uint8_t h = 0; h < 10; ++h)
            send(s, seal(s, arp_request(static_cast<std::uint8_t>(id * 20 + h))), id % 3);
    }
    Received got = receive(60, 8000);
    for (std::uint32_t id = 1; id <= 6; ++id)
        EXPECT_EQ(as_set(got.hosts[id]), range(static_cast<std::uint8_t>(id * 20), static_cast<std::uint8_t>(id * 20 + 10)))
            << "site " << id;
    EXPECT_EQ(got.refused, 0u);  // no replay, no auth failure at any site
    EXPECT_TRUE(wait_for([&] { return counts().packets_in >= 60 && counts().packets_out >= 60; }));
    for (const auto& w : workers) EXPECT_GE(w->counts().packets_in, 20u) << "worker " << w->index();
    for (const auto& s : sites) EXPECT_EQ(traffic(*s).drops[static_cast<std::size_t>(DataDrop::replay)], 0u);
    EXPECT_EQ(counts().mailed, 0u);
}

// The same through one SO_REUSEPORT group (as the runner opens it): wherever the kernel puts a
// site, its frames go both ways.
TEST_F(HubWorkerTest, ReusePortGroupCarriesEverySite) {
    start(2);
    if (HasFatalFailure()) return;
    for (std::uint32_t id = 1; id <= 4; ++id) add_site(id);
    for (std::uint32_t id = 1; id <= 4; ++id) {
        Site& s = *sites[id - 1];
        for (std::uint8_t h = 0; h < 5; ++h) send(s, seal(s, arp_request(static_cast<std::uint8_t>(id * 20 + h))));
    }
    Received got = receive(20, 8000);
    for (std::uint32_t id = 1; id <= 4; ++id)
        EXPECT_EQ(as_set(got.hosts[id]), range(static_cast<std::uint8_t>(id * 20), static_cast<std::uint8_t>(id * 20 + 5)))
            << "site " << id;
    EXPECT_EQ(got.refused, 0u);
}

TEST_F(HubWorkerTest, TapWriteFailureIsCountedAndTheWorkersGoOn) {
    start(2, false, false);
    if (HasFatalFailure()) return;
    Site& a = add_site(1);
    Site& b = add_site(2);
    ASSERT_TRUE(tap->set_up(false));  // a TAP that is down refuses writes (EIO)
    for (std::uint8_t h = 2; h < 5; ++h) send(a, seal(a, arp_request(h)), 0);
    for (std::uint8_t h = 5; h < 8; ++h) send(b, seal(b, arp_request(h)), 1);
    // Both workers took their site's packets (the count is published after the batch's writes),
    // each saw its writes refused: counted in the switch's tap_write drops, one a frame (on the
    // sender's port when write_frame() failed; an io_uring batch that fails at flush counts its
    // frames in the total).
    EXPECT_TRUE(wait_for([&] { return workers[0]->counts().packets_in >= 3 && workers[1]->counts().packets_in >= 3; }));
    EXPECT_EQ(switch_drops(SwitchDrop::tap_write), 6u);
    EXPECT_EQ(receive(1, 300).replies, 0u);  // nothing reached the kernel
    for (const auto& m : mails()) EXPECT_NE(m.kind, WorkerMailbox::Kind::error);
    // Up again: the same workers carry traffic as before.
    ASSERT_TRUE(tap->set_up(true));
    const std::uint64_t drops = switch_drops(SwitchDrop::tap_write);
    send(a, seal(a, arp_request(20)), 0);
    send(b, seal(b, arp_request(21)), 1);
    Received got = receive(2, 5000);
    EXPECT_EQ(as_set(got.hosts[1]), std::set<std::uint8_t>{20});
    EXPECT_EQ(as_set(got.hosts[2]), std::set<std::uint8_t>{21});
    EXPECT_EQ(switch_drops(SwitchDrop::tap_write), drops);
}

// One batch holds packets of two keys: the worker opens both (a key stays until it is retired)
// and answers with the new primary. Packets of a key the worker has not been given yet are not
// dropped: they go, whole, to the session thread (which installs the key from its session's event
// first), and once the key is published the worker opens that key's packets itself.
TEST_F(HubWorkerTest, KeyChangeMidBatch) {
    start(1, true);  // the test's loop: nothing is read until it runs, so what was sent is one batch
    if (HasFatalFailure()) return;
    Site& a = add_site(1);
    for (std::uint8_t h = 2; h < 8; ++h) send(a, seal(a, arp_request(h)));
    rekey(a, 1, 0x51);  // published at the hub and used by the site: key 0 and key 1 in one batch
    for (std::uint8_t h = 8; h < 14; ++h) send(a, seal(a, arp_request(h)));
    Received got = receive(12, 5000);
    EXPECT_EQ(as_set(got.hosts[1]), range(2, 14));
    EXPECT_EQ(as_set(got.key_ids[1]), std::set<std::uint8_t>{1});  // the replies: the primary, key 1
    EXPECT_EQ(got.refused, 0u);
    EXPECT_EQ(traffic(a).drops[static_cast<std::size_t>(DataDrop::no_key)], 0u);

    // Key 2 at the site before the hub published it: mixed in one batch with key 1's packets.
    for (std::uint8_t h = 20; h < 23; ++h) send(a, seal(a, arp_request(h)));
    rekey(a, 2, 0x61, false);
    std::vector<Bytes> early;
    for (std::uint8_t h = 23; h < 26; ++h) {
        early.push_back(seal(a, arp_request(h)));
        send(a, early.back());
    }
    got = receive(3, 5000);
    EXPECT_EQ(as_set(got.hosts[1]), range(20, 23));
    std::vector<WorkerMailbox::Mail> m;
    EXPECT_TRUE(wait_for([&] {
        for (auto& x : mails()) m.push_back(std::move(x));
        return m.size() >= early.size();
    }));
    ASSERT_EQ(m.size(), early.size());
    for (std::size_t i = 0; i < m.size(); ++i) {
        EXPECT_EQ(m[i].kind, WorkerMailbox::Kind::packet);
        EXPECT_EQ(m[i].from, a.addr);
        EXPECT_EQ(m[i].bytes, early[i]);
    }
    EXPECT_EQ(counts().mailed, early.size());
    // Published now: the worker opens key 2's packets and answers with it.
    publish_pending(a);
    send(a, seal(a, arp_request(30)));
    got = receive(1, 5000);
    ASSERT_EQ(got.key_ids[1].size(), 1u);
    EXPECT_EQ(got.hosts[1][0], 30);
    EXPECT_EQ(got.key_ids[1][0], 2);
    EXPECT_EQ(got.refused, 0u);
}

// One packet of a site reaches two workers (a port each): the second refuses it as a replay, as
// does the main thread's DataChannel installed from the published key (as the runner installs
// it): one receive window per key, whoever opens.
TEST_F(HubWorkerTest, ReplayIsRefusedAcrossWorkers) {
    start(2, false, false);
    if (HasFatalFailure()) return;
    Site& a = add_site(1);
    const auto set = a.hub->keys.current();
    ASSERT_TRUE(set->slots[0]);
    DataChannel main_dc;
    ASSERT_TRUE(main_dc.install(set->slots[0]->keys, set->slots[0]->replay));
    const Bytes pkt = seal(a, arp_request(7));
    send(a, pkt, 0);
    Received got = receive(1, 5000);
    ASSERT_EQ(got.hosts[1].size(), 1u);
    send(a, pkt, 1);  // the same packet again, to the other worker
    EXPECT_TRUE(wait_for([&] { return traffic(a).drops[static_cast<std::size_t>(DataDrop::replay)] == 1; }));
    EXPECT_EQ(receive(1, 300).replies, 0u);  // one reply only
    EXPECT_TRUE(wait_for([&] { return workers[0]->counts().packets_in == 1; }));
    EXPECT_EQ(workers[1]->counts().packets_in, 0u);
    Bytes again = pkt;
    std::span<std::uint8_t> payload;
    EXPECT_EQ(main_dc.open(again, 0, payload), DataDrop::replay);
    // A fresh packet is still fine on the other worker and on that thread.
    send(a, seal(a, arp_request(8)), 1);
    got = receive(1, 5000);
    EXPECT_EQ(as_set(got.hosts[1]), std::set<std::uint8_t>{8});
    // (the reply may leave by the other worker before this one published its batch's counts)
    EXPECT_TRUE(wait_for([&] { return workers[1]->counts().packets_in == 1; }));
    Bytes fresh = seal(a, arp_request(9));
    EXPECT_EQ(main_dc.open(fresh, 0, payload), DataDrop::none);
}
