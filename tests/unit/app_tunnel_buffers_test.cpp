// Tests of the tunnel buffers' log lines: what was asked, what the kernel gave, and the warning when
// the sysctl caps cut it (no CAP_NET_ADMIN).
#include <gtest/gtest.h>

#include "app/tunnel_buffers.hpp"

using namespace wirebridge;
using app::describe_buffers;

TEST(TunnelBuffers, TheConfigsSizes) {
    config::TunnelConfig t;
    EXPECT_EQ(app::tunnel_buffers(t), (io::SocketBuffers{4194304, 4194304}));
    t.rcvbuf = 0;
    t.sndbuf = 65536;
    EXPECT_EQ(app::tunnel_buffers(t), (io::SocketBuffers{0, 65536}));
}

TEST(TunnelBuffers, GrantedWholeIsOneInfoLine) {
    auto r = describe_buffers("UDP socket", {4194304, 4194304}, {8388608, 8388608});
    EXPECT_EQ(r.info, "UDP socket buffers: receive 8388608, send 8388608 bytes (asked 4194304 each; the kernel doubles it)");
    EXPECT_EQ(r.warning, "");
    r = describe_buffers("UDP socket 2 of 4", {8388608, 4194304}, {16777216, 8388608});
    EXPECT_EQ(r.info, "UDP socket 2 of 4 buffers: receive 16777216, send 8388608 bytes (asked 8388608 and 4194304; the "
                      "kernel doubles it)");
    EXPECT_EQ(r.warning, "");
    r = describe_buffers("TCP socket", {1048576, 0}, {2097152, 87040});
    EXPECT_EQ(r.info, "TCP socket buffers: receive 2097152, send 87040 bytes (asked 1048576 for receive, send left to "
                      "the kernel; the kernel doubles it)");
    EXPECT_EQ(r.warning, "");
    r = describe_buffers("UDP socket", {0, 0}, {212992, 212992});
    EXPECT_EQ(r.info, "UDP socket buffers: receive 212992, send 212992 bytes (the kernel's defaults: tunnel.rcvbuf and "
                      "tunnel.sndbuf are 0)");
    EXPECT_EQ(r.warning, "");
}

// Debian 12's 6.1 kernel without CAP_NET_ADMIN: 212992 caps both, so 425984 of 8388608 each.
TEST(TunnelBuffers, CappedIsAWarningNamingTheSysctl) {
    auto r = describe_buffers("UDP socket", {4194304, 4194304}, {425984, 425984});
    EXPECT_EQ(r.info, "UDP socket buffers: receive 425984, send 425984 bytes (asked 4194304 each; the kernel doubles it)");
    EXPECT_EQ(r.warning.rfind("UDP socket buffers smaller than asked: receive 425984 of 8388608 (net.core.rmem_max caps "
                              "it), send 425984 of 8388608 (net.core.wmem_max caps it); SO_RCVBUFFORCE/SO_SNDBUFFORCE "
                              "need CAP_NET_ADMIN",
                              0),
              0u)
        << r.warning;
    r = describe_buffers("UDP socket", {4194304, 4194304}, {8388608, 425984});
    EXPECT_EQ(r.warning.find("receive"), std::string::npos) << r.warning;
    EXPECT_NE(r.warning.find("send 425984 of 8388608 (net.core.wmem_max caps it)"), std::string::npos) << r.warning;
    // One byte short is short: the kernel grants all (twice the size) or caps.
    r = describe_buffers("UDP socket", {4194304, 0}, {8388607, 212992});
    EXPECT_NE(r.warning.find("receive 8388607 of 8388608 (net.core.rmem_max caps it)"), std::string::npos) << r.warning;
    EXPECT_EQ(r.warning.find("send"), std::string::npos) << r.warning;  // asked 0: nothing to miss
}
