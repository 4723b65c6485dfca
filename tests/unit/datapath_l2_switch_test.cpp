// Table-driven tests of the server's virtual switch: learning, flooding exactly once, c2c on/off,
// ageing, MAC bounds, multicast limit, VLAN membership and tags, live settings, no allocation.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <new>
#include <random>
#include <vector>

#include "datapath/l2_switch.hpp"

// Counts allocations so a test can show forward() never allocates. (GCC cannot see that these
// replace the global operators everywhere, and warns that new and free do not match.)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
std::atomic<std::size_t> g_allocations{0};
}
void* operator new(std::size_t n) {
    ++g_allocations;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace wirebridge::datapath;

namespace {

constexpr std::size_t kRoom = 8;  // headroom the tests give the switch before each frame

// A frame with 02:00:00:00:00:<dst> -> 02:00:00:00:00:<src>, held with kRoom bytes of headroom.
struct Frame {
    std::vector<std::uint8_t> buf;
    std::size_t len;
    std::span<std::uint8_t> span() { return {buf.data() + kRoom, len}; }
};

Frame eth(std::uint8_t dst_last, std::uint8_t src_last, bool dst_group = false, std::size_t len = 60) {
    Frame f{std::vector<std::uint8_t>(kRoom + len, 0), len};
    std::uint8_t* p = f.buf.data() + kRoom;
    p[0] = dst_group ? 0x01 : 0x02;
    p[5] = dst_last;
    p[6] = 0x02;
    p[11] = src_last;
    p[12] = 0x08;  // IPv4
    for (std::size_t i = 14; i < len; ++i) p[i] = static_cast<std::uint8_t>(i);
    return f;
}
Frame bcast(std::uint8_t src_last) {
    Frame f = eth(0xff, src_last);
    std::fill(f.buf.begin() + kRoom, f.buf.begin() + kRoom + 6, 0xff);
    return f;
}
// The same frame with an 802.1Q tag (VID vid) after the MACs.
Frame tagged(Frame f, std::uint16_t vid, std::uint16_t tpid = 0x8100) {
    std::vector<std::uint8_t> b(f.buf.begin(), f.buf.begin() + kRoom + 12);
    b.push_back(static_cast<std::uint8_t>(tpid >> 8));
    b.push_back(static_cast<std::uint8_t>(tpid & 0xff));
    b.push_back(static_cast<std::uint8_t>(vid >> 8));
    b.push_back(static_cast<std::uint8_t>(vid & 0xff));
    b.insert(b.end(), f.buf.begin() + kRoom + 12, f.buf.end());
    return Frame{b, f.len + 4};
}

struct Out {
    std::vector<Port> ports;  // sorted, kTapPort included when to_tap
    SwitchDrop drop = SwitchDrop::none;
};
bool operator==(const Out& a, const Out& b) { return a.ports == b.ports && a.drop == b.drop; }
std::ostream& operator<<(std::ostream& o, const Out& x) {
    o << "{";
    for (Port p : x.ports) o << (p == kTapPort ? std::string("tap") : std::to_string(p)) << " ";
    return o << switch_drop_name(x.drop) << "}";
}

Out fwd(L2Switch& s, Port in, Frame f, std::int64_t now_ms = 10'000) {
    auto d = s.forward(in, f.span(), kRoom, now_ms);
    Out o;
    o.ports.assign(d.clients.begin(), d.clients.end());
    if (d.to_tap) o.ports.push_back(kTapPort);
    std::sort(o.ports.begin(), o.ports.end());
    o.drop = d.drop;
    return o;
}
Out ports(std::vector<Port> v) {
    std::sort(v.begin(), v.end());
    return Out{v, SwitchDrop::none};
}
Out drop(SwitchDrop d) { return Out{{}, d}; }

SwitchSettings c2c(bool on) {
    SwitchSettings s;
    s.client_to_client = on;
    return s;
}

std::uint64_t count(const L2Switch& s, SwitchDrop d) { return s.drops()[static_cast<std::size_t>(d)]; }

}  // namespace

TEST(L2Switch, ClientToClientOn) {
    L2Switch s(c2c(true));
    for (Port p : {1u, 2u, 3u}) s.add_port(p);
    struct Step {
        Port in;
        Frame frame;
        Out expect;
    };
    const std::vector<Step> steps = {
        // unknown unicast from client 1: TAP and the other clients, once each
        {1, eth(0xb2, 0xa1), ports({2, 3, kTapPort})},
        // broadcast from client 2: everyone but the sender
        {2, bcast(0xa2), ports({1, 3, kTapPort})},
        // multicast from the TAP: every client
        {kTapPort, eth(0x16, 0xee, true), ports({1, 2, 3})},
        // learned: client 1's MAC from client 2 goes to 1 only; the TAP's MAC to the TAP only
        {2, eth(0xa1, 0xa2), ports({1})},
        {3, eth(0xee, 0xa3), ports({kTapPort})},
        // from the TAP to a learned client: that client only
        {kTapPort, eth(0xa3, 0xee), ports({3})},
        // to a MAC learned on the ingress port itself: filtered, not a drop
        {1, eth(0xa1, 0xa1), ports({})},
        // client 1's MAC moves to client 3
        {3, bcast(0xa1), ports({1, 2, kTapPort})},
        {kTapPort, eth(0xa1, 0xee), ports({3})},
    };
    for (std::size_t i = 0; i < steps.size(); ++i) EXPECT_EQ(fwd(s, steps[i].in, steps[i].frame), steps[i].expect) << "step " << i;
    EXPECT_EQ(s.mac_count(1), 0u);  // its only MAC moved away
    EXPECT_EQ(s.mac_count(3), 2u);
}

TEST(L2Switch, ClientToClientOffDeliversNothingToOtherClients) {
    L2Switch s(c2c(false));
    for (Port p : {1u, 2u}) s.add_port(p);
    EXPECT_EQ(fwd(s, 1, bcast(0xa1)), ports({kTapPort}));
    EXPECT_EQ(fwd(s, 2, eth(0xa1, 0xa2)), drop(SwitchDrop::client_to_client_off));  // known on client 1
    EXPECT_EQ(fwd(s, 2, eth(0x77, 0xa2)), ports({kTapPort}));                      // unknown: TAP only
    EXPECT_EQ(fwd(s, kTapPort, bcast(0xee)), ports({1, 2}));
    EXPECT_EQ(fwd(s, kTapPort, eth(0xa2, 0xee)), ports({2}));
    EXPECT_EQ(fwd(s, kTapPort, eth(0x99, 0xee)), ports({1, 2}));  // unknown unicast floods
    EXPECT_EQ(count(s, SwitchDrop::client_to_client_off), 1u);
    EXPECT_EQ((*s.port_drops(2))[static_cast<std::size_t>(SwitchDrop::client_to_client_off)], 1u);
    // Turned on live: the same frame is switched to client 1, nobody is removed.
    s.apply(c2c(true));
    EXPECT_EQ(fwd(s, 2, eth(0xa1, 0xa2)), ports({1}));
    EXPECT_EQ(s.clients().size(), 2u);
}

TEST(L2Switch, RemovePortForgetsItsMacsAndBadFramesAreCounted) {
    L2Switch s(c2c(true));
    s.add_port(1);
    s.add_port(2);
    fwd(s, 1, bcast(0xa1));
    EXPECT_EQ(s.mac_count(), 1u);
    s.remove_port(1);
    EXPECT_EQ(s.mac_count(), 0u);
    EXPECT_EQ(fwd(s, kTapPort, eth(0xa1, 0xee)), ports({2}));
    Frame runt{std::vector<std::uint8_t>(kRoom + 10, 0), 10};
    EXPECT_EQ(fwd(s, 2, runt), drop(SwitchDrop::runt));
    EXPECT_EQ(fwd(s, 1, bcast(0xa1)), drop(SwitchDrop::unknown_port));
    Frame group_src = eth(0xee, 0xa2);
    group_src.buf[kRoom + 6] = 0x03;
    EXPECT_EQ(fwd(s, 2, group_src), drop(SwitchDrop::group_source));
    EXPECT_STREQ(switch_drop_name(SwitchDrop::group_source), "group_source");
}

TEST(L2Switch, EntriesAgeAndExpiryFreesTheBound) {
    SwitchSettings st = c2c(true);
    st.mac_age_s = 5;
    st.max_macs_per_client = 2;
    L2Switch s(st);
    s.add_port(1);
    s.add_port(2);
    EXPECT_EQ(fwd(s, 1, bcast(1), 0), ports({2, kTapPort}));
    EXPECT_EQ(fwd(s, 1, bcast(2), 1000), ports({2, kTapPort}));
    EXPECT_EQ(fwd(s, 1, bcast(3), 2000), drop(SwitchDrop::mac_limit));
    std::uint8_t mac1[6] = {2, 0, 0, 0, 0, 1};
    Port p = 0;
    ASSERT_TRUE(s.lookup(mac1, 0, p, 5000));
    EXPECT_EQ(p, 1u);
    EXPECT_FALSE(s.lookup(mac1, 0, p, 5001));  // older than 5 s: forgotten for forwarding at once
    EXPECT_EQ(fwd(s, 2, eth(1, 0xb2), 5001), ports({1, kTapPort}));  // so a frame to it floods
    EXPECT_EQ(fwd(s, 1, bcast(3), 5002), drop(SwitchDrop::mac_limit));  // not swept yet
    s.expire(5500);  // swept: the bound counts live entries only (MAC 2, 4.5 s old, stays)
    EXPECT_EQ(s.mac_count(1), 1u);
    EXPECT_EQ(fwd(s, 1, bcast(3), 5502), ports({2, kTapPort}));
    EXPECT_EQ(s.mac_count(1), 2u);
    // mac_age 0: nothing ages.
    st.mac_age_s = 0;
    s.apply(st);
    s.expire(1'000'000'000);
    EXPECT_EQ(s.mac_count(1), 2u);
    std::uint8_t mac3[6] = {2, 0, 0, 0, 0, 3};
    EXPECT_TRUE(s.lookup(mac3, 0, p, 1'000'000'000));
}

TEST(L2Switch, MacBoundPerClientWithOverride) {
    SwitchSettings st = c2c(true);
    st.max_macs_per_client = 3;
    L2Switch s(st);
    s.add_port(1);
    s.add_port(2, PortSettings{std::nullopt, 1});
    for (std::uint8_t m = 1; m <= 3; ++m) EXPECT_EQ(fwd(s, 1, bcast(m)), ports({2, kTapPort}));
    EXPECT_EQ(fwd(s, 1, bcast(4)), drop(SwitchDrop::mac_limit));
    EXPECT_EQ(fwd(s, 1, bcast(1)), ports({2, kTapPort}));  // a known source is never refused
    EXPECT_EQ(fwd(s, 2, bcast(0x21)), ports({1, kTapPort}));
    EXPECT_EQ(fwd(s, 2, bcast(0x22)), drop(SwitchDrop::mac_limit));
    // A MAC moving onto a client at its bound counts as a new one there: refused, stays where it was.
    EXPECT_EQ(fwd(s, 2, bcast(1)), drop(SwitchDrop::mac_limit));
    std::uint8_t mac1[6] = {2, 0, 0, 0, 0, 1};
    Port p = 0;
    ASSERT_TRUE(s.lookup(mac1, 0, p, 10'000));
    EXPECT_EQ(p, 1u);
    EXPECT_EQ(count(s, SwitchDrop::mac_limit), 3u);
    EXPECT_EQ((*s.port_drops(1))[static_cast<std::size_t>(SwitchDrop::mac_limit)], 1u);
    EXPECT_EQ((*s.port_drops(2))[static_cast<std::size_t>(SwitchDrop::mac_limit)], 2u);
    // Raised live for client 2 (SIGHUP): accepted at once, nothing forgotten.
    s.set_port(2, PortSettings{std::nullopt, 5});
    EXPECT_EQ(fwd(s, 2, bcast(0x22)), ports({1, kTapPort}));
    EXPECT_EQ(s.mac_count(2), 2u);
    // The TAP side has no per-port bound.
    for (int m = 0; m < 50; ++m) EXPECT_EQ(fwd(s, kTapPort, bcast(static_cast<std::uint8_t>(100 + m))), ports({1, 2}));
}

TEST(L2Switch, MulticastLimitIsATokenBucketPerClient) {
    SwitchSettings st = c2c(true);
    st.multicast_limit = 10;
    L2Switch s(st);
    s.add_port(1);
    s.add_port(2);
    std::int64_t t = 100'000;
    int passed = 0;
    for (int i = 0; i < 15; ++i) passed += fwd(s, 1, bcast(0xa1), t).drop == SwitchDrop::none;
    EXPECT_EQ(passed, 10);  // a second's worth of burst
    EXPECT_EQ(count(s, SwitchDrop::multicast_limit), 5u);
    // Client 2 has its own bucket; known unicast is never limited (unknown unicast that floods
    // is: UnknownUnicastFloodsCountAgainstTheMulticastLimit); the TAP is never limited.
    EXPECT_EQ(fwd(s, 2, bcast(0x55), t), ports({1, kTapPort}));
    for (int i = 0; i < 20; ++i) EXPECT_EQ(fwd(s, 1, eth(0x55, 0xa1), t), ports({2}));
    for (int i = 0; i < 20; ++i) EXPECT_EQ(fwd(s, kTapPort, bcast(0xee), t), ports({1, 2}));
    // Refill at 10 frames/s: 300 ms later three more frames pass.
    passed = 0;
    for (int i = 0; i < 10; ++i) passed += fwd(s, 1, eth(0x01, 0xa1, true), t + 300).drop == SwitchDrop::none;
    EXPECT_EQ(passed, 3);
    // Sustained 100 frames/s for 5 s: about 10/s get through (plus the burst).
    passed = 0;
    for (int i = 0; i < 500; ++i) passed += fwd(s, 1, bcast(0xa1), t + 1000 + i * 10).drop == SwitchDrop::none;
    EXPECT_GE(passed, 49);
    EXPECT_LE(passed, 61);
    // Off live: no limit.
    st.multicast_limit = 0;
    s.apply(st);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(fwd(s, 1, bcast(0xa1), t + 6000).drop, SwitchDrop::none);
}

TEST(L2Switch, VlanTaggingClientFramesGetTheirTagTowardsTheTap) {
    SwitchSettings st = c2c(true);
    st.vlan_tagging = true;
    st.vlan_pvid = 7;
    L2Switch s(st);
    s.add_port(1, PortSettings{10, std::nullopt});
    s.add_port(2, PortSettings{10, std::nullopt});
    s.add_port(3);  // the pvid, 7
    EXPECT_EQ(s.port_vlan(3), 7u);
    Frame f = bcast(0xa1);
    const std::vector<std::uint8_t> untagged(f.buf.begin() + kRoom, f.buf.end());
    auto d = s.forward(1, f.span(), kRoom, 1000);
    // Clients of VLAN 10 only, untagged; the TAP too.
    ASSERT_EQ(std::vector<Port>(d.clients.begin(), d.clients.end()), std::vector<Port>{2});
    EXPECT_TRUE(d.to_tap);
    EXPECT_EQ(std::vector<std::uint8_t>(d.client_frame.begin(), d.client_frame.end()), untagged);
    auto t = s.tap_frame();
    const Frame want = tagged(bcast(0xa1), 10);
    EXPECT_EQ(std::vector<std::uint8_t>(t.begin(), t.end()),
              std::vector<std::uint8_t>(want.buf.begin() + kRoom, want.buf.end()));
    EXPECT_EQ(t.data(), f.buf.data() + kRoom - 4);  // in place, in the headroom
    EXPECT_TRUE(s.tap_frame().empty());             // and only once

    // Without headroom the switch tags into its own buffer; the bytes are the same.
    Frame g = bcast(0xa1);
    auto d2 = s.forward(1, g.span(), 0, 1000);
    ASSERT_TRUE(d2.to_tap);
    auto t2 = s.tap_frame();
    EXPECT_EQ(std::vector<std::uint8_t>(t2.begin(), t2.end()),
              std::vector<std::uint8_t>(want.buf.begin() + kRoom, want.buf.end()));

    // Client 3 (VLAN 7): nobody of VLAN 10 hears it; the TAP gets it tagged 7.
    Frame h = bcast(0xa3);
    auto d3 = s.forward(3, h.span(), kRoom, 1000);
    EXPECT_TRUE(d3.clients.empty());
    auto t3 = s.tap_frame();
    ASSERT_GE(t3.size(), 16u);
    EXPECT_EQ(t3[12], 0x81);
    EXPECT_EQ(t3[15], 7);
    // Unicast between VLANs is not switched: 1's MAC from client 3 is unknown in VLAN 7 -> TAP only.
    EXPECT_EQ(fwd(s, 3, eth(0xa1, 0xa3), 1000), ports({kTapPort}));
    // Within VLAN 10 it is.
    EXPECT_EQ(fwd(s, 2, eth(0xa1, 0xa2), 1000), ports({1}));
}

TEST(L2Switch, VlanTaggingTapFramesReachTheirVlanUntagged) {
    SwitchSettings st = c2c(true);
    st.vlan_tagging = true;
    L2Switch s(st);
    s.add_port(1, PortSettings{10, std::nullopt});
    s.add_port(2, PortSettings{20, std::nullopt});
    s.add_port(3, PortSettings{10, std::nullopt});
    Frame f = tagged(bcast(0xee), 10);
    auto d = s.forward(kTapPort, f.span(), kRoom, 1000);
    std::vector<Port> got(d.clients.begin(), d.clients.end());
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<Port>{1, 3}));
    EXPECT_FALSE(d.to_tap);
    const Frame want = bcast(0xee);
    EXPECT_EQ(std::vector<std::uint8_t>(d.client_frame.begin(), d.client_frame.end()),
              std::vector<std::uint8_t>(want.buf.begin() + kRoom, want.buf.end()));
    // Priority bits in the TCI do not change the VLAN.
    EXPECT_EQ(fwd(s, kTapPort, tagged(bcast(0xee), 0xa000 | 20), 1000), ports({2}));
    // Learned per VLAN: client 2's MAC is known in VLAN 20 only.
    fwd(s, 2, bcast(0xa2), 1000);
    EXPECT_EQ(fwd(s, kTapPort, tagged(eth(0xa2, 0xee), 20), 1000), ports({2}));
    EXPECT_EQ(fwd(s, kTapPort, tagged(eth(0xa2, 0xee), 10), 1000), ports({1, 3}));  // unknown in 10: floods 10
    // Dropped and counted: untagged, priority-tagged (VID 0), a VLAN without clients, a tagged client frame.
    EXPECT_EQ(fwd(s, kTapPort, bcast(0xee), 1000), drop(SwitchDrop::vlan_untagged));
    EXPECT_EQ(fwd(s, kTapPort, tagged(bcast(0xee), 0), 1000), drop(SwitchDrop::vlan_untagged));
    EXPECT_EQ(fwd(s, kTapPort, tagged(bcast(0xee), 30), 1000), drop(SwitchDrop::vlan_mismatch));
    EXPECT_EQ(fwd(s, 1, tagged(bcast(0xa1), 10), 1000), drop(SwitchDrop::vlan_tagged_client));
    EXPECT_EQ(fwd(s, 1, tagged(bcast(0xa1), 10, 0x88a8), 1000), drop(SwitchDrop::vlan_tagged_client));
    Frame short_tag = tagged(bcast(0xee), 10);
    short_tag.len = 15;
    EXPECT_EQ(fwd(s, kTapPort, short_tag, 1000), drop(SwitchDrop::runt));
    EXPECT_EQ(count(s, SwitchDrop::vlan_untagged), 2u);
    EXPECT_EQ(count(s, SwitchDrop::vlan_mismatch), 1u);
    EXPECT_EQ(count(s, SwitchDrop::vlan_tagged_client), 2u);
}

TEST(L2Switch, DropsCountedAfterTheDecision) {
    // A TAP write that fails after forward() said to_tap: counted by reason, on the client and in
    // the total; from the TAP side or a gone port only in the total.
    L2Switch s(c2c(true));
    s.add_port(1);
    s.add_port(2);
    s.count_drop(1, SwitchDrop::tap_write);
    s.count_drop(1, SwitchDrop::tap_write);
    s.count_drop(kTapPort, SwitchDrop::tap_write);
    s.count_drop(7, SwitchDrop::tap_write);
    s.count_drop(2, SwitchDrop::none);
    EXPECT_EQ(count(s, SwitchDrop::tap_write), 4u);
    EXPECT_EQ((*s.port_drops(1))[static_cast<std::size_t>(SwitchDrop::tap_write)], 2u);
    EXPECT_EQ((*s.port_drops(2))[static_cast<std::size_t>(SwitchDrop::tap_write)], 0u);
    EXPECT_EQ(count(s, SwitchDrop::none), 0u);
    EXPECT_STREQ(switch_drop_name(SwitchDrop::tap_write), "tap_write");
}

TEST(L2Switch, VlanChangesApplyLive) {
    SwitchSettings st = c2c(true);
    L2Switch s(st);
    s.add_port(1);
    s.add_port(2);
    fwd(s, 1, bcast(0xa1));
    fwd(s, 2, bcast(0xa2));
    EXPECT_EQ(s.port_vlan(1), 0u);
    // Tagging on: every key changes, the table starts afresh, ports stay.
    st.vlan_tagging = true;
    st.vlan_pvid = 5;
    s.apply(st);
    EXPECT_EQ(s.mac_count(), 0u);
    EXPECT_EQ(s.port_vlan(1), 5u);
    fwd(s, 1, bcast(0xa1));
    fwd(s, 2, bcast(0xa2));
    EXPECT_EQ(s.mac_count(), 2u);
    // Client 2 moves to VLAN 6: only its MACs are forgotten; it no longer hears VLAN 5.
    s.set_port(2, PortSettings{6, std::nullopt});
    EXPECT_EQ(s.mac_count(2), 0u);
    EXPECT_EQ(s.mac_count(1), 1u);
    EXPECT_EQ(fwd(s, kTapPort, tagged(bcast(0xee), 5)), ports({1}));
    EXPECT_EQ(fwd(s, kTapPort, tagged(bcast(0xee), 6)), ports({2}));
    // A new pvid moves every client without its own VLAN.
    st.vlan_pvid = 9;
    s.apply(st);
    EXPECT_EQ(s.port_vlan(1), 9u);
    EXPECT_EQ(s.port_vlan(2), 6u);
    EXPECT_EQ(s.mac_count(1), 0u);
}

TEST(L2Switch, ForwardDoesNotAllocate) {
    SwitchSettings st = c2c(true);
    st.multicast_limit = 1000;
    st.vlan_tagging = true;
    L2Switch s(st);
    for (Port p = 0; p < 40; ++p) s.add_port(p);
    std::vector<Frame> frames;
    for (int i = 0; i < 200; ++i) frames.push_back(bcast(static_cast<std::uint8_t>(i)));
    std::vector<Frame> tap_frames;
    for (int i = 0; i < 200; ++i) tap_frames.push_back(tagged(eth(static_cast<std::uint8_t>(i), 0xee), 1));
    const std::size_t before = g_allocations.load();
    for (int i = 0; i < 200; ++i) {
        auto d = s.forward(static_cast<Port>(i % 40), frames[i].span(), kRoom, 5000 + i);
        if (d.to_tap) (void)s.tap_frame();
        (void)s.forward(kTapPort, tap_frames[i].span(), kRoom, 5000 + i);
    }
    s.expire(1'000'000);
    EXPECT_EQ(g_allocations.load(), before);
}

// The open-addressing table against a naive map, through random learning, moves, ageing and removal.
TEST(L2Switch, RandomizedAgainstNaiveModel) {
    SwitchSettings st = c2c(true);
    st.mac_age_s = 3;
    st.max_macs_per_client = 40;
    st.mac_move_limit = 0;  // moves are random and many here; their budget has its own test
    L2Switch s(st);
    std::mt19937 rng(1234);
    struct Entry {
        Port port;
        std::int64_t seen;
    };
    std::map<std::uint8_t, Entry> model;  // MAC (last byte) -> where, when
    std::map<Port, bool> present;
    for (Port p = 1; p <= 6; ++p) {
        s.add_port(p);
        present[p] = true;
    }
    auto live_on = [&](Port p, std::int64_t now) {
        std::size_t n = 0;
        for (auto& [m, e] : model) n += e.port == p && now - e.seen <= 3000;
        return n;
    };
    std::int64_t now = 1000;
    for (int step = 0; step < 20000; ++step) {
        now += rng() % 40;
        const int op = static_cast<int>(rng() % 100);
        if (op < 2) {  // a client leaves or comes back
            const Port p = 1 + rng() % 6;
            if (present[p]) {
                s.remove_port(p);
                for (auto it = model.begin(); it != model.end();) it = it->second.port == p ? model.erase(it) : std::next(it);
            } else {
                s.add_port(p);
            }
            present[p] = !present[p];
            continue;
        }
        if (op < 5) {  // the once-a-second sweep
            s.expire(now);
            for (auto it = model.begin(); it != model.end();) it = now - it->second.seen > 3000 ? model.erase(it) : std::next(it);
            for (Port p = 1; p <= 6; ++p)
                if (present[p]) {
                    ASSERT_EQ(s.mac_count(p), live_on(p, now)) << "step " << step;
                }
            continue;
        }
        const Port in = 1 + rng() % 6;
        const std::uint8_t mac = static_cast<std::uint8_t>(rng() % 250);
        if (!present[in]) continue;
        auto d = s.forward(in, bcast(mac).span(), kRoom, now);
        // The model: counts include entries not yet swept, as the switch's do.
        std::size_t on_in = 0;
        for (auto& [m, e] : model) on_in += e.port == in;
        auto it = model.find(mac);
        const bool known_here = it != model.end() && it->second.port == in;
        if (known_here) {
            it->second.seen = now;
            ASSERT_EQ(d.drop, SwitchDrop::none) << "step " << step;
        } else if (on_in >= 40) {
            ASSERT_EQ(d.drop, SwitchDrop::mac_limit) << "step " << step;
        } else {
            ASSERT_EQ(d.drop, SwitchDrop::none) << "step " << step;
            model[mac] = Entry{in, now};
        }
        // Every MAC the model holds is found where the model says, unless aged.
        const std::uint8_t probe = static_cast<std::uint8_t>(rng() % 250);
        std::uint8_t m6[6] = {2, 0, 0, 0, 0, probe};
        Port p = 0;
        auto mi = model.find(probe);
        const bool want = mi != model.end() && now - mi->second.seen <= 3000;
        ASSERT_EQ(s.lookup(m6, 0, p, now), want) << "step " << step << " mac " << int(probe);
        if (want) {
            ASSERT_EQ(p, mi->second.port);
        }
    }
    ASSERT_EQ(s.mac_count(), model.size());
}

TEST(L2Switch, MacsOnListsLiveEntriesWithAge) {
    L2Switch s(c2c(true));
    s.add_port(4);
    fwd(s, 4, bcast(0x0b), 1000);
    fwd(s, 4, bcast(0x0a), 4000);
    auto m = s.macs_on(4, 11'000);
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[0].mac, "02:00:00:00:00:0a");
    EXPECT_EQ(m[0].age_s, 7);
    EXPECT_EQ(m[1].mac, "02:00:00:00:00:0b");
    EXPECT_EQ(m[1].age_s, 10);
    EXPECT_TRUE(s.macs_on(4, 400'000).empty());  // aged (300 s default)
}

// The table near its fill limit (long probe runs, backward-shift deletion) against a naive map:
// MACs learned on the TAP side, ageing, sweeps, and "full: not learned".
TEST(L2Switch, RandomizedTableAtHighLoad) {
    SwitchSettings st = c2c(true);
    st.mac_age_s = 20;
    L2Switch s(st);
    s.add_port(1, PortSettings{std::nullopt, 1});
    std::mt19937 rng(99);
    std::map<std::uint16_t, std::int64_t> model;  // MAC -> last seen
    std::size_t limit = 0;                        // learned once the table says it is full
    std::int64_t now = 1000;
    auto frame_from = [](std::uint16_t mac) {
        Frame f = bcast(0);
        f.buf[kRoom + 10] = static_cast<std::uint8_t>(mac >> 8);
        f.buf[kRoom + 11] = static_cast<std::uint8_t>(mac & 0xff);
        return f;
    };
    for (int step = 0; step < 60000; ++step) {
        now += rng() % 3;
        if (rng() % 1000 == 0) {
            s.expire(now);
            for (auto it = model.begin(); it != model.end();) it = now - it->second > 20000 ? model.erase(it) : std::next(it);
            ASSERT_EQ(s.mac_count(), model.size()) << "step " << step;
            continue;
        }
        const std::uint16_t mac = static_cast<std::uint16_t>(rng() % 12000);
        const std::size_t before = s.mac_count();
        ASSERT_EQ(fwd(s, kTapPort, frame_from(mac), now), ports({1})) << "step " << step;
        auto it = model.find(mac);
        if (it != model.end()) {
            it->second = now;
        } else if (s.mac_count() == before + 1) {
            model[mac] = now;
        } else {
            // Not learned: only allowed when the table is at its fill limit.
            if (limit == 0) limit = before;
            ASSERT_EQ(before, limit) << "step " << step;
        }
        const std::uint16_t probe = static_cast<std::uint16_t>(rng() % 12000);
        std::uint8_t m6[6] = {2, 0, 0, 0, static_cast<std::uint8_t>(probe >> 8), static_cast<std::uint8_t>(probe & 0xff)};
        Port p = 0;
        auto mi = model.find(probe);
        const bool want = mi != model.end() && now - mi->second <= 20000;
        ASSERT_EQ(s.lookup(m6, 0, p, now), want) << "step " << step << " mac " << probe;
    }
    EXPECT_GT(limit, 4000u);  // the fill limit was reached and exercised
    ASSERT_EQ(s.mac_count(), model.size());
}

// Issue 16: a site must not take over a MAC of the hub's own LAN (its gateway): an L2
// man-in-the-middle of every other site. The frame is dropped and counted; the entry stays on the
// TAP while that station talks, and only an aged entry may be learned elsewhere.
TEST(L2Switch, MacLiveOnTheTapIsNeverTakenByAClient) {
    L2Switch s(c2c(true));
    for (Port p : {1u, 2u}) s.add_port(p);
    EXPECT_EQ(fwd(s, kTapPort, bcast(0xee), 1000), ports({1, 2}));  // the gateway speaks
    EXPECT_EQ(fwd(s, 1, bcast(0xee), 2000), drop(SwitchDrop::mac_sticky));
    EXPECT_EQ(fwd(s, 1, eth(0x01, 0xee), 2000), drop(SwitchDrop::mac_sticky));
    EXPECT_EQ(count(s, SwitchDrop::mac_sticky), 2u);
    EXPECT_EQ(s.port_drops(1)->at(static_cast<std::size_t>(SwitchDrop::mac_sticky)), 2u);
    EXPECT_EQ(fwd(s, 2, eth(0xee, 0xa2), 2000), ports({kTapPort}));  // still the gateway's
    EXPECT_EQ(s.mac_count(1), 0u);
    EXPECT_EQ(s.mac_moves(), 0u);
    // Silent for longer than mac_age (300 s): no longer live, so it may be learned elsewhere.
    EXPECT_EQ(fwd(s, 1, bcast(0xee), 302'000), ports({2, kTapPort}));
    EXPECT_EQ(fwd(s, 2, eth(0xee, 0xa2), 302'000), ports({1}));
}

// Moves between clients: at most mac_move_limit a second per client (bursts of one second's
// worth), each allowed move counted, the rest dropped and counted.
TEST(L2Switch, MacMovesBetweenClientsAreRateLimited) {
    SwitchSettings st = c2c(true);
    st.mac_move_limit = 2;
    L2Switch s(st);
    for (Port p : {1u, 2u}) s.add_port(p);
    for (std::uint8_t m = 1; m <= 6; ++m) EXPECT_EQ(fwd(s, 1, bcast(m), 1000), ports({2, kTapPort}));
    // Client 2 claims all six at once: two moves pass.
    std::size_t moved = 0;
    for (std::uint8_t m = 1; m <= 6; ++m) moved += fwd(s, 2, bcast(m), 2000).drop == SwitchDrop::none;
    EXPECT_EQ(moved, 2u);
    EXPECT_EQ(count(s, SwitchDrop::mac_move_limit), 4u);
    EXPECT_EQ(s.mac_moves(), 2u);
    EXPECT_EQ(s.mac_count(1), 4u);
    // Half a second later one more.
    moved = 0;
    for (std::uint8_t m = 1; m <= 6; ++m) moved += fwd(s, 2, bcast(m), 2500).drop == SwitchDrop::none;
    EXPECT_EQ(moved, 2u + 1u);  // the two it holds refresh (not moves), one moves
    EXPECT_EQ(s.mac_moves(), 3u);
    // A new MAC and one that aged are not moves.
    EXPECT_EQ(fwd(s, 2, bcast(0x40), 2500), ports({1, kTapPort}));
    EXPECT_EQ(s.mac_moves(), 3u);
    st.mac_move_limit = 0;  // no limit
    s.apply(st);
    for (std::uint8_t m = 1; m <= 6; ++m) EXPECT_EQ(fwd(s, 2, bcast(m), 2600).drop, SwitchDrop::none);
    EXPECT_EQ(s.mac_count(1), 0u);
}

// Tagging off: a client's 802.1Q or 802.1ad frame would reach a trunk behind the TAP on that VLAN.
// Dropped and counted unless allow_tagged_frames.
TEST(L2Switch, TaggedClientFramesDroppedWhenTaggingIsOff) {
    SwitchSettings st = c2c(true);
    L2Switch s(st);
    for (Port p : {1u, 2u}) s.add_port(p);
    EXPECT_EQ(fwd(s, 1, tagged(bcast(0xa1), 20)), drop(SwitchDrop::tagged_client));
    EXPECT_EQ(fwd(s, 1, tagged(eth(0xb1, 0xa1), 20, 0x88a8)), drop(SwitchDrop::tagged_client));
    EXPECT_EQ(count(s, SwitchDrop::tagged_client), 2u);
    EXPECT_EQ(fwd(s, 1, bcast(0xa1)), ports({2, kTapPort}));  // untagged is fine
    st.allow_tagged_frames = true;
    s.apply(st);
    EXPECT_EQ(fwd(s, 1, tagged(bcast(0xa1), 20)), ports({2, kTapPort}));
    // The TAP side is the trusted one: its tagged frames were never refused.
    EXPECT_EQ(fwd(s, kTapPort, tagged(bcast(0xee), 20)), ports({1, 2}));
}

// Unknown unicast that floods to other clients (client_to_client on) spends the same budget as
// broadcast and multicast: otherwise a site floods every other site with frames to made-up MACs.
TEST(L2Switch, UnknownUnicastFloodsCountAgainstTheMulticastLimit) {
    SwitchSettings st = c2c(true);
    st.multicast_limit = 5;
    L2Switch s(st);
    for (Port p : {1u, 2u, 3u}) s.add_port(p);
    std::size_t flooded = 0;
    for (std::uint8_t m = 0; m < 10; ++m) flooded += fwd(s, 1, eth(static_cast<std::uint8_t>(0x80 + m), 0xa1), 1000).drop == SwitchDrop::none;
    EXPECT_EQ(flooded, 5u);
    EXPECT_EQ(count(s, SwitchDrop::multicast_limit), 5u);
    // Known unicast is not limited.
    fwd(s, 2, bcast(0xa2), 1000);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(fwd(s, 1, eth(0xa2, 0xa1), 1000), ports({2}));
    // client_to_client off: unknown unicast goes to the TAP only (no amplification), not limited.
    L2Switch off([] {
        SwitchSettings o;
        o.multicast_limit = 5;
        return o;
    }());
    off.add_port(1);
    for (std::uint8_t m = 0; m < 10; ++m) EXPECT_EQ(fwd(off, 1, eth(static_cast<std::uint8_t>(0x80 + m), 0xa1), 1000), ports({kTapPort}));
}

// tunnel.clients macs (issue 16): a client with an allowlist sends only from those MACs; any other
// source is dropped before it is learned (mac_not_allowed, in the total and on the port), so it
// cannot take another station's MAC or flood from made-up ones. Clients without a list are as
// before; a changed list forgets what the port had learned.
TEST(L2Switch, ClientWithAMacAllowlistSendsOnlyFromItsMacs) {
    L2Switch s(c2c(true));
    PortSettings listed;
    listed.allowed_macs = std::vector<Mac>{{0x02, 0, 0, 0, 0, 0xa1}};
    s.add_port(1, listed);
    s.add_port(2);
    EXPECT_EQ(fwd(s, 1, bcast(0xa1)), ports({2, kTapPort}));
    EXPECT_EQ(fwd(s, 2, eth(0xa1, 0xb1)), ports({1}));  // learned: 0xa1 on 1, 0xb1 on 2
    // Spoofing: another client's MAC, a made-up one, the TAP side's.
    EXPECT_EQ(fwd(s, 1, eth(0xa1, 0xb1)), drop(SwitchDrop::mac_not_allowed));
    EXPECT_EQ(fwd(s, 1, bcast(0xc7)), drop(SwitchDrop::mac_not_allowed));
    EXPECT_EQ(fwd(s, kTapPort, eth(0xb1, 0xee)), ports({2}));  // 0xb1 still on port 2
    EXPECT_EQ(fwd(s, 1, eth(0xb1, 0xee)), drop(SwitchDrop::mac_not_allowed));
    EXPECT_EQ(count(s, SwitchDrop::mac_not_allowed), 3u);
    EXPECT_EQ((*s.port_drops(1))[static_cast<std::size_t>(SwitchDrop::mac_not_allowed)], 3u);
    EXPECT_EQ(s.mac_count(1), 1u);  // nothing learned from the refused frames
    EXPECT_EQ(fwd(s, kTapPort, eth(0xc7, 0xee)), ports({1, 2}));  // 0xc7 unknown: flooded
    // A client without a list sends from anything.
    EXPECT_EQ(fwd(s, 2, bcast(0xb9)), ports({1, kTapPort}));
    // A new list (SIGHUP) forgets the port's MACs; no list: any source again.
    PortSettings other;
    other.allowed_macs = std::vector<Mac>{{0x02, 0, 0, 0, 0, 0xa3}, {0x02, 0, 0, 0, 0, 0xa4}};
    s.set_port(1, other);
    EXPECT_EQ(s.mac_count(1), 0u);
    EXPECT_EQ(fwd(s, 1, bcast(0xa1)), drop(SwitchDrop::mac_not_allowed));
    EXPECT_EQ(fwd(s, 1, bcast(0xa4)), ports({2, kTapPort}));
    s.set_port(1, PortSettings{});
    EXPECT_EQ(fwd(s, 1, bcast(0xa1)), ports({2, kTapPort}));
    EXPECT_STREQ(switch_drop_name(SwitchDrop::mac_not_allowed), "mac_not_allowed");
}
