// Tests of set_socket_buffers: sizes past net.core.rmem_max / wmem_max with CAP_NET_ADMIN, the capped
// fallback without it, zeros left alone, and TCP: set before connect, inherited from the listener.
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "io/socket_buffers.hpp"
#include "io/tcp_socket.hpp"
#include "io/udp_socket.hpp"

using namespace wirebridge::io;

namespace {
unsigned sysctl(const char* path) {
    unsigned v = 0;
    std::ifstream(path) >> v;
    return v;
}
unsigned rmem_max() { return sysctl("/proc/sys/net/core/rmem_max"); }
unsigned wmem_max() { return sysctl("/proc/sys/net/core/wmem_max"); }

bool cap_net_admin_effective() {
    __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct d[2]{};
    if (syscall(SYS_capget, &h, d) != 0) return false;
    return (d[0].effective & (1u << CAP_NET_ADMIN)) != 0;
}
// Clears CAP_NET_ADMIN from this thread's effective set (permitted keeps it: a test child only).
bool drop_cap_net_admin() {
    __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct d[2]{};
    if (syscall(SYS_capget, &h, d) != 0) return false;
    d[0].effective &= ~(1u << CAP_NET_ADMIN);
    return syscall(SYS_capset, &h, d) == 0;
}

UdpSocket udp() {
    auto s = UdpSocket::open(*SocketAddress::from_numeric("127.0.0.1", 0));
    if (!s) {
        ADD_FAILURE() << s.error().message;
        std::abort();
    }
    return std::move(*s);
}
}  // namespace

// Below the caps, either option gives what was asked, doubled (the kernel's bookkeeping).
TEST(SocketBuffers, AskedSizesComeBackDoubled) {
    ASSERT_GE(rmem_max(), 131072u);
    ASSERT_GE(wmem_max(), 131072u);
    UdpSocket s = udp();
    auto got = s.set_buffers({131072, 65536});
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(got->receive, 262144u);
    EXPECT_EQ(got->send, 131072u);
}

// Zeros leave the kernel's sizes as they were.
TEST(SocketBuffers, ZeroLeavesTheKernelsSize) {
    UdpSocket s = udp();
    auto before = socket_buffers(s.fd());
    ASSERT_TRUE(before);
    auto got = s.set_buffers({});
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, *before);
    got = s.set_buffers({0, 65536});
    ASSERT_TRUE(got);
    EXPECT_EQ(got->receive, before->receive);
    EXPECT_EQ(got->send, 131072u);
}

// With CAP_NET_ADMIN, twice the caps: impossible with SO_RCVBUF / SO_SNDBUF, which stop at the cap.
TEST(SocketBuffers, ForcedPastTheSysctlCaps) {
    if (!cap_net_admin_effective()) GTEST_SKIP() << "needs CAP_NET_ADMIN";
    const unsigned rcv = 2 * rmem_max(), snd = 2 * wmem_max();
    UdpSocket s = udp();
    auto got = s.set_buffers({rcv, snd});
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(got->receive, 2 * rcv);
    EXPECT_EQ(got->send, 2 * snd);
}

// Without CAP_NET_ADMIN the forced options are refused (EPERM): the capped ones still apply, and
// what comes back is the cap, not an error. Run in a child that drops the capability.
TEST(SocketBuffers, WithoutCapNetAdminTheCapApplies) {
    if (!cap_net_admin_effective()) GTEST_SKIP() << "needs CAP_NET_ADMIN to drop";
    const unsigned rcv = 2 * rmem_max(), snd = 2 * wmem_max();
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (!drop_cap_net_admin() || cap_net_admin_effective()) _exit(10);
        const int fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (set_socket_buffers(fd, {rcv, snd}).has_value() == false) _exit(11);
        auto got = socket_buffers(fd);
        if (!got) _exit(12);
        _exit(got->receive == 2 * rmem_max() && got->send == 2 * wmem_max() ? 0 : 13);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "10: no drop, 11: set failed, 12: read failed, 13: not the caps";
}

// TCP: a connecting socket takes them before connect(); a listener's pass to what it accepts.
TEST(SocketBuffers, TcpConnectAndAcceptedInheritFromTheListener) {
    auto listener = TcpListener::open(*SocketAddress::from_numeric("127.0.0.1", 0), false, {131072, 131072});
    ASSERT_TRUE(listener) << listener.error().message;
    auto l = socket_buffers(listener->fd());
    ASSERT_TRUE(l);
    EXPECT_EQ(*l, (SocketBuffers{262144, 262144}));
    auto addr = listener->local_address();
    ASSERT_TRUE(addr);
    auto client = TcpStream::connect(*addr, {}, 0, {196608, 65536});
    ASSERT_TRUE(client) << client.error().message;
    auto c = socket_buffers(client->fd());
    ASSERT_TRUE(c);
    EXPECT_EQ(*c, (SocketBuffers{393216, 131072}));
    pollfd p{listener->fd(), POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 2000), 1);
    auto accepted = listener->accept();
    ASSERT_TRUE(accepted);
    ASSERT_TRUE(accepted->has_value());
    auto a = socket_buffers((*accepted)->fd());
    ASSERT_TRUE(a);
    EXPECT_EQ(*a, (SocketBuffers{262144, 262144}));
}
