// Live interop on loopback: a stock `openvpn` 2.6 P2P tls-server (dev null, no root needed) with a
// tls-crypt or tls-auth key file that we wrote answers our wrapped HARD_RESET_CLIENT_V2, and its
// HARD_RESET_SERVER_V2 unwraps with our code and acks our session id.
//
//   [this test: TlsCrypt/TlsAuth, UDP socket] --127.0.0.1:PORT--> [openvpn --tls-server --dev null]
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/random.hpp"
#include "crypto/static_key.hpp"
#include "crypto/tls_auth.hpp"
#include "crypto/tls_crypt.hpp"
#include "crypto_test_util.hpp"
#include "test_pki.hpp"

extern char** environ;

namespace wirebridge::crypto {
namespace {

namespace tp = wirebridge::testpki;
using test::to_hex;

uint16_t free_udp_port() {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

// A stock openvpn process, stopped (SIGTERM to its own pid) when the object goes away.
class OpenvpnServer {
public:
    OpenvpnServer(const std::vector<std::string>& args, const std::string& log) {
        std::vector<char*> argv;
        argv.push_back(const_cast<char*>("openvpn"));
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
        if (posix_spawnp(&pid_, "openvpn", &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&fa);
    }
    ~OpenvpnServer() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        for (int i = 0; i < 50; ++i) {  // up to 5 s, then force
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
            ::usleep(100000);
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    bool started() const { return pid_ > 0; }

private:
    pid_t pid_ = -1;
};

using WrapFn = std::function<Result<std::size_t>(std::span<const uint8_t>, std::span<uint8_t>, ReplayId)>;
using UnwrapFn = std::function<Result<Unwrapped>(std::span<const uint8_t>, std::span<uint8_t>)>;

// Sends a wrapped client reset until openvpn answers (bounded to ~15 s), returns the unwrapped reply.
std::vector<uint8_t> exchange_reset(uint16_t port, const WrapFn& wrap, const UnwrapFn& unwrap,
                                    std::array<uint8_t, 8>& client_sid) {
    EXPECT_TRUE(random_bytes(client_sid));
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    timeval tv{0, 250000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    // HARD_RESET_CLIENT_V2, key_id 0 | own sid | no acks | message-id 0
    std::vector<uint8_t> plain = {7 << 3};
    plain.insert(plain.end(), client_sid.begin(), client_sid.end());
    plain.insert(plain.end(), {0, 0, 0, 0, 0});
    const auto stamp = static_cast<uint32_t>(std::time(nullptr));
    std::vector<uint8_t> reply;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    for (uint32_t attempt = 1; attempt <= 60 && reply.empty() && std::chrono::steady_clock::now() < deadline;
         ++attempt) {
        std::vector<uint8_t> pkt(plain.size() + 100);
        auto n = wrap(plain, pkt, ReplayId{attempt, stamp});
        EXPECT_TRUE(n);
        if (!n) break;
        ::send(fd, pkt.data(), *n, 0);
        uint8_t buf[2048];
        ssize_t got = ::recv(fd, buf, sizeof buf, 0);
        if (got <= 0) {  // lost or refused: wait out the receive timeout before resending
            if (errno == ECONNREFUSED) ::recv(fd, buf, sizeof buf, 0);
            continue;
        }
        std::vector<uint8_t> out(static_cast<std::size_t>(got));
        auto u = unwrap(std::span<const uint8_t>(buf, static_cast<std::size_t>(got)), out);
        EXPECT_TRUE(u) << u.error().message << " on " << to_hex(buf, static_cast<std::size_t>(got));
        if (!u) break;
        reply.assign(out.begin(), out.begin() + static_cast<long>(u->length));
    }
    ::close(fd);
    return reply;
}

// HARD_RESET_SERVER_V2 | server sid | 1 ack: 0 | our sid | message-id 0
void expect_server_reset(const std::vector<uint8_t>& r, const std::array<uint8_t, 8>& client_sid) {
    ASSERT_EQ(r.size(), 1u + 8 + 1 + 4 + 8 + 4) << to_hex(r);
    EXPECT_EQ(r[0], 8 << 3);
    EXPECT_EQ(r[9], 1);
    EXPECT_EQ(to_hex(r.data() + 10, 4), "00000000");
    EXPECT_EQ(to_hex(r.data() + 14, 8), to_hex(client_sid));
    EXPECT_EQ(to_hex(r.data() + 22, 4), "00000000");
}

struct Fixture {
    tp::TempDir dir;
    tp::PkiFiles files;
    std::string key_path;
    StaticKey key = StaticKey::generate();
    uint16_t port = free_udp_port();

    Fixture() {
        files = tp::write_pki(dir, tp::make_pki());
        key_path = dir.file("wrap.key");
        EXPECT_TRUE(write_static_key_file(key_path, key));  // openvpn reads the file we wrote
    }
    std::vector<std::string> args(std::vector<std::string> extra) const {
        std::vector<std::string> a = {"--dev", "null", "--tls-server", "--ca", files.ca, "--cert", files.server_cert,
                                      "--key", files.server_key, "--dh", "none", "--proto", "udp",
                                      "--local", "127.0.0.1", "--lport", std::to_string(port), "--verb", "4",
                                      "--connect-freq-initial", "1000", "10"};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
    // Waits (bounded) until openvpn logs that its UDP socket is bound.
    bool wait_bound(const OpenvpnServer& server) const {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (server.started() && std::chrono::steady_clock::now() < deadline) {
            if (log().find("link local (bound)") != std::string::npos) return true;
            ::usleep(20000);
        }
        return false;
    }
    std::string log() const {
        std::ifstream in(dir.file("openvpn.log"));
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
};

bool have_openvpn() { return std::system("command -v openvpn >/dev/null 2>&1") == 0; }

TEST(CryptoWrapInterop, TlsCryptResetWithStockOpenvpn) {
    ASSERT_TRUE(have_openvpn());
    Fixture f;
    OpenvpnServer server(f.args({"--tls-crypt", f.key_path}), f.dir.file("openvpn.log"));
    ASSERT_TRUE(f.wait_bound(server)) << f.log();
    auto tc = TlsCrypt::from_static_key(f.key, Role::Client);
    ASSERT_TRUE(tc);
    std::array<uint8_t, 8> sid{};
    auto reply = exchange_reset(
        f.port, [&](auto p, auto o, ReplayId id) { return tc->wrap(p, o, id); },
        [&](auto p, auto o) { return tc->unwrap(p, o); }, sid);
    ASSERT_FALSE(reply.empty()) << "no answer from openvpn; its log:\n" << f.log();
    expect_server_reset(reply, sid);
}

TEST(CryptoWrapInterop, TlsAuthResetWithStockOpenvpn) {
    ASSERT_TRUE(have_openvpn());
    for (auto [digest, auth] : {std::pair{Digest::Sha1, "SHA1"}, std::pair{Digest::Sha256, "SHA256"}}) {
        SCOPED_TRACE(auth);
        Fixture f;
        OpenvpnServer server(f.args({"--tls-auth", f.key_path, "0", "--auth", auth}), f.dir.file("openvpn.log"));
        ASSERT_TRUE(f.wait_bound(server)) << f.log();
        auto ta = TlsAuth::from_static_key(f.key, KeyDirection::Inverse, digest);
        ASSERT_TRUE(ta);
        std::array<uint8_t, 8> sid{};
        auto reply = exchange_reset(
            f.port, [&](auto p, auto o, ReplayId id) { return ta->wrap(p, o, id); },
            [&](auto p, auto o) { return ta->unwrap(p, o); }, sid);
        ASSERT_FALSE(reply.empty()) << "no answer from openvpn; its log:\n" << f.log();
        expect_server_reset(reply, sid);
    }
}

}  // namespace
}  // namespace wirebridge::crypto
