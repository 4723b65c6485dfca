// Tests of TapWriter against the kernel: a TCP peer played through a TAP in a private netns; segments merged into one GSO write arrive intact.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "io/gso_splitter.hpp"
#include "io/tap_reader.hpp"
#include "io/tap_writer.hpp"

using namespace wirebridge::io;

namespace {

using Bytes = std::vector<std::uint8_t>;

class TapWriterTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root for a private network namespace";
        if (unshare(CLONE_NEWNET) != 0) GTEST_SKIP() << "unshare(CLONE_NEWNET): " << std::strerror(errno);
    }
};

void sh(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }

const std::uint8_t kPeerMac[6] = {2, 0, 0, 0, 0, 0x22};
constexpr std::uint16_t kPeerPort = 40000, kPort = 7000;

// The remote end of the connection, speaking raw IPv4/TCP frames through the TAP.
struct Peer {
    std::uint8_t tap_mac[6];
    std::uint32_t seq = 1000;  // ours
    std::uint32_t ack = 0;     // theirs, next expected
    std::uint16_t ip_id = 1;

    Bytes frame(std::uint8_t flags, const Bytes& payload, bool df = true) {
        Bytes f(14 + 20 + 20 + payload.size());
        std::memcpy(f.data(), tap_mac, 6);
        std::memcpy(f.data() + 6, kPeerMac, 6);
        f[12] = 0x08;
        std::uint8_t* ip = f.data() + 14;
        const std::size_t tot = 40 + payload.size();
        const std::uint8_t hdr[20] = {0x45, 0, static_cast<std::uint8_t>(tot >> 8), static_cast<std::uint8_t>(tot),
                                      static_cast<std::uint8_t>(ip_id >> 8), static_cast<std::uint8_t>(ip_id),
                                      static_cast<std::uint8_t>(df ? 0x40 : 0), 0, 64, 6, 0, 0, 10, 97, 0, 2, 10, 97, 0, 1};
        std::memcpy(ip, hdr, 20);
        ++ip_id;
        const std::uint16_t ipsum = static_cast<std::uint16_t>(~ones_complement_sum({ip, 20}));
        ip[10] = static_cast<std::uint8_t>(ipsum >> 8);
        ip[11] = static_cast<std::uint8_t>(ipsum);
        std::uint8_t* t = ip + 20;
        const std::uint8_t th[20] = {kPeerPort >> 8, kPeerPort & 0xff, kPort >> 8, kPort & 0xff,
                                     static_cast<std::uint8_t>(seq >> 24), static_cast<std::uint8_t>(seq >> 16),
                                     static_cast<std::uint8_t>(seq >> 8), static_cast<std::uint8_t>(seq),
                                     static_cast<std::uint8_t>(ack >> 24), static_cast<std::uint8_t>(ack >> 16),
                                     static_cast<std::uint8_t>(ack >> 8), static_cast<std::uint8_t>(ack),
                                     0x50, flags, 0xff, 0xff, 0, 0, 0, 0};
        std::memcpy(t, th, 20);
        if (!payload.empty()) std::memcpy(t + 20, payload.data(), payload.size());
        const std::size_t tcp_len = 20 + payload.size();
        const std::uint16_t pseudo = ones_complement_sum({ip + 12, 8}, 6 + static_cast<std::uint32_t>(tcp_len));
        const std::uint16_t sum = static_cast<std::uint16_t>(~ones_complement_sum({t, tcp_len}, pseudo));
        t[16] = static_cast<std::uint8_t>(sum >> 8);
        t[17] = static_cast<std::uint8_t>(sum);
        seq += static_cast<std::uint32_t>(payload.size()) + ((flags & 0x02) ? 1 : 0);
        return f;
    }
};

// Reads frames from the TAP until one is a TCP segment from the listener with `flags` set.
bool wait_tcp(TapReader& reader, TapDevice& tap, std::uint8_t flags, Bytes& out) {
    std::uint8_t buf[GsoSplitter::kMaxWireFrame];
    for (int i = 0; i < 100; ++i) {
        auto r = reader.read_frame(buf);
        if (!r) return false;
        if (r->would_block) {
            pollfd p{tap.fd(), POLLIN, 0};
            poll(&p, 1, 50);
            continue;
        }
        if (r->bytes >= 54 && buf[12] == 0x08 && buf[23] == 6 && (buf[14 + 20 + 13] & flags) == flags) {
            out.assign(buf, buf + r->bytes);
            return true;
        }
    }
    return false;
}

std::uint32_t be32(const std::uint8_t* p) { return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3]; }

}  // namespace

TEST_F(TapWriterTest, MergedSegmentsReachTheSocketIntact) {
    auto tap = TapDevice::open("wbio-gro");
    ASSERT_TRUE(tap) << tap.error().message;
    ASSERT_TRUE(tap->enable_offload());
    ASSERT_TRUE(tap->set_ipv4(inet_addr("10.97.0.1"), 24));
    ASSERT_TRUE(tap->set_up(true));
    sh("ip neigh replace 10.97.0.2 lladdr 02:00:00:00:00:22 dev wbio-gro nud permanent");
    auto mac = tap->mac();
    ASSERT_TRUE(mac);

    const int ls = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(kPort);
    a.sin_addr.s_addr = inet_addr("10.97.0.1");
    const int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ASSERT_EQ(bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(listen(ls, 1), 0);

    TapReader reader(*tap);
    TapWriter writer(*tap);
    Peer peer;
    std::memcpy(peer.tap_mac, mac->data(), 6);

    // Handshake.
    ASSERT_TRUE(writer.write_frame(peer.frame(0x02, {})));
    ASSERT_TRUE(writer.flush());
    Bytes synack;
    ASSERT_TRUE(wait_tcp(reader, *tap, 0x12, synack)) << "no SYN-ACK";
    peer.ack = be32(synack.data() + 14 + 20 + 4) + 1;
    ASSERT_TRUE(writer.write_frame(peer.frame(0x10, {})));
    ASSERT_TRUE(writer.flush());
    pollfd lp{ls, POLLIN, 0};
    ASSERT_EQ(poll(&lp, 1, 2000), 1);
    const int cs = accept(ls, nullptr, nullptr);
    ASSERT_GE(cs, 0);

    // Four full segments and a short one with PSH: one write. Then a segment out of sequence
    // (a gap) and an ACK-less frame: each on its own, in order.
    Bytes sent;
    const auto before = writer.counters();
    for (int i = 0; i < 5; ++i) {
        Bytes payload(i < 4 ? 1000 : 300);
        for (std::size_t j = 0; j < payload.size(); ++j) payload[j] = static_cast<std::uint8_t>(sent.size() + j);
        sent.insert(sent.end(), payload.begin(), payload.end());
        ASSERT_TRUE(writer.write_frame(peer.frame(i < 4 ? 0x10 : 0x18, payload)));
    }
    ASSERT_TRUE(writer.flush());
    EXPECT_EQ(writer.counters().writes - before.writes, 1u) << "five segments, one write";
    EXPECT_EQ(writer.counters().merged - before.merged, 5u);

    // A corrupted segment must not merge (its checksum is wrong): the kernel drops it, and the
    // next good one merges with nothing before it.
    Bytes good(800, 0x5a);
    Bytes bad = peer.frame(0x10, good);
    peer.seq -= 800;  // resend the same bytes properly afterwards
    bad[60] ^= 1;
    ASSERT_TRUE(writer.write_frame(bad));
    ASSERT_TRUE(writer.write_frame(peer.frame(0x18, good)));
    ASSERT_TRUE(writer.flush());
    sent.insert(sent.end(), good.begin(), good.end());

    Bytes got;
    for (int i = 0; i < 40 && got.size() < sent.size(); ++i) {
        pollfd p{cs, POLLIN, 0};
        if (poll(&p, 1, 100) != 1) continue;
        std::uint8_t buf[8192];
        const ssize_t n = read(cs, buf, sizeof buf);
        if (n <= 0) break;
        got.insert(got.end(), buf, buf + n);
    }
    EXPECT_EQ(got.size(), sent.size());
    EXPECT_TRUE(got == sent) << "bytes differ";
    close(cs);
    close(ls);
}

TEST_F(TapWriterTest, WithoutOffloadEveryFrameIsItsOwnWrite) {
    auto tap = TapDevice::open("wbio-plain");
    ASSERT_TRUE(tap) << tap.error().message;
    ASSERT_TRUE(tap->set_up(true));
    TapWriter writer(*tap);
    Peer peer;
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(writer.write_frame(peer.frame(0x10, Bytes(500, 1))));
    ASSERT_TRUE(writer.flush());
    EXPECT_EQ(writer.counters().writes, 3u);
    EXPECT_EQ(writer.counters().merged, 0u);
}

// A TAP that is down refuses the write of a merged run (EIO): each segment in it is a lost frame,
// as it would have been written one by one, batched (io_uring) or not.
TEST_F(TapWriterTest, ARefusedSuperFrameLosesEachOfItsSegments) {
    auto tap = TapDevice::open("wbio-down");
    ASSERT_TRUE(tap) << tap.error().message;
    ASSERT_TRUE(tap->enable_offload());
    for (const TapWriter::Mode mode : {TapWriter::Mode::automatic, TapWriter::Mode::syscalls}) {
        TapWriter writer(*tap, 0, mode);
        Peer peer;
        for (int i = 0; i < 5; ++i) ASSERT_TRUE(writer.write_frame(peer.frame(0x10, Bytes(500, 1))));
        EXPECT_EQ(writer.frames_lost(), 0u);
        // The next frame does not merge (no payload): the run goes out first and is refused.
        auto r = writer.write_frame(peer.frame(0x10, Bytes()));
        if (!writer.batched()) {
            ASSERT_FALSE(r);
            EXPECT_EQ(r.error().code, EIO) << r.error().message;
            EXPECT_EQ(writer.frames_lost(), 6u) << "the run and the frame that came after it";
            continue;
        }
        ASSERT_TRUE(r) << "batched: queued behind the run";
        auto f = writer.flush();
        ASSERT_FALSE(f);
        EXPECT_EQ(f.error().code, EIO) << f.error().message;
        EXPECT_EQ(writer.frames_lost(), 6u) << "the run's 5 segments and the frame queued after it";
        EXPECT_EQ(writer.counters().merged, 5u);
        ASSERT_TRUE(writer.flush());
        EXPECT_EQ(writer.frames_lost(), 0u) << "a call that succeeds lost nothing";
    }
}

namespace {

// A UDP sender on the far side of the TAP, IPv4 (10.97.1.2 -> .1) or IPv6 (fd97::2 -> fd97::1).
struct UdpPeer {
    std::uint8_t tap_mac[6];
    bool ipv6 = false;
    std::uint16_t ip_id = 1;

    Bytes frame(std::uint16_t dport, const Bytes& payload, bool zero_sum = false, bool corrupt = false) {
        const std::size_t l3 = 14, ip_len = ipv6 ? 40 : 20, udp_len = 8 + payload.size();
        Bytes f(l3 + ip_len + udp_len);
        std::memcpy(f.data(), tap_mac, 6);
        std::memcpy(f.data() + 6, kPeerMac, 6);
        f[12] = ipv6 ? 0x86 : 0x08;
        f[13] = ipv6 ? 0xdd : 0x00;
        std::uint8_t* ip = f.data() + l3;
        std::uint16_t pseudo;
        if (!ipv6) {
            const std::size_t tot = ip_len + udp_len;
            const std::uint8_t hdr[20] = {0x45, 0, static_cast<std::uint8_t>(tot >> 8), static_cast<std::uint8_t>(tot),
                                          static_cast<std::uint8_t>(ip_id >> 8), static_cast<std::uint8_t>(ip_id),
                                          0x40, 0, 64, 17, 0, 0, 10, 97, 1, 2, 10, 97, 1, 1};
            std::memcpy(ip, hdr, 20);
            ++ip_id;
            const std::uint16_t ipsum = static_cast<std::uint16_t>(~ones_complement_sum({ip, 20}));
            ip[10] = static_cast<std::uint8_t>(ipsum >> 8);
            ip[11] = static_cast<std::uint8_t>(ipsum);
            pseudo = ones_complement_sum({ip + 12, 8}, 17 + static_cast<std::uint32_t>(udp_len));
        } else {
            ip[0] = 0x60;
            ip[4] = static_cast<std::uint8_t>(udp_len >> 8);
            ip[5] = static_cast<std::uint8_t>(udp_len);
            ip[6] = 17;
            ip[7] = 64;
            const std::uint8_t src[16] = {0xfd, 0x97, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
            std::memcpy(ip + 8, src, 16);
            std::memcpy(ip + 24, src, 16);
            ip[39] = 1;
            pseudo = ones_complement_sum({ip + 8, 32}, 17 + static_cast<std::uint32_t>(udp_len));
        }
        std::uint8_t* u = ip + ip_len;
        const std::uint8_t uh[8] = {kPeerPort >> 8, kPeerPort & 0xff, static_cast<std::uint8_t>(dport >> 8),
                                    static_cast<std::uint8_t>(dport), static_cast<std::uint8_t>(udp_len >> 8),
                                    static_cast<std::uint8_t>(udp_len), 0, 0};
        std::memcpy(u, uh, 8);
        if (!payload.empty()) std::memcpy(u + 8, payload.data(), payload.size());
        if (!zero_sum) {
            std::uint16_t sum = static_cast<std::uint16_t>(~ones_complement_sum({u, udp_len}, pseudo));
            if (sum == 0) sum = 0xffff;
            u[6] = static_cast<std::uint8_t>(sum >> 8);
            u[7] = static_cast<std::uint8_t>(sum);
        }
        if (corrupt) u[8] ^= 1;
        return f;
    }
};

// A UDP socket bound to the TAP's address and `port`.
int udp_socket(bool ipv6, std::uint16_t port) {
    const int s = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (s < 0) return -1;
    int r;
    if (ipv6) {
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(port);
        inet_pton(AF_INET6, "fd97::1", &a.sin6_addr);
        r = bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    } else {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = inet_addr("10.97.1.1");
        r = bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    if (r != 0) {
        close(s);
        return -1;
    }
    return s;
}

// Every datagram that arrives on s within about a second of quiet, in order.
std::vector<Bytes> receive_all(int s, std::size_t want) {
    std::vector<Bytes> got;
    for (int idle = 0; idle < (got.size() >= want ? 2 : 20);) {
        std::uint8_t buf[4096];
        const ssize_t n = recv(s, buf, sizeof buf, 0);
        if (n >= 0) {
            got.emplace_back(buf, buf + n);
            continue;
        }
        pollfd p{s, POLLIN, 0};
        if (poll(&p, 1, got.size() >= want ? 50 : 100) != 1) ++idle;
    }
    return got;
}

Bytes numbered(std::size_t size, std::size_t n) {
    Bytes b(size);
    for (std::size_t j = 0; j < size; ++j) b[j] = static_cast<std::uint8_t>(n * 7 + j);
    return b;
}

class TapWriterUdpTest : public TapWriterTest, public ::testing::WithParamInterface<bool> {};

// An offloading TAP at 10.97.1.1/24 that takes UDP GSO writes (the test is skipped where the
// kernel does not), a UDP socket on it at kPort, and a peer that writes to it.
struct UdpRig {
    std::optional<TapDevice> tap;
    UdpPeer peer;
    int sock = -1;
    ~UdpRig() {
        if (sock >= 0) close(sock);
    }
};

void udp_rig(const char* name, UdpRig& rig) {
    auto tap = TapDevice::open(name);
    ASSERT_TRUE(tap) << tap.error().message;
    ASSERT_TRUE(tap->enable_offload());
    if (!tap->udp_gso_writes()) GTEST_SKIP() << "this kernel takes no UDP GSO write (Linux 6.2 does)";
    ASSERT_TRUE(tap->set_ipv4(inet_addr("10.97.1.1"), 24));
    ASSERT_TRUE(tap->set_up(true));
    auto mac = tap->mac();
    ASSERT_TRUE(mac);
    std::memcpy(rig.peer.tap_mac, mac->data(), 6);
    rig.tap.emplace(std::move(*tap));
    rig.sock = udp_socket(false, kPort);
    ASSERT_GE(rig.sock, 0);
}

}  // namespace

// Runs of one flow's datagrams merge (a shorter one ends a run; another port, a bad or missing
// checksum do not merge); the sockets get every good datagram whole and in order, the corrupted
// one not at all. On a kernel that takes no UDP GSO write every frame is its own write.
TEST_P(TapWriterUdpTest, DatagramsOfOneFlowMergeAndArriveIntact) {
    const bool ipv6 = GetParam();
    auto tap = TapDevice::open("wbio-udp");
    ASSERT_TRUE(tap) << tap.error().message;
    ASSERT_TRUE(tap->enable_offload());
    if (ipv6) {
        ASSERT_TRUE(tap->set_up(true));
        sh("ip -6 addr add fd97::1/64 dev wbio-udp nodad");
        sh("ip -6 neigh replace fd97::2 lladdr 02:00:00:00:00:22 dev wbio-udp nud permanent");
    } else {
        ASSERT_TRUE(tap->set_ipv4(inet_addr("10.97.1.1"), 24));
        ASSERT_TRUE(tap->set_up(true));
    }
    auto mac = tap->mac();
    ASSERT_TRUE(mac);
    const int s0 = udp_socket(ipv6, kPort), s1 = udp_socket(ipv6, kPort + 1);
    ASSERT_GE(s0, 0);
    ASSERT_GE(s1, 0);

    TapWriter writer(*tap);
    UdpPeer peer;
    peer.ipv6 = ipv6;
    std::memcpy(peer.tap_mac, mac->data(), 6);
    std::vector<Bytes> to0, to1;
    auto send = [&](std::uint16_t port, Bytes payload, bool zero_sum = false, bool corrupt = false) {
        ASSERT_TRUE(writer.write_frame(peer.frame(port, payload, zero_sum, corrupt)));
        if (!corrupt) (port == kPort ? to0 : to1).push_back(payload);
    };
    for (std::size_t i = 0; i < 10; ++i) send(kPort, numbered(100, i));  // run A ...
    send(kPort, numbered(40, 10));                                        // ... ended by a shorter one
    send(kPort, numbered(100, 11));                                       // run B: one datagram
    send(kPort + 1, numbered(100, 12));                                   // another flow: run C
    send(kPort, numbered(100, 13));                                       // run D, ended by
    send(kPort, numbered(100, 14), false, true);                          // a corrupted one: alone, dropped
    if (!ipv6) send(kPort, numbered(100, 15), true);                      // no checksum: alone
    for (std::size_t i = 16; i < 19; ++i) send(kPort, numbered(100, i));  // run E
    ASSERT_TRUE(writer.flush());

    const std::size_t frames = ipv6 ? 18 : 19;
    if (tap->udp_gso_writes()) {
        EXPECT_EQ(writer.counters().writes, frames - 12) << "A, B, C, D, the corrupted one, (no checksum,) E";
        EXPECT_EQ(writer.counters().merged, 14u);
    } else {
        EXPECT_EQ(writer.counters().writes, frames) << "this kernel takes no UDP GSO write: no merging";
        EXPECT_EQ(writer.counters().merged, 0u);
    }
    EXPECT_EQ(receive_all(s0, to0.size()), to0);
    EXPECT_EQ(receive_all(s1, to1.size()), to1);
    close(s0);
    close(s1);
}

INSTANTIATE_TEST_SUITE_P(Families, TapWriterUdpTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "IPv6" : "IPv4"; });

// A long run is cut at 64 datagrams per super-frame (the kernel takes at most 128).
TEST_F(TapWriterTest, ALongUdpRunIsCutAt64Datagrams) {
    UdpRig rig;
    ASSERT_NO_FATAL_FAILURE(udp_rig("wbio-udprun", rig));
    if (IsSkipped()) return;
    TapWriter writer(*rig.tap);
    std::vector<Bytes> sent;
    for (std::size_t i = 0; i < 100; ++i) {
        sent.push_back(numbered(64, i));
        ASSERT_TRUE(writer.write_frame(rig.peer.frame(kPort, sent.back())));
    }
    ASSERT_TRUE(writer.flush());
    EXPECT_EQ(writer.counters().writes, 2u);
    EXPECT_EQ(writer.counters().merged, 100u);
    EXPECT_EQ(receive_all(rig.sock, sent.size()), sent);
}

// Short runs (a flow alternating 100, 100, 40-byte datagrams: each run ended by the short one)
// queue side by side in one batch, kRuns of them before the batch goes out, not one a call.
TEST_F(TapWriterTest, ManyShortRunsShareOneBatch) {
    UdpRig rig;
    ASSERT_NO_FATAL_FAILURE(udp_rig("wbio-udpruns", rig));
    if (IsSkipped()) return;
    TapWriter writer(*rig.tap);
    if (!writer.batched()) GTEST_SKIP() << "io_uring not available here";
    UdpPeer& peer = rig.peer;
    const int s = rig.sock;
    std::vector<Bytes> sent;
    for (std::size_t i = 0; i < 60; ++i) {
        sent.push_back(numbered(i % 3 == 2 ? 40 : 100, i));
        ASSERT_TRUE(writer.write_frame(peer.frame(kPort, sent.back())));
    }
    ASSERT_TRUE(writer.flush());
    EXPECT_EQ(writer.counters().writes, 20u);
    EXPECT_EQ(writer.counters().merged, 60u);
    EXPECT_EQ(writer.counters().syscalls, 2u) << TapWriter::kRuns << " runs, then the last 4 at flush()";
    EXPECT_EQ(receive_all(s, sent.size()), sent);
}
