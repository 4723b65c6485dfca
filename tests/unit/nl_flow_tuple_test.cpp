// FlowTuple parsing on table-driven header bytes, and selector matching.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <vector>

#include "nl/flow_tuple.hpp"

namespace wirebridge::nl {
namespace {

std::vector<uint8_t> v4_packet(uint8_t proto, const char* src, const char* dst, uint16_t sport, uint16_t dport,
                               uint16_t frag = 0) {
    std::vector<uint8_t> p(28, 0);
    p[0] = 0x45;
    p[6] = static_cast<uint8_t>(frag >> 8);
    p[7] = static_cast<uint8_t>(frag);
    p[9] = proto;
    inet_pton(AF_INET, src, &p[12]);
    inet_pton(AF_INET, dst, &p[16]);
    p[20] = static_cast<uint8_t>(sport >> 8);
    p[21] = static_cast<uint8_t>(sport);
    p[22] = static_cast<uint8_t>(dport >> 8);
    p[23] = static_cast<uint8_t>(dport);
    return p;
}

std::vector<uint8_t> v6_packet(std::vector<uint8_t> ext, uint8_t first_next, uint16_t sport, uint16_t dport) {
    std::vector<uint8_t> p(40, 0);
    p[0] = 0x60;
    p[6] = first_next;
    inet_pton(AF_INET6, "2001:db8:1::10", &p[8]);
    inet_pton(AF_INET6, "2001:db8:20::5", &p[24]);
    p.insert(p.end(), ext.begin(), ext.end());
    p.insert(p.end(), {static_cast<uint8_t>(sport >> 8), static_cast<uint8_t>(sport), static_cast<uint8_t>(dport >> 8),
                       static_cast<uint8_t>(dport), 0, 0, 0, 0});
    return p;
}

TrafficSelector sel(const char* dst, L4Proto proto = L4Proto::any, std::optional<uint16_t> dport = {}) {
    TrafficSelector s;
    if (dst) s.dst = *IfAddress::parse(dst);
    s.proto = proto;
    s.dport = dport;
    return s;
}

TEST(FlowTupleTest, ReadsIpv4TcpPorts) {
    auto t = parse_flow_tuple(v4_packet(IPPROTO_TCP, "192.0.2.10", "10.20.0.5", 40000, 22));
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->family, AF_INET);
    EXPECT_EQ(t->proto, IPPROTO_TCP);
    EXPECT_EQ(t->sport, 40000);
    EXPECT_EQ(t->dport, 22);
    EXPECT_EQ(t->to_string(), "tcp 192.0.2.10:40000 -> 10.20.0.5:22");
}

TEST(FlowTupleTest, LaterFragmentsAndIcmpHaveNoPorts) {
    auto frag = parse_flow_tuple(v4_packet(IPPROTO_UDP, "192.0.2.10", "10.20.0.5", 1, 2, 0x0010));
    ASSERT_TRUE(frag);
    EXPECT_EQ(frag->dport, 0);
    auto icmp = parse_flow_tuple(v4_packet(IPPROTO_ICMP, "192.0.2.10", "10.20.0.5", 0x0800, 7));
    ASSERT_TRUE(icmp);
    EXPECT_EQ(icmp->dport, 0);
}

TEST(FlowTupleTest, WalksIpv6ExtensionHeaders) {
    // hop-by-hop (8 bytes, next = fragment), fragment (offset 0, next = UDP)
    std::vector<uint8_t> ext = {IPPROTO_FRAGMENT, 0, 0, 0, 0, 0, 0, 0, IPPROTO_UDP, 0, 0, 0, 0, 0, 0, 1};
    auto t = parse_flow_tuple(v6_packet(ext, IPPROTO_HOPOPTS, 5353, 53));
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->family, AF_INET6);
    EXPECT_EQ(t->proto, IPPROTO_UDP);
    EXPECT_EQ(t->dport, 53);
    EXPECT_EQ(t->to_string(), "udp [2001:db8:1::10]:5353 -> [2001:db8:20::5]:53");
}

TEST(FlowTupleTest, RefusesTruncatedHeaders) {
    auto p = v4_packet(IPPROTO_TCP, "192.0.2.10", "10.20.0.5", 1, 2);
    EXPECT_FALSE(parse_flow_tuple(std::span(p.data(), 19)));
    p[0] = 0x4f;  // header length 60 > packet
    EXPECT_FALSE(parse_flow_tuple(p));
    p[0] = 0x44;  // header length 16 < 20
    EXPECT_FALSE(parse_flow_tuple(p));
    std::vector<uint8_t> hop = {IPPROTO_TCP, 9};  // claims 80 bytes of options
    auto v6 = v6_packet(hop, IPPROTO_HOPOPTS, 1, 2);
    auto t = parse_flow_tuple(v6);
    ASSERT_TRUE(t);  // the header itself is whole; the ports are simply not there
    EXPECT_EQ(t->dport, 0);
    std::vector<uint8_t> frag = {IPPROTO_TCP, 0, 0};
    std::vector<uint8_t> cut(40, 0);
    cut[0] = 0x60;
    cut[6] = IPPROTO_FRAGMENT;
    cut.insert(cut.end(), frag.begin(), frag.end());
    EXPECT_FALSE(parse_flow_tuple(cut));
    EXPECT_FALSE(parse_flow_tuple(std::vector<uint8_t>{0x50, 0, 0}));
}

TEST(TrafficSelectorTest, MatchesPrefixProtoAndPort) {
    auto t = *parse_flow_tuple(v4_packet(IPPROTO_TCP, "192.0.2.10", "10.20.3.5", 40000, 22));
    EXPECT_TRUE(sel("10.20.0.0/16").matches(t));
    EXPECT_FALSE(sel("10.21.0.0/16").matches(t));
    EXPECT_TRUE(sel("10.20.3.0/25").matches(t));
    EXPECT_FALSE(sel("10.20.3.128/25").matches(t));
    EXPECT_TRUE(sel("0.0.0.0/0").matches(t));
    EXPECT_TRUE(sel(nullptr, L4Proto::tcp, 22).matches(t));
    EXPECT_FALSE(sel(nullptr, L4Proto::udp, 22).matches(t));
    EXPECT_FALSE(sel(nullptr, L4Proto::tcp, 23).matches(t));
    EXPECT_FALSE(sel("2001:db8::/32").matches(t));
    EXPECT_FALSE(sel(nullptr, L4Proto::icmpv6).matches(t));
    EXPECT_EQ(sel("10.20.0.0/16", L4Proto::tcp, 22).to_string(), "dst 10.20.0.0/16 tcp dport 22");
    EXPECT_EQ(sel(nullptr, L4Proto::icmp).family(), AF_INET);
    EXPECT_EQ(sel(nullptr, L4Proto::tcp).family(), 0);
}

}  // namespace
}  // namespace wirebridge::nl
