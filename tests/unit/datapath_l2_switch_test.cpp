// Table-driven tests of the server's virtual switch: learning, flooding exactly once, c2c on/off.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "datapath/l2_switch.hpp"

using namespace wirebridge::datapath;

namespace {

std::vector<std::uint8_t> eth(std::uint8_t dst_last, std::uint8_t src_last, bool dst_group = false) {
    std::vector<std::uint8_t> f(60, 0);
    f[0] = dst_group ? 0x01 : 0x02;
    f[5] = dst_last;
    f[6] = 0x02;
    f[11] = src_last;
    return f;
}
const std::vector<std::uint8_t> kBroadcast = [] {
    auto f = eth(0xff, 0);
    std::fill(f.begin(), f.begin() + 6, 0xff);
    return f;
}();

std::vector<Port> fwd(L2Switch& s, Port in, std::vector<std::uint8_t> f, std::uint8_t src_last) {
    f[11] = src_last;
    auto out = s.forward(in, f, 10);
    std::vector<Port> v(out.begin(), out.end());
    std::sort(v.begin(), v.end());
    return v;
}

}  // namespace

TEST(L2Switch, ClientToClientOn) {
    L2Switch s(true);
    for (Port p : {1u, 2u, 3u}) s.add_port(p);
    struct Step {
        Port in;
        std::vector<std::uint8_t> frame;
        std::uint8_t src;
        std::vector<Port> expect;
    };
    const std::vector<Step> steps = {
        // unknown unicast from client 1: TAP and the other clients, once each
        {1, eth(0xb2, 0), 0xa1, {2, 3, kTapPort}},
        // broadcast from client 2: everyone but the sender
        {2, kBroadcast, 0xa2, {1, 3, kTapPort}},
        // multicast from the TAP: every client
        {kTapPort, eth(0x16, 0, true), 0xee, {1, 2, 3}},
        // learned: client 1's MAC from client 2 goes to 1 only; the TAP's MAC to the TAP only
        {2, eth(0xa1, 0), 0xa2, {1}},
        {3, eth(0xee, 0), 0xa3, {kTapPort}},
        // from the TAP to a learned client: that client only
        {kTapPort, eth(0xa3, 0), 0xee, {3}},
        // to a MAC learned on the ingress port itself: dropped
        {1, eth(0xa1, 0), 0xa1, {}},
        // client 1's MAC moves to client 3
        {3, kBroadcast, 0xa1, {1, 2, kTapPort}},
        {kTapPort, eth(0xa1, 0), 0xee, {3}},
    };
    for (std::size_t i = 0; i < steps.size(); ++i)
        EXPECT_EQ(fwd(s, steps[i].in, steps[i].frame, steps[i].src), steps[i].expect) << "step " << i;
}

TEST(L2Switch, ClientToClientOffSendsEverythingFromClientsToTap) {
    L2Switch s(false);
    for (Port p : {1u, 2u}) s.add_port(p);
    EXPECT_EQ(fwd(s, 1, kBroadcast, 0xa1), (std::vector<Port>{kTapPort}));
    EXPECT_EQ(fwd(s, 2, eth(0xa1, 0), 0xa2), (std::vector<Port>{kTapPort}));  // known client 1: still TAP
    EXPECT_EQ(fwd(s, kTapPort, kBroadcast, 0xee), (std::vector<Port>{1, 2}));
    EXPECT_EQ(fwd(s, kTapPort, eth(0xa2, 0), 0xee), (std::vector<Port>{2}));
    EXPECT_EQ(fwd(s, kTapPort, eth(0x99, 0), 0xee), (std::vector<Port>{1, 2}));  // unknown unicast floods
}

TEST(L2Switch, RemovePortForgetsItsMacsAndRuntFrames) {
    L2Switch s(true);
    s.add_port(1);
    s.add_port(2);
    fwd(s, 1, kBroadcast, 0xa1);
    EXPECT_EQ(s.mac_count(), 1u);
    s.remove_port(1);
    EXPECT_EQ(s.mac_count(), 0u);
    EXPECT_EQ(fwd(s, kTapPort, eth(0xa1, 0), 0xee), (std::vector<Port>{2}));
    std::vector<std::uint8_t> runt(10, 0);
    EXPECT_TRUE(s.forward(2, runt, 10).empty());
}

TEST(L2Switch, TableIsBoundedAndAges) {
    L2Switch s(true, 2, 5);
    s.add_port(1);
    s.add_port(2);
    auto f = kBroadcast;
    f[11] = 1;
    s.forward(1, f, 0);
    f[11] = 2;
    s.forward(1, f, 0);
    f[11] = 3;
    s.forward(1, f, 1);  // full, nothing expired: not learned
    EXPECT_EQ(s.mac_count(), 2u);
    f[11] = 4;
    s.forward(2, f, 100);  // full, both expired: evicted, learned
    EXPECT_EQ(s.mac_count(), 1u);
    std::uint8_t mac[6] = {2, 0, 0, 0, 0, 4};
    Port p = 0;
    ASSERT_TRUE(s.lookup(mac, p, 100));
    EXPECT_EQ(p, 2u);
    EXPECT_FALSE(s.lookup(mac, p, 200));  // aged out
}
