// netlink_lengths_ok and the rtnetlink reply decoders on malformed replies (what the nl_*_fuzz
// targets found: a length of 2^31 or more, a string attribute without its NUL).
#include <gtest/gtest.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "nl/netlink_buffer.hpp"
#include "nl/rtnetlink.hpp"

namespace wirebridge::nl {
namespace {

std::vector<uint8_t> message(uint16_t type, const std::vector<uint8_t>& body, uint32_t len_override = 0) {
    std::vector<uint8_t> m(sizeof(nlmsghdr) + body.size());
    nlmsghdr h{};
    h.nlmsg_len = len_override ? len_override : static_cast<uint32_t>(m.size());
    h.nlmsg_type = type;
    std::memcpy(m.data(), &h, sizeof h);
    if (!body.empty()) std::memcpy(m.data() + sizeof h, body.data(), body.size());
    return m;
}

// An RTM_NEWLINK for index 3 whose IFLA_IFNAME is "br0", with or without its NUL.
std::vector<uint8_t> link_message(bool nul) {
    std::vector<uint8_t> body(sizeof(ifinfomsg), 0);
    ifinfomsg ifi{};
    ifi.ifi_index = 3;
    std::memcpy(body.data(), &ifi, sizeof ifi);
    const uint16_t alen = nul ? 8 : 7, atype = IFLA_IFNAME;
    body.push_back(static_cast<uint8_t>(alen));
    body.push_back(0);
    body.push_back(static_cast<uint8_t>(atype));
    body.push_back(0);
    for (char c : {'b', 'r', '0'}) body.push_back(static_cast<uint8_t>(c));
    body.push_back(nul ? 0 : 'x');  // without a NUL, the padding byte is not one either
    return message(RTM_NEWLINK, body);
}

TEST(NetlinkBuffer, LengthsMustStayInsideTheBuffer) {
    auto ok = link_message(true);
    EXPECT_TRUE(netlink_lengths_ok(ok.data(), ok.size()));
    auto two = ok;
    two.insert(two.end(), ok.begin(), ok.end());
    EXPECT_TRUE(netlink_lengths_ok(two.data(), two.size()));
    EXPECT_TRUE(netlink_lengths_ok(nullptr, 0));
    // 2^31 and more: libmnl compares it as a negative int and would walk past the buffer.
    auto huge = message(RTM_NEWLINK, std::vector<uint8_t>(16), 0x85545454u);
    EXPECT_FALSE(netlink_lengths_ok(huge.data(), huge.size()));
    auto wraps = message(RTM_NEWLINK, std::vector<uint8_t>(16), 0xfffffffeu);
    EXPECT_FALSE(netlink_lengths_ok(wraps.data(), wraps.size()));
    // Longer than what is left, or shorter than a header; a last message without its padding is
    // fine (the kernel sends some so).
    auto longer = message(RTM_NEWLINK, std::vector<uint8_t>(16), 40);
    EXPECT_FALSE(netlink_lengths_ok(longer.data(), longer.size()));
    auto unpadded = message(RTM_NEWLINK, std::vector<uint8_t>(3));  // 19 bytes: aligned 20
    EXPECT_TRUE(netlink_lengths_ok(unpadded.data(), unpadded.size()));
    auto tiny = message(RTM_NEWLINK, {}, 8);
    EXPECT_FALSE(netlink_lengths_ok(tiny.data(), tiny.size()));
}

TEST(NetlinkBuffer, DecodersSkipWhatIsMalformed) {
    std::vector<LinkInfo> links;
    auto ok = link_message(true);
    decode_links(ok, links);
    ASSERT_EQ(links.size(), 1u);
    EXPECT_EQ(links[0].index, 3);
    EXPECT_EQ(links[0].name, "br0");
    // A name without its NUL is read up to the attribute's end, never past it.
    links.clear();
    auto no_nul = link_message(false);
    decode_links(no_nul, links);
    ASSERT_EQ(links.size(), 1u);
    EXPECT_EQ(links[0].name, "br0");  // not "br0x..." (strlen into the padding and on)
    // A message too short for its ifinfomsg is skipped; a buffer with a bad length, all of it.
    links.clear();
    auto short_msg = message(RTM_NEWLINK, std::vector<uint8_t>(4));
    decode_links(short_msg, links);
    EXPECT_TRUE(links.empty());
    auto bad = ok;
    auto huge = message(RTM_NEWLINK, std::vector<uint8_t>(16), 0x80000000u);
    bad.insert(bad.end(), huge.begin(), huge.end());
    decode_links(bad, links);
    EXPECT_TRUE(links.empty());
    std::vector<IfAddress> addrs;
    decode_addresses(short_msg, 3, addrs);
    EXPECT_TRUE(addrs.empty());
}

}  // namespace
}  // namespace wirebridge::nl
