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

#include "../lib/tool_client.hpp"
#include "io/clock.hpp"
#include "io/udp_socket.hpp"
#include "session/session.hpp"

using namespace wirebridge;

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: wb-halfopen CLIENT.yaml COUNT SECONDS\n");
        return 2;
    }
    const auto client = test_tool::load_tool_client("wb-halfopen", argv[1]);
    if (!client) return 2;
    const int count = std::atoi(argv[2]);
    const int seconds = std::atoi(argv[3]);
    struct Half {
        io::UdpSocket sock;
        std::unique_ptr<session::Session> session;
        int sent = 0;
        bool answered = false;
    };
    std::vector<Half> halves;
    for (int i = 0; i < count; ++i) {
        auto s = client->connected_socket();
        if (!s) {
            std::fprintf(stderr, "socket %d failed\n", i);
            return 1;
        }
        auto sess = client->new_session();
        if (!sess) return 1;
        halves.push_back(Half{std::move(*s), std::move(sess)});
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
