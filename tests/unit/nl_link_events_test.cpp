// Tests of LinkEvents in a private network namespace: a device going down and up is named,
// other devices are not, and nothing pending reads as nothing.
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "nl/link_events.hpp"

namespace wirebridge::nl {
namespace {

class LinkEventsTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace";
        ASSERT_EQ(unshare(CLONE_NEWNET), 0);
        sh("ip link add wbl-tap type veth peer name wbl-tapp");
        sh("ip link add wbl-other type veth peer name wbl-otherp");
    }
    static void sh(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }
    // Waits (bounded) until the socket is readable.
    static bool readable(int fd, int ms = 2000) {
        pollfd p{fd, POLLIN, 0};
        return poll(&p, 1, ms) == 1;
    }
};

TEST_F(LinkEventsTest, NamesTheDeviceThatChanged) {
    auto ev = LinkEvents::open();
    ASSERT_TRUE(ev) << ev.error().message;
    EXPECT_FALSE(readable(ev->fd(), 50));
    auto none = ev->drain("wbl-tap");
    ASSERT_TRUE(none) << none.error().message;
    EXPECT_FALSE(*none);

    sh("ip link set wbl-other up");
    ASSERT_TRUE(readable(ev->fd()));
    auto other = ev->drain("wbl-tap");
    ASSERT_TRUE(other) << other.error().message;
    EXPECT_FALSE(*other) << "another device changed";

    sh("ip link set wbl-tap up");
    ASSERT_TRUE(readable(ev->fd()));
    auto up = ev->drain("wbl-tap");
    ASSERT_TRUE(up) << up.error().message;
    EXPECT_TRUE(*up);
    EXPECT_FALSE(*ev->drain("wbl-tap")) << "drained: nothing left";

    sh("ip link set wbl-tap down");
    ASSERT_TRUE(readable(ev->fd()));
    EXPECT_TRUE(*ev->drain("wbl-tap"));

    sh("ip link del wbl-tap");
    ASSERT_TRUE(readable(ev->fd()));
    EXPECT_TRUE(*ev->drain("wbl-tap")) << "RTM_DELLINK names it too";
}

}  // namespace
}  // namespace wirebridge::nl
