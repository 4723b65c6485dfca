// wb-halfopen: the half-open flood of issue 16, for the netns tests. From one host, COUNT client
// sessions (each its own UDP source port) send a HARD_RESET_CLIENT_V2 to the hub, echo the cookie
// of its stateless reply with the start of TLS, and then fall silent, as an attacker holding the
// shared tls-crypt key (and no valid certificate) can. Prints how many resets the hub answered.
//
//   wb-halfopen CLIENT.yaml COUNT SECONDS
// CLIENT.yaml: a client configuration (its remote, tls_crypt/tls_auth, ca/cert/key are used).
#include <poll.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "app/runner_common.hpp"
#include "io/clock.hpp"
#include "app/tunnel_setup.hpp"
#include "config/loader.hpp"
#include "io/udp_socket.hpp"
#include "session/session.hpp"

using namespace wirebridge;

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: wb-halfopen CLIENT.yaml COUNT SECONDS\n");
        return 2;
    }
    const auto loaded = config::load_config(argv[1]);
    if (!loaded.ok()) {
        for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
        return 2;
    }
    const config::Config& cfg = *loaded.config;
    auto scfg = app::make_session_config(cfg);
    if (!scfg) {
        std::fprintf(stderr, "%s\n", scfg.error().message.c_str());
        return 2;
    }
    auto remote = io::SocketAddress::from_numeric(cfg.tunnel.remote.at(0).host, cfg.tunnel.remote.at(0).port);
    if (!remote) {
        std::fprintf(stderr, "%s\n", remote.error().message.c_str());
        return 2;
    }
    const int count = std::atoi(argv[2]);
    const int seconds = std::atoi(argv[3]);
    struct Half {
        io::UdpSocket sock;
        std::unique_ptr<session::Session> session;
        int sent = 0;
        bool answered = false;
    };
    std::vector<Half> halves;
    auto any = io::SocketAddress::from_numeric("0.0.0.0", 0);
    for (int i = 0; i < count; ++i) {
        auto s = io::UdpSocket::open(*any);
        if (!s || !s->connect(*remote)) {
            std::fprintf(stderr, "socket %d failed\n", i);
            return 1;
        }
        auto sess = session::Session::create(*scfg, io::now_ms());
        if (!sess) {
            std::fprintf(stderr, "%s\n", sess.error().message.c_str());
            return 1;
        }
        halves.push_back(Half{std::move(*s), std::move(*sess)});
    }
    for (auto& h : halves) {
        h.session->start(io::now_ms());
        std::vector<std::uint8_t> out;
        if (h.session->pop_output(out)) {
            [[maybe_unused]] auto r = ::send(h.sock.fd(), out.data(), out.size(), 0);
            h.sent = 1;
        }
    }
    io::DatagramBatch rx(4, 2048);
    const auto end = io::now_ms() + std::int64_t{seconds} * 1000;
    std::vector<pollfd> fds(halves.size());
    while (io::now_ms() < end) {
        for (std::size_t i = 0; i < halves.size(); ++i) fds[i] = pollfd{halves[i].sock.fd(), POLLIN, 0};
        if (poll(fds.data(), fds.size(), 200) < 0) break;
        for (std::size_t i = 0; i < halves.size(); ++i) {
            if (!(fds[i].revents & POLLIN)) continue;
            Half& h = halves[i];
            auto n = h.sock.receive(rx);
            if (!n) continue;
            for (std::size_t k = 0; k < *n; ++k) {
                h.answered = true;
                h.session->on_packet(rx.data(k), io::now_ms());
            }
            std::vector<std::uint8_t> out;
            while (h.session->pop_output(out)) {
                if (h.sent >= 2) continue;
                [[maybe_unused]] auto r = ::send(h.sock.fd(), out.data(), out.size(), 0);
                ++h.sent;
            }
        }
    }
    int answered = 0, echoed = 0;
    for (const auto& h : halves) {
        answered += h.answered;
        echoed += h.sent >= 2;
    }
    std::printf("wb-halfopen: %d sessions, %d resets answered, %d cookie echoes sent\n", count, answered, echoed);
    return 0;
}
