// Tests of TapDevice in a private network namespace (root): frames both ways, MTU, addresses, queues.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

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
