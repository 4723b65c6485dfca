// Tests of TapWriter's io_uring batches against a real TAP in a private netns: queued until flush, in order, write() fallback.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "io/gso_splitter.hpp"
#include "io/tap_writer.hpp"
#include "io/uring.hpp"
#include "io_uring_test_util.hpp"

using namespace wirebridge::io;

using wirebridge::io::test::forbid_io_uring;
using wirebridge::io::test::iota;

namespace {

using Bytes = std::vector<std::uint8_t>;

class TapWriterBatchTest : public ::testing::TestWithParam<bool> {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root for a private network namespace";
        if (unshare(CLONE_NEWNET) != 0) GTEST_SKIP() << "unshare(CLONE_NEWNET): " << std::strerror(errno);
    }
};

constexpr std::uint16_t kPort = 7000;

// TAP 10.97.0.1/24 and a non-blocking UDP socket bound to 10.97.0.1:7000 with room for many datagrams.
struct Fixture {
    TapDevice tap;
    int sock = -1;
    std::uint8_t mac[6]{};
    ~Fixture() {
        if (sock >= 0) close(sock);
    }
};

void setup(Fixture& fx, bool offload) {
    auto tap = TapDevice::open("wbpw0");
    ASSERT_TRUE(tap) << tap.error().message;
    if (offload) {
        ASSERT_TRUE(tap->enable_offload());
    }
    std::system("sysctl -qw net.ipv6.conf.wbpw0.disable_ipv6=1");
    ASSERT_TRUE(tap->set_ipv4(inet_addr("10.97.0.1"), 24));
    ASSERT_TRUE(tap->set_up(true));
    auto m = tap->mac();
    ASSERT_TRUE(m);
    std::memcpy(fx.mac, m->data(), 6);
    fx.tap = std::move(*tap);
    fx.sock = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    ASSERT_GE(fx.sock, 0);
    const int rcv = 4 << 20;
    setsockopt(fx.sock, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(kPort);
    a.sin_addr.s_addr = inet_addr("10.97.0.1");
    ASSERT_EQ(bind(fx.sock, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
}

// An Ethernet/IPv4/UDP frame from 10.97.0.2:(40000 + seq) to 10.97.0.1:7000 carrying seq (and
// padding to len bytes). Every frame is a flow of its own, so that an offloading TAP's writer merges
// none (merging: io_tap_writer_test).
Bytes frame(const std::uint8_t* mac, std::uint32_t seq, std::size_t len = 4) {
    const auto sport = static_cast<std::uint16_t>(40000 + seq);
    Bytes f(14 + 20 + 8 + len, 0x5a);
    std::memcpy(f.data(), mac, 6);
    const std::uint8_t src[6] = {2, 0, 0, 0, 0, 0x33};
    std::memcpy(f.data() + 6, src, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    std::uint8_t* ip = f.data() + 14;
    const std::size_t tot = 28 + len;
    const std::uint8_t hdr[20] = {0x45, 0, static_cast<std::uint8_t>(tot >> 8), static_cast<std::uint8_t>(tot), 0, 1, 0x40, 0,
                                  64, 17, 0, 0, 10, 97, 0, 2, 10, 97, 0, 1};
    std::memcpy(ip, hdr, 20);
    const std::uint16_t ipsum = static_cast<std::uint16_t>(~ones_complement_sum({ip, 20}));
    ip[10] = static_cast<std::uint8_t>(ipsum >> 8);
    ip[11] = static_cast<std::uint8_t>(ipsum);
    std::uint8_t* u = ip + 20;
    const std::size_t ulen = 8 + len;
    const std::uint8_t uh[8] = {static_cast<std::uint8_t>(sport >> 8), static_cast<std::uint8_t>(sport), kPort >> 8, kPort & 0xff, static_cast<std::uint8_t>(ulen >> 8), static_cast<std::uint8_t>(ulen), 0, 0};
    std::memcpy(u, uh, 8);
    const std::uint32_t v = htonl(seq);
    std::memcpy(u + 8, &v, 4);
    const std::uint16_t pseudo = ones_complement_sum({ip + 12, 8}, 17 + static_cast<std::uint32_t>(ulen));
    std::uint16_t sum = static_cast<std::uint16_t>(~ones_complement_sum({u, ulen}, pseudo));
    if (sum == 0) sum = 0xffff;
    u[6] = static_cast<std::uint8_t>(sum >> 8);
    u[7] = static_cast<std::uint8_t>(sum);
    return f;
}

// Every datagram waiting on the socket, as sequence numbers, in arrival order.
std::vector<long> drain(int sock) {
    std::vector<long> seen;
    std::uint8_t buf[2048];
    for (int i = 0; i < 10000; ++i) {
        const ssize_t n = recv(sock, buf, sizeof buf, 0);
        if (n < 4) break;
        std::uint32_t v;
        std::memcpy(&v, buf, 4);
        seen.push_back(static_cast<long>(ntohl(v)));
    }
    return seen;
}

}  // namespace

TEST_P(TapWriterBatchTest, FramesWaitForFlushThenArriveInOrderWithOneCall) {
    if (!Uring::create(4)) GTEST_SKIP() << "io_uring not available here: the write() path is tested below";
    Fixture fx;
    ASSERT_NO_FATAL_FAILURE(setup(fx, GetParam()));
    TapWriter writer(fx.tap);
    ASSERT_TRUE(writer.batched());
    EXPECT_EQ(writer.path().rfind("io_uring batches", 0), 0u) << writer.path();  // for the start-up log
    for (std::uint32_t i = 0; i < 20; ++i) ASSERT_TRUE(writer.write_frame(frame(fx.mac, i)));
    EXPECT_TRUE(drain(fx.sock).empty()) << "nothing reaches the kernel before flush()";
    EXPECT_EQ(writer.counters().syscalls, 0u);
    ASSERT_TRUE(writer.flush());
    EXPECT_EQ(drain(fx.sock), iota(0, 20));
    EXPECT_EQ(writer.counters().syscalls, 1u);
    EXPECT_EQ(writer.counters().writes, 20u);
    EXPECT_EQ(writer.counters().dropped, 0u);
    ASSERT_TRUE(writer.flush());
    EXPECT_EQ(writer.counters().syscalls, 1u) << "an empty flush costs nothing";
}

TEST_P(TapWriterBatchTest, MoreFramesThanSlotsGoOutEarlyAndInOrder) {
    if (!Uring::create(4)) GTEST_SKIP() << "io_uring not available here";
    Fixture fx;
    ASSERT_NO_FATAL_FAILURE(setup(fx, GetParam()));
    TapWriter writer(fx.tap);
    ASSERT_TRUE(writer.batched());
    const unsigned n = 2 * TapWriter::kSlots + 10;
    // Mixed sizes, one larger than a slot (written directly, after the queued ones).
    for (std::uint32_t i = 0; i < n; ++i) {
        const std::size_t len = i == 70 ? 2100 : (i % 3 == 0 ? 1400 : 4);
        ASSERT_TRUE(writer.write_frame(frame(fx.mac, i, len)));
    }
    ASSERT_TRUE(writer.flush());
    EXPECT_EQ(drain(fx.sock), iota(0, n));
    EXPECT_EQ(writer.counters().writes, n);
    // 64 (slots full), 6 (before the big frame), the big frame alone, 64 (slots full), the last 3.
    EXPECT_EQ(writer.counters().syscalls, 5u);
}

TEST_P(TapWriterBatchTest, BadFramesAreDroppedNotFatal) {
    Fixture fx;
    ASSERT_NO_FATAL_FAILURE(setup(fx, GetParam()));
    TapWriter writer(fx.tap);
    ASSERT_TRUE(writer.write_frame(frame(fx.mac, 0)));
    const Bytes runt(8, 0);  // shorter than an Ethernet header: the TAP refuses it
    ASSERT_TRUE(writer.write_frame(runt));
    ASSERT_TRUE(writer.write_frame(frame(fx.mac, 1)));
    ASSERT_TRUE(writer.flush());
    EXPECT_EQ(drain(fx.sock), iota(0, 2));
    EXPECT_EQ(writer.counters().dropped, 1u);
}

// A TAP that is down refuses every write (EIO): each frame of a refused batch is a lost frame,
// not the batch as one (status counts tap_write drops a frame).
TEST_P(TapWriterBatchTest, ARefusedBatchLosesEveryFrameInIt) {
    if (!Uring::create(4)) GTEST_SKIP() << "io_uring not available here";
    Fixture fx;
    ASSERT_NO_FATAL_FAILURE(setup(fx, GetParam()));
    ASSERT_TRUE(fx.tap.set_up(false));
    TapWriter writer(fx.tap);
    ASSERT_TRUE(writer.batched());
    for (std::uint32_t i = 0; i < 5; ++i) ASSERT_TRUE(writer.write_frame(frame(fx.mac, i)));
    auto r = writer.flush();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EIO) << r.error().message;
    EXPECT_EQ(writer.frames_lost(), 5u);
    // Slots full: the batch goes out early, inside write_frame(), whose own frame is lost too. With
    // offloads a frame that might start a run waits for the next one, so the slots fill one frame
    // later: the batch goes out at flush(), the last frame with it. Either way every frame is lost
    // once.
    const bool waits = GetParam() && fx.tap.udp_gso_writes();  // UDP frames may merge
    std::size_t lost = 0;
    for (std::uint32_t i = 0; i <= TapWriter::kSlots; ++i) {
        r = writer.write_frame(frame(fx.mac, i));
        if (!r) lost += writer.frames_lost();
        EXPECT_EQ(!r, !waits && i == TapWriter::kSlots) << "frame " << i;
    }
    r = writer.flush();
    EXPECT_EQ(!r, waits);
    if (!r) lost += writer.frames_lost();
    EXPECT_EQ(lost, TapWriter::kSlots + 1);
    ASSERT_TRUE(writer.flush());
    EXPECT_EQ(writer.frames_lost(), 0u);
    // Up again: nothing was left queued, and frames go through.
    ASSERT_TRUE(fx.tap.set_up(true));
    ASSERT_TRUE(writer.write_frame(frame(fx.mac, 7)));
    ASSERT_TRUE(writer.flush());
    EXPECT_EQ(drain(fx.sock), iota(7, 1));
}

TEST_P(TapWriterBatchTest, WriteSyscallsDeliverEachFrameAtOnce) {
    Fixture fx;
    ASSERT_NO_FATAL_FAILURE(setup(fx, GetParam()));
    TapWriter writer(fx.tap, 0, TapWriter::Mode::syscalls);
    EXPECT_FALSE(writer.batched());
    EXPECT_EQ(writer.path().rfind("write(), one call a frame (io_uring not asked for)", 0), 0u) << writer.path();
    for (std::uint32_t i = 0; i < 20; ++i) ASSERT_TRUE(writer.write_frame(frame(fx.mac, i)));
    // No batching: every frame is in before flush(), but with offloads the last one, which waits
    // for a next frame it could merge with.
    const bool waits = GetParam() && fx.tap.udp_gso_writes();  // UDP frames may merge
    EXPECT_EQ(drain(fx.sock), iota(0, waits ? 19 : 20));
    ASSERT_TRUE(writer.flush());
    if (waits) {
        EXPECT_EQ(drain(fx.sock), iota(19, 1));
    }
    EXPECT_EQ(writer.counters().syscalls, 20u);
}

TEST_P(TapWriterBatchTest, FallsBackToWriteWhenIoUringIsRefused) {
    Fixture fx;
    ASSERT_NO_FATAL_FAILURE(setup(fx, GetParam()));
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (!forbid_io_uring(EPERM)) _exit(3);
        TapWriter writer(fx.tap);
        if (writer.batched()) _exit(4);
        // The log says why: the refused io_uring_setup with its errno.
        if (writer.path().find("write(), one call a frame: no io_uring here (io_uring_setup") != 0 ||
            writer.path().find(std::strerror(EPERM)) == std::string::npos)
            _exit(7);
        for (std::uint32_t i = 0; i < 30; ++i)
            if (!writer.write_frame(frame(fx.mac, i))) _exit(5);
        if (!writer.flush()) _exit(5);
        _exit(drain(fx.sock) == iota(0, 30) && writer.counters().syscalls == 30 ? 0 : 6);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "3: no seccomp, 4: still batched, 5: write error, 6: frames or calls, 7: path()";
}

INSTANTIATE_TEST_SUITE_P(Offload, TapWriterBatchTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "offload" : "plain"; });
