// Tests of TapDevice in a private network namespace (root): frames both ways, MTU, addresses, queues.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "io/gso_splitter.hpp"
#include "io/tap_device.hpp"

using namespace wirebridge::io;

namespace {

// Each test runs in its own process (gtest_discover_tests); the namespace dies with it.
class TapDeviceTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root for a private network namespace";
        if (unshare(CLONE_NEWNET) != 0) GTEST_SKIP() << "unshare(CLONE_NEWNET): " << std::strerror(errno);
    }
};

std::string run(const std::string& cmd) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return out;
    char buf[512];
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
    return out;
}

}  // namespace

TEST_F(TapDeviceTest, FramesCrossBothWays) {
    auto tap = TapDevice::open("wbio-tap0");
    ASSERT_TRUE(tap) << tap.error().message;
    EXPECT_EQ(tap->name(), "wbio-tap0");
    EXPECT_GT(tap->ifindex(), 0);
    ASSERT_TRUE(tap->set_mtu(1400));
    ASSERT_TRUE(tap->set_ipv4(inet_addr("10.99.0.1"), 24));
    ASSERT_TRUE(tap->set_up(true));
    const std::string shown = run("ip -o addr show dev wbio-tap0; ip -o link show dev wbio-tap0");
    EXPECT_NE(shown.find("10.99.0.1/24"), std::string::npos) << shown;
    EXPECT_NE(shown.find("mtu 1400"), std::string::npos) << shown;
    auto mac = tap->mac();
    ASSERT_TRUE(mac);

    // Kernel -> TAP: pinging a neighbour makes the kernel ARP for it on the TAP.
    run("ping -c1 -W1 10.99.0.2 >/dev/null 2>&1 &");
    std::uint8_t buf[2048];
    bool saw_arp = false;
    for (int i = 0; i < 50 && !saw_arp; ++i) {
        pollfd p{tap->fd(), POLLIN, 0};
        poll(&p, 1, 100);
        auto r = tap->read_frame(buf);
        ASSERT_TRUE(r);
        if (r->would_block || r->bytes < 42) continue;
        // ethertype ARP, sender = our MAC, target IP 10.99.0.2
        saw_arp = buf[12] == 0x08 && buf[13] == 0x06 && std::memcmp(buf + 6, mac->data(), 6) == 0 &&
                  std::memcmp(buf + 38, "\x0a\x63\x00\x02", 4) == 0;
    }
    EXPECT_TRUE(saw_arp);

    // TAP -> kernel: an ARP request for 10.99.0.1 gets a reply written back to the TAP.
    std::uint8_t arp[42] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x42, 0x08, 0x06,
                            0, 1, 0x08, 0, 6, 4, 0, 1, 0x02, 0, 0, 0, 0, 0x42, 10, 99, 0, 2,
                            0, 0, 0, 0, 0, 0, 10, 99, 0, 1};
    auto w = tap->write_frame(arp);
    ASSERT_TRUE(w) << w.error().message;
    EXPECT_EQ(w->bytes, sizeof arp);
    bool saw_reply = false;
    for (int i = 0; i < 50 && !saw_reply; ++i) {
        pollfd p{tap->fd(), POLLIN, 0};
        poll(&p, 1, 100);
        auto r = tap->read_frame(buf);
        ASSERT_TRUE(r);
        if (r->would_block || r->bytes < 42) continue;
        saw_reply = buf[12] == 0x08 && buf[13] == 0x06 && buf[21] == 2 && std::memcmp(buf, arp + 6, 6) == 0;
    }
    EXPECT_TRUE(saw_reply);
}

TEST_F(TapDeviceTest, MultiQueue) {
    auto tap = TapDevice::open("wbio-mq", 4);
    ASSERT_TRUE(tap) << tap.error().message;
    EXPECT_EQ(tap->queue_count(), 4u);
    for (unsigned q = 0; q < 4; ++q) EXPECT_GE(tap->fd(q), 0);
    const std::string shown = run("ip -d link show dev wbio-mq");
    EXPECT_NE(shown.find("multi_queue"), std::string::npos) << shown;
}

// Workers: queues added to a running device, frames the kernel sends spread over the attached
// queues (by flow hash), none to a detached queue; a pre-existing single-queue device still opens.
TEST_F(TapDeviceTest, QueuesAddedDetachedAndSpread) {
    auto tap = TapDevice::open("wbio-wq");
    ASSERT_TRUE(tap) << tap.error().message;
    EXPECT_TRUE(tap->multi_queue());
    EXPECT_EQ(tap->queue_count(), 1u);
    ASSERT_TRUE(tap->add_queues(2));
    ASSERT_EQ(tap->queue_count(), 2u);
    ASSERT_TRUE(tap->set_ipv4(inet_addr("10.98.0.1"), 24));
    ASSERT_TRUE(tap->set_up(true));
    // Static neighbours so that UDP to them goes straight out of the TAP, many flows (ports).
    for (int h = 2; h < 6; ++h) run("ip neigh replace 10.98.0." + std::to_string(h) + " lladdr 02:00:00:00:00:0" + std::to_string(h) + " dev wbio-wq");
    auto count_frames = [&](unsigned q) {
        unsigned n = 0;
        std::uint8_t buf[2048];
        for (;;) {
            auto r = tap->read_frame(buf, q);
            if (!r || r->would_block) break;
            if (r->bytes >= 34 && buf[12] == 0x08 && buf[13] == 0x00 && buf[23] == 17) ++n;  // ours: IPv4 UDP
        }
        return n;
    };
    auto send_flows = [&] {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        for (int port = 2000; port < 2064; ++port) {
            sockaddr_in to{};
            to.sin_family = AF_INET;
            to.sin_port = htons(static_cast<std::uint16_t>(port));
            to.sin_addr.s_addr = inet_addr(("10.98.0." + std::to_string(2 + port % 4)).c_str());
            sendto(s, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
        }
        close(s);
        usleep(100000);
    };
    count_frames(0);
    count_frames(1);
    send_flows();
    const unsigned q0 = count_frames(0), q1 = count_frames(1);
    EXPECT_EQ(q0 + q1, 64u);
    EXPECT_GT(q0, 0u);
    EXPECT_GT(q1, 0u);  // 64 flows all hashed to one queue would be a broken spread
    ASSERT_TRUE(tap->set_queue_attached(1, false));
    send_flows();
    EXPECT_EQ(count_frames(0), 64u);
    EXPECT_EQ(count_frames(1), 0u);
    ASSERT_TRUE(tap->set_queue_attached(1, true));
    ASSERT_TRUE(tap->set_queue_attached(1, true));  // already attached: no error

    run("ip tuntap add dev wbio-sq mode tap");  // single-queue, persistent
    auto sq = TapDevice::open("wbio-sq");
    ASSERT_TRUE(sq) << sq.error().message;
    EXPECT_FALSE(sq->multi_queue());
    EXPECT_FALSE(sq->add_queues(2));
}

TEST_F(TapDeviceTest, Ipv6AddressAndErrors) {
    auto tap = TapDevice::open("wbio-v6");
    ASSERT_TRUE(tap);
    ASSERT_TRUE(tap->set_up(true));
    std::array<std::uint8_t, 16> a{};
    inet_pton(AF_INET6, "fd00:99::1", a.data());
    auto r = tap->add_ipv6(a, 64);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_NE(run("ip -o -6 addr show dev wbio-v6").find("fd00:99::1/64"), std::string::npos);
    EXPECT_FALSE(TapDevice::open("this-name-is-too-long"));
    auto bad_mtu = tap->set_mtu(10);
    ASSERT_FALSE(bad_mtu);
    EXPECT_NE(bad_mtu.error().message.find("set MTU 10 on wbio-v6"), std::string::npos);
}

// With offloads on, the kernel leaves a UDP checksum for the TAP to fill in: read_frame() completes
// it, and read_packet() + GsoSplitter produce the same bytes.
TEST_F(TapDeviceTest, OffloadChecksumsAreCompleted) {
    auto tap = TapDevice::open("wbio-off");
    ASSERT_TRUE(tap) << tap.error().message;
    ASSERT_TRUE(tap->enable_offload());
    EXPECT_TRUE(tap->offload());
    ASSERT_TRUE(tap->set_ipv4(inet_addr("10.98.0.1"), 24));
    ASSERT_TRUE(tap->set_up(true));
    run("ip neigh replace 10.98.0.2 lladdr 02:00:00:00:00:22 dev wbio-off nud permanent");
    const std::string features = run("ethtool -k wbio-off 2>/dev/null | grep -E '^(tx-checksumming|tcp-segmentation-offload):'");
    if (!features.empty()) {
        EXPECT_NE(features.find("tcp-segmentation-offload: on"), std::string::npos) << features;
    }

    auto send_udp = [] {
        const int s = socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(5555);
        to.sin_addr.s_addr = inet_addr("10.98.0.2");
        const char msg[] = "checksum me, please";
        sendto(s, msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
        close(s);
    };
    // Sum over the UDP header + data and the pseudo-header must be 0xffff for a correct checksum.
    auto udp_ok = [](const std::uint8_t* f, std::size_t n) {
        const std::uint8_t* ip = f + 14;
        const std::size_t ihl = (ip[0] & 15u) * 4;
        const std::uint8_t* udp = ip + ihl;
        const std::size_t len = n - 14 - ihl;
        std::uint32_t s = 17 + static_cast<std::uint32_t>(len);
        for (std::size_t i = 0; i < 8; i += 2) s += std::uint32_t{ip[12 + i]} << 8 | ip[13 + i];
        for (std::size_t i = 0; i < len; i += 2) s += std::uint32_t{udp[i]} << 8 | (i + 1 < len ? udp[i + 1] : 0);
        while (s >> 16) s = (s & 0xffff) + (s >> 16);
        return s == 0xffff;
    };
    auto wait_udp = [&](auto&& read_one) {
        for (int i = 0; i < 50; ++i) {
            pollfd p{tap->fd(), POLLIN, 0};
            poll(&p, 1, 100);
            if (read_one()) return true;
        }
        return false;
    };

    send_udp();
    std::uint8_t buf[2048];
    bool seen = wait_udp([&] {
        auto r = tap->read_frame(buf);
        if (!r || r->would_block || r->bytes < 42 || buf[12] != 0x08 || buf[13] != 0 || buf[23] != 17) return false;
        EXPECT_TRUE(udp_ok(buf, r->bytes));
        return true;
    });
    EXPECT_TRUE(seen) << "no UDP frame read with read_frame";

    send_udp();
    std::vector<std::uint8_t> raw(kMaxSuperFrame);
    seen = wait_udp([&] {
        auto r = tap->read_packet(raw);
        if (!r || r->would_block) return false;
        GsoSplitter s;
        if (s.start(std::span<const std::uint8_t>(raw.data(), r->bytes)) != GsoSplitter::Status::ok) return false;
        const std::size_t n = s.next(buf);
        if (n < 42 || buf[12] != 0x08 || buf[13] != 0 || buf[23] != 17) return false;
        EXPECT_EQ(raw[0] & 1, 1) << "the kernel left the checksum partial";
        EXPECT_TRUE(udp_ok(buf, n));
        return true;
    });
    EXPECT_TRUE(seen) << "no UDP frame read with read_packet";
}
