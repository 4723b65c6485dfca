// Tests of TapReader against a real TAP in a private netns: io_uring batches and read() give the same frames, in order.
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
#include "io/tap_reader.hpp"
#include "io/uring.hpp"
#include "io_uring_test_util.hpp"

using namespace wirebridge::io;

using wirebridge::io::test::forbid_io_uring;
using wirebridge::io::test::iota;

namespace {

class TapReaderTest : public ::testing::TestWithParam<bool> {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root for a private network namespace";
        if (unshare(CLONE_NEWNET) != 0) GTEST_SKIP() << "unshare(CLONE_NEWNET): " << std::strerror(errno);
    }
};

// A TAP 10.98.0.1/24 with a static neighbour 10.98.0.2, so datagrams sent there become frames on
// the TAP with no ARP in between; IPv6 off so that no other frames show up.
TapDevice make_tap(bool offload) {
    auto tap = TapDevice::open("wbpr0");
    EXPECT_TRUE(tap) << tap.error().message;
    if (offload) {
        EXPECT_TRUE(tap->enable_offload());
    }
    std::system("sysctl -qw net.ipv6.conf.wbpr0.disable_ipv6=1");
    EXPECT_TRUE(tap->set_ipv4(inet_addr("10.98.0.1"), 24));
    EXPECT_TRUE(tap->set_up(true));
    std::system("ip neigh replace 10.98.0.2 lladdr 02:00:00:00:00:22 dev wbpr0 nud permanent");
    return std::move(*tap);
}

// Sends datagrams to 10.98.0.2:9 carrying the 32-bit sequence numbers first..first+n-1.
void send_seq(std::uint32_t first, unsigned n, std::size_t len = 64) {
    const int s = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(s, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9);
    to.sin_addr.s_addr = inet_addr("10.98.0.2");
    std::vector<std::uint8_t> p(len, 0xab);
    for (unsigned i = 0; i < n; ++i) {
        const std::uint32_t v = htonl(first + i);
        std::memcpy(p.data(), &v, 4);
        ASSERT_EQ(sendto(s, p.data(), p.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to), static_cast<ssize_t>(p.size()));
    }
    close(s);
}

// The sequence number of a frame carrying one of send_seq's datagrams (its UDP checksum checked),
// or -1 for any other frame.
long seq_of(const std::uint8_t* f, std::size_t n) {
    if (n < 14 + 20 + 8 + 4 || f[12] != 0x08 || f[13] != 0x00) return -1;
    const std::uint8_t* ip = f + 14;
    if (ip[9] != 17) return -1;
    const std::uint8_t* udp = ip + 20;
    if (udp[2] != 0 || udp[3] != 9) return -1;
    const std::size_t ulen = static_cast<std::size_t>(udp[4] << 8 | udp[5]);
    EXPECT_EQ(14 + 20 + ulen, n);
    const std::uint16_t pseudo = ones_complement_sum({ip + 12, 8}, 17 + static_cast<std::uint32_t>(ulen));
    EXPECT_EQ(ones_complement_sum({udp, ulen}, pseudo), 0xffff) << "UDP checksum";
    std::uint32_t v;
    std::memcpy(&v, udp + 8, 4);
    return static_cast<long>(ntohl(v));
}

// Reads until would_block (bounded); returns the sequence numbers seen, in order.
std::vector<long> read_all(TapReader& r, unsigned limit = 4096) {
    std::vector<long> seen;
    std::uint8_t buf[GsoSplitter::kMaxWireFrame];
    for (unsigned i = 0; i < limit; ++i) {
        auto got = r.read_frame(buf);
        EXPECT_TRUE(got) << got.error().message;
        if (!got || got->would_block) break;
        const long s = seq_of(buf, got->bytes);
        if (s >= 0) seen.push_back(s);
    }
    return seen;
}

bool have_uring() { return static_cast<bool>(Uring::create(4)); }

}  // namespace

TEST_P(TapReaderTest, BatchedReadsGiveEveryFrameInOrderWithFewCalls) {
    if (!have_uring()) GTEST_SKIP() << "io_uring not available here: the read() path is tested below";
    TapDevice tap = make_tap(GetParam());
    TapReader reader(tap);
    ASSERT_TRUE(reader.batched());
    std::vector<std::string> told;  // what the runner would log
    reader.on_path_decided([&](const std::string& p) { told.push_back(p); });
    EXPECT_TRUE(reader.path().empty()) << "decided only by the first batch";
    EXPECT_TRUE(told.empty());
    send_seq(0, 300);
    const std::vector<long> seen = read_all(reader);
    ASSERT_EQ(told.size(), 1u) << "told once, at the first batch";
    EXPECT_EQ(told[0], reader.path());
    if (reader.batched()) {
        EXPECT_EQ(reader.path(), "io_uring batches of up to 16 RWF_NOWAIT reads a call");
        EXPECT_EQ(seen, iota(0, 300));
        // Batches of 2, 4, 8, then 16: about 22 calls instead of 301.
        EXPECT_LT(reader.syscalls(), 40u);
    } else {
        // A kernel whose TAP refuses RWF_NOWAIT reads: the reader fell back to read() unharmed.
        EXPECT_EQ(reader.path().rfind("read(), one call a frame: this kernel's TAP refuses RWF_NOWAIT", 0), 0u)
            << reader.path();
        EXPECT_EQ(seen, iota(0, 300));
    }
    EXPECT_FALSE(reader.pending());
    EXPECT_EQ(reader.refused(), 0u);
}

TEST_P(TapReaderTest, ReadSyscallsGiveTheSameFrames) {
    TapDevice tap = make_tap(GetParam());
    TapReader reader(tap, 0, TapReader::Mode::syscalls);
    EXPECT_FALSE(reader.batched());
    int told = 0;
    reader.on_path_decided([&](const std::string& p) {
        EXPECT_EQ(p, "read(), one call a frame (io_uring not asked for)");
        ++told;
    });
    EXPECT_EQ(told, 1) << "decided at construction: told at once";
    send_seq(0, 300);
    EXPECT_EQ(read_all(reader), iota(0, 300));
    EXPECT_EQ(reader.syscalls(), 301u) << "one read per frame and the one that found the queue empty";
}

TEST_P(TapReaderTest, EmptyQueueThenMoreFramesAndPendingFrames) {
    TapDevice tap = make_tap(GetParam());
    TapReader reader(tap);
    std::uint8_t buf[GsoSplitter::kMaxWireFrame];
    auto r = reader.read_frame(buf);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->would_block);
    EXPECT_FALSE(reader.pending());

    // A small burst, then a caller that stops early: what the reader holds is reported pending and
    // comes out first next time, before newer frames.
    send_seq(0, 40);
    std::vector<long> seen;
    while (seen.size() < 10) {
        auto got = reader.read_frame(buf);
        ASSERT_TRUE(got) << got.error().message;
        ASSERT_FALSE(got->would_block);
        const long s = seq_of(buf, got->bytes);
        if (s >= 0) seen.push_back(s);
    }
    if (reader.batched()) {
        EXPECT_TRUE(reader.pending());
    }
    send_seq(40, 20);
    const std::vector<long> rest = read_all(reader);
    seen.insert(seen.end(), rest.begin(), rest.end());
    EXPECT_EQ(seen, iota(0, 60));
    EXPECT_FALSE(reader.pending());

    // After would_block the next call asks the kernel again.
    send_seq(60, 1);
    EXPECT_EQ(read_all(reader), iota(60, 1));
}

TEST_P(TapReaderTest, LargeFramesBatchedToo) {
    TapDevice tap = make_tap(GetParam());
    TapReader reader(tap);
    send_seq(0, 50, 1400);
    send_seq(50, 50, 18);
    EXPECT_EQ(read_all(reader), iota(0, 100));
}

// io_uring refused (seccomp here; an old kernel or kernel.io_uring_disabled alike): the reader
// notices at construction and reads with read(). In a child, since the filter cannot be removed.
TEST_P(TapReaderTest, FallsBackToReadWhenIoUringIsRefused) {
    TapDevice tap = make_tap(GetParam());
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (!forbid_io_uring(ENOSYS)) _exit(3);
        TapReader reader(tap);
        if (reader.batched()) _exit(4);
        if (reader.path().find("read(), one call a frame: no io_uring here (io_uring_setup") != 0 ||
            reader.path().find(std::strerror(ENOSYS)) == std::string::npos)
            _exit(8);
        send_seq(0, 100);
        std::uint8_t buf[GsoSplitter::kMaxWireFrame];
        long want = 0;
        for (int i = 0; i < 1000; ++i) {
            auto got = reader.read_frame(buf);
            if (!got) _exit(5);
            if (got->would_block) break;
            const long s = seq_of(buf, got->bytes);
            if (s < 0) continue;
            if (s != want) _exit(6);
            ++want;
        }
        _exit(want == 100 && reader.syscalls() == 101 ? 0 : 7);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "3: no seccomp, 4: still batched, 5: read error, 6: order, 7: count/calls, 8: path()";
}

INSTANTIATE_TEST_SUITE_P(Offload, TapReaderTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "offload" : "plain"; });
