// Parsing /proc/net/gwmark/{stats,flows} in the format include/xt_GWMARK.h fixes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "nl/gwmark_proc.hpp"

namespace wirebridge::nl {
namespace {

constexpr const char* kStats =
    "learned 42\nreply_xmit 1311\norig_xmit 0\nmiss 3\nmac_updates 1\nfallback 2\n"
    "evicted 0\nerrors 0\nentries 17\nmax_entries 65536\n"
    "reply_mark 0x00000032/0xffffffff\norig_mark off\n";

TEST(GwmarkProcTest, ParsesTheStatsExampleOfTheAbiHeader) {
    auto st = parse_gwmark_stats(kStats);
    ASSERT_TRUE(st) << st.error().message;
    EXPECT_EQ(st->counter("learned"), 42u);
    EXPECT_EQ(st->counter("reply_xmit"), 1311u);
    EXPECT_EQ(st->counter("entries"), 17u);
    EXPECT_EQ(st->counter("max_entries"), 65536u);
    EXPECT_EQ(st->counter("no_such_counter"), 0u);
    ASSERT_TRUE(st->reply_mark.has_value());
    EXPECT_EQ(st->reply_mark->value, 0x32u);
    EXPECT_EQ(st->reply_mark->mask, 0xffffffffu);
    EXPECT_FALSE(st->orig_mark.has_value());
}

TEST(GwmarkProcTest, NewCountersOfANewerModuleAreKept) {
    auto st = parse_gwmark_stats("learned 1\nfuture_counter 9\n");
    ASSERT_TRUE(st);
    EXPECT_EQ(st->counter("future_counter"), 9u);
}

TEST(GwmarkProcTest, RefusesBrokenStatsWithTheLine) {
    auto a = parse_gwmark_stats("learned 1\nreply_xmit many\n");
    ASSERT_FALSE(a);
    EXPECT_NE(a.error().message.find("line 2"), std::string::npos) << a.error().message;
    EXPECT_FALSE(parse_gwmark_stats("reply_mark 0x32\n"));
    EXPECT_FALSE(parse_gwmark_stats("reply_mark 32/ff\n"));
    EXPECT_FALSE(parse_gwmark_stats("learned\n"));
    EXPECT_FALSE(parse_gwmark_stats("learned 1 2\n"));
    EXPECT_FALSE(parse_gwmark_stats("learned -1\n"));
}

TEST(GwmarkProcTest, ParsesFlowsIpv4AndIpv6AndSkipsTheHeader) {
    auto fl = parse_gwmark_flows(
        "# family proto src sport dst dport reply_to gateway dev age\n"
        "ipv4 tcp 192.0.2.10 40312 198.51.100.7 22 02:00:00:00:0a:01 02:00:00:00:0a:fe lan0 3\n"
        "ipv6 udp 2001:db8::10 5353 2001:db8::1 53 02:00:00:00:0a:01 02:00:00:00:0a:fe - 120\n");
    ASSERT_TRUE(fl) << fl.error().message;
    ASSERT_EQ(fl->size(), 2u);
    EXPECT_EQ((*fl)[0].src, "192.0.2.10");
    EXPECT_EQ((*fl)[0].sport, 40312);
    EXPECT_EQ((*fl)[0].dport, 22);
    EXPECT_EQ((*fl)[0].reply_to, "02:00:00:00:0a:01");
    EXPECT_EQ((*fl)[0].device, "lan0");
    EXPECT_EQ((*fl)[1].family, "ipv6");
    EXPECT_EQ((*fl)[1].device, "-");
    EXPECT_EQ((*fl)[1].age, 120u);
}

TEST(GwmarkProcTest, RefusesShortOrNonNumericFlowLines) {
    EXPECT_FALSE(parse_gwmark_flows("ipv4 tcp 192.0.2.10 40312 198.51.100.7 22\n"));
    EXPECT_FALSE(parse_gwmark_flows(
        "ipv4 tcp 192.0.2.10 x 198.51.100.7 22 02:00:00:00:0a:01 02:00:00:00:0a:fe lan0 3\n"));
    EXPECT_FALSE(parse_gwmark_flows(
        "ipv4 tcp 192.0.2.10 70000 198.51.100.7 22 02:00:00:00:0a:01 02:00:00:00:0a:fe lan0 3\n"));
}

TEST(GwmarkProcTest, MissingModuleIsSaidPlainly) {
    auto st = read_gwmark_stats("/nonexistent/gwmark");
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message.find("not loaded"), std::string::npos) << st.error().message;
}

// The daemon opens the (root-only) flows file before it drops privileges and re-reads it
// through the kept descriptor: each read() starts again at offset 0 and sees the file as it is
// now, even once the path itself is gone.
TEST(GwmarkProcTest, FlowsFileIsReReadThroughTheKeptDescriptor) {
    char dir[] = "/tmp/wb-gwmark-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    const std::string path = std::string(dir) + "/flows";
    auto write = [&](const char* text) {
        FILE* f = fopen(path.c_str(), "w");
        ASSERT_NE(f, nullptr);
        fputs(text, f);
        fclose(f);
    };
    write("# family proto src sport dst dport reply_to gateway dev age\n"
          "ipv4 tcp 192.0.2.10 40312 198.51.100.7 22 02:00:00:00:0a:01 02:00:00:00:0a:fe lan0 3\n");
    auto file = GwmarkFlowsFile::open(dir);
    ASSERT_TRUE(file) << file.error().message;
    auto first = file->read();
    ASSERT_TRUE(first);
    ASSERT_EQ(first->size(), 1u);
    EXPECT_EQ((*first)[0].sport, 40312);

    // Same inode, new contents (truncate and rewrite), then the path removed.
    write("# family proto src sport dst dport reply_to gateway dev age\n"
          "ipv6 udp 2001:db8::1 53 2001:db8::2 5353 02:00:00:00:0a:01 02:00:00:00:0a:fe lan0 0\n"
          "ipv4 udp 192.0.2.10 5000 198.51.100.7 6000 02:00:00:00:0a:01 02:00:00:00:0a:fe lan0 1\n");
    ASSERT_EQ(unlink(path.c_str()), 0);
    auto second = file->read();
    ASSERT_TRUE(second) << second.error().message;
    ASSERT_EQ(second->size(), 2u);
    EXPECT_EQ((*second)[0].family, "ipv6");
    EXPECT_EQ((*second)[1].dport, 6000);
    rmdir(dir);

    auto missing = GwmarkFlowsFile::open("/nonexistent/gwmark");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("not loaded"), std::string::npos);
}

}  // namespace
}  // namespace wirebridge::nl
