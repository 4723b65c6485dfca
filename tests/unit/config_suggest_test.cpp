// Tests of the config errors' help: "did you mean" for misspelt keys, a duplicate key pointing at
// the first, a tab in indentation named as such, and errors in file order.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.hpp"
#include "config/suggest.hpp"

using namespace wirebridge::config;

namespace {

const char* kSite =
    "site: branch-a\n"
    "tunnel:\n"
    "  role: client\n"
    "  remote: [203.0.113.1:1194]\n"
    "  ca: ca.crt\n"
    "  cert: site.crt\n"
    "  key: site.key\n";

LoadResult parse(const std::string& text) { return parse_config(text, "x.yaml", LoadOptions{false}); }

std::string all(const LoadResult& r) {
    std::string s;
    for (const auto& e : r.errors) s += e.to_string() + "\n";
    return s;
}

}  // namespace

TEST(Suggest, ClosestNameIsATypoOrNothing) {
    const std::vector<std::string> keys{"keepalive", "reneg_seconds", "data_ciphers", "tls_crypt", "pool", "role"};
    EXPECT_EQ(closest_name("kepalive", keys), "keepalive");
    EXPECT_EQ(closest_name("keepailve", keys), "keepalive");  // two letters swapped: one edit
    EXPECT_EQ(closest_name("Data_Cipher", keys), "data_ciphers");
    EXPECT_EQ(closest_name("tls-crypt", keys), "tls_crypt");
    EXPECT_EQ(closest_name("rol", keys), "role");
    EXPECT_EQ(closest_name("colour", keys), std::nullopt);
    EXPECT_EQ(closest_name("", keys), std::nullopt);
}

TEST(Suggest, IndentingTabs) {
    const auto t = indenting_tabs("a: 1\n\tb: 2\n  # \tcomment\n  c:\td\n \t e: 3\n");
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[0], std::make_pair(2, 1));
    EXPECT_EQ(t[1], std::make_pair(5, 2));
}

TEST(ConfigErrors, MisspeltKeySaysWhatItMeant) {
    auto r = parse(std::string(kSite) + "  kepalive: {interval: 2, timeout: 10}\n");
    ASSERT_EQ(r.errors.size(), 1u) << all(r);
    EXPECT_EQ(r.errors[0].line, 8);
    EXPECT_NE(r.errors[0].message.find("unknown key 'kepalive' in tunnel; did you mean 'keepalive'?"), std::string::npos)
        << all(r);
    r = parse(std::string(kSite) + "  colour: red\n");
    EXPECT_EQ(r.errors[0].message.find("did you mean"), std::string::npos) << all(r);
}

TEST(ConfigErrors, DuplicateKeyNamesTheFirst) {
    auto r = parse(std::string(kSite) + "  role: server\n");
    ASSERT_EQ(r.errors.size(), 1u) << all(r);
    EXPECT_EQ(r.errors[0].line, 8);
    EXPECT_NE(r.errors[0].message.find("key 'role' appears twice in tunnel; the first is at line 3 column 3"),
              std::string::npos) << all(r);
}

TEST(ConfigErrors, TabInIndentationIsNamed) {
    std::string text = kSite;
    text.replace(text.find("  key:"), 2, "\t");
    auto r = parse(text);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.errors[0].to_string(), "x.yaml:7:1: a tab indents this line; YAML indents with spaces only") << all(r);
}

TEST(ConfigErrors, SortedByLine) {
    // The validator finds the bad log level (line 1) after the tunnel's errors; the report is in file order.
    auto r = parse(std::string("log: {level: loud}\n") + kSite + "  proto: sctp\n  wat: 1\n");
    ASSERT_GE(r.errors.size(), 3u) << all(r);
    for (std::size_t i = 1; i < r.errors.size(); ++i)
        EXPECT_LE(r.errors[i - 1].line, r.errors[i].line) << all(r);
    EXPECT_EQ(r.errors.front().line, 1) << all(r);
}
