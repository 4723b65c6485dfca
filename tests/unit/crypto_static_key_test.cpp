// Static key files: parse what `openvpn --genkey` writes, write exactly its format (and openvpn
// accepts ours), refuse malformed files with line numbers, select keys by direction.
#include "crypto/static_key.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "crypto_openvpn_vectors.hpp"
#include "crypto_test_util.hpp"
#include "test_pki.hpp"

namespace wirebridge::crypto {
namespace {

using test::to_hex;

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Runs a command with /bin/sh; returns its exit status.
int run(const std::string& cmd) {
    int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

bool have_openvpn() { return run("command -v openvpn >/dev/null 2>&1") == 0; }

TEST(CryptoStaticKey, ParsesOpenvpnTestKey) {
    auto k = parse_static_key(test::kOpenvpnTestKey, "inline");
    ASSERT_TRUE(k) << k.error().message;
    EXPECT_EQ(to_hex(k->bytes().data(), 4), "37268ea8");
    EXPECT_EQ(to_hex(k->bytes().data() + 252, 4), "eeb8b9e6");
    EXPECT_EQ(k->key(1).cipher[0], 0xa0);  // line 9 starts key[1]
    EXPECT_EQ(k->key(0).hmac[0], 0xde);    // line 5 starts key[0]'s hmac half
}

TEST(CryptoStaticKey, FormatRoundTripsAndMatchesGenkeyLayout) {
    StaticKey k = StaticKey::generate();
    std::string text = format_static_key(k);
    const std::string head = "#\n# 2048 bit OpenVPN static key\n#\n-----BEGIN OpenVPN Static key V1-----\n";
    const std::string foot = "-----END OpenVPN Static key V1-----\n";
    ASSERT_EQ(text.size(), head.size() + 16 * 33 + foot.size());
    EXPECT_EQ(text.substr(0, head.size()), head);
    EXPECT_EQ(text.substr(text.size() - foot.size()), foot);
    for (int line = 0; line < 16; ++line) {
        std::string l = text.substr(head.size() + 33 * line, 33);
        EXPECT_EQ(l.find_first_not_of("0123456789abcdef"), 32u) << l;
        EXPECT_EQ(l.back(), '\n');
    }
    auto back = parse_static_key(text, "x");
    ASSERT_TRUE(back);
    EXPECT_EQ(to_hex(back->bytes()), to_hex(k.bytes()));
}

TEST(CryptoStaticKey, ReadsFilesMadeByOpenvpnGenkey) {
    ASSERT_TRUE(have_openvpn()) << "openvpn must be installed for the interop check";
    testpki::TempDir dir;
    for (const char* kind : {"tls-crypt", "secret", "tls-auth"}) {
        SCOPED_TRACE(kind);
        std::string path = dir.file(std::string(kind) + ".key");
        ASSERT_EQ(run("openvpn --genkey " + std::string(kind) + " " + path + " >/dev/null 2>&1"), 0);
        auto k = read_static_key_file(path);
        ASSERT_TRUE(k) << k.error().message;
        // Re-formatting what we read gives openvpn's file back byte for byte.
        EXPECT_EQ(format_static_key(*k), slurp(path));
    }
}

TEST(CryptoStaticKey, WrittenFileIsAcceptedByOpenvpn) {
    ASSERT_TRUE(have_openvpn());
    testpki::TempDir dir;
    std::string path = dir.file("ours.key");
    StaticKey k = StaticKey::generate();
    ASSERT_TRUE(write_static_key_file(path, k));
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_FALSE(write_static_key_file(path, k)) << "must not overwrite";
    // openvpn's own parser: --test-crypto runs its static-key self test with our file as the key.
    EXPECT_EQ(run("openvpn --test-crypto --secret " + path + " --cipher AES-256-CBC --verb 0 >/dev/null 2>&1"), 0);
    // ... and refuses a broken one, so the check above means something.
    std::string broken = dir.write("broken.key", "-----BEGIN OpenVPN Static key V1-----\nzz\n");
    EXPECT_NE(run("openvpn --test-crypto --secret " + broken + " --cipher AES-256-CBC --verb 0 >/dev/null 2>&1"), 0);
}

TEST(CryptoStaticKey, AcceptsCommentsBlankLinesCrLfAndSurroundingText) {
    StaticKey k = StaticKey::generate();
    std::string text = format_static_key(k);
    std::string mangled = "<tls-crypt>\r\n" ;
    std::istringstream in(text);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        mangled += line + "\r\n";
        if (++n == 8) mangled += "# a comment inside\r\n\r\n   \r\n";
    }
    mangled += "</tls-crypt>\n";
    auto back = parse_static_key(mangled, "inline");
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(to_hex(back->bytes()), to_hex(k.bytes()));
}

TEST(CryptoStaticKey, ErrorsNameTheLine) {
    std::string good = format_static_key(StaticKey::generate());
    // A non-hex character on line 6 (header is line 4).
    std::string bad = good;
    std::size_t line6 = 0;
    for (int i = 0; i < 5; ++i) line6 = bad.find('\n', line6) + 1;
    bad[line6 + 3] = 'g';
    auto r = parse_static_key(bad, "tc.key");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("tc.key:6:"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("'g'"), std::string::npos) << r.error().message;

    // Short key: drop one data line.
    std::string shortk = good;
    shortk.erase(line6, 33);
    r = parse_static_key(shortk, "ta.key");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("ta.key:20:"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("240 bytes"), std::string::npos) << r.error().message;

    // Too long: one byte more.
    std::string longk = good;
    longk.insert(line6, "ab\n");
    r = parse_static_key(longk, "k");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("more than 256"), std::string::npos) << r.error().message;

    r = parse_static_key("hello\n", "k");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("not an OpenVPN static key"), std::string::npos);

    r = parse_static_key(good.substr(0, good.size() - 37), "k");  // no footer
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("no \"-----END"), std::string::npos) << r.error().message;

    std::string wrong_footer = good;
    wrong_footer.replace(wrong_footer.find("-----END"), 8, "-----FOO");
    r = parse_static_key(wrong_footer, "k");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("k:21:"), std::string::npos) << r.error().message;

    auto missing = read_static_key_file("/nonexistent/wb.key");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("/nonexistent/wb.key"), std::string::npos);
}

TEST(CryptoStaticKey, KeyDirections) {
    EXPECT_EQ(parse_key_direction("0"), KeyDirection::Normal);
    EXPECT_EQ(parse_key_direction("1"), KeyDirection::Inverse);
    EXPECT_EQ(parse_key_direction(""), KeyDirection::Bidirectional);
    EXPECT_FALSE(parse_key_direction("2"));
    auto k = parse_static_key(test::kOpenvpnTestKey, "k");
    ASSERT_TRUE(k);
    auto n = select_keys(*k, KeyDirection::Normal);
    auto i = select_keys(*k, KeyDirection::Inverse);
    auto b = select_keys(*k, KeyDirection::Bidirectional);
    EXPECT_EQ(n.send.cipher.data(), k->key(0).cipher.data());
    EXPECT_EQ(n.recv.hmac.data(), k->key(1).hmac.data());
    EXPECT_EQ(i.send.hmac.data(), k->key(1).hmac.data());
    EXPECT_EQ(i.recv.cipher.data(), k->key(0).cipher.data());
    EXPECT_EQ(b.send.hmac.data(), b.recv.hmac.data());
    EXPECT_EQ(tls_crypt_direction(Role::Server), KeyDirection::Normal);
    EXPECT_EQ(tls_crypt_direction(Role::Client), KeyDirection::Inverse);
}

}  // namespace
}  // namespace wirebridge::crypto
