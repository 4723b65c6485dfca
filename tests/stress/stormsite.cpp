// wb-stormsite: the malicious site of issue 16's control-channel storm, for tests/stress. With a
// site's own (valid) certificate it connects to the hub as a pull client, waits for its PUSH_REPLY,
// then sends PUSH_COUNT PUSH_REQUESTs over the first half of SECONDS (inside its TLS channel, as
// any authenticated site can) and SOFT_RESET_COUNT P_CONTROL_SOFT_RESET_V1 packets for ever new
// key ids over the second half (each would start a TLS handshake at the hub). Prints what it sent
// and how many control packets the hub sent back.
//
//   wb-stormsite SITE.yaml PUSH_COUNT SOFT_RESET_COUNT SECONDS
#include <poll.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "../lib/tool_client.hpp"
#include "io/clock.hpp"
#include "io/udp_socket.hpp"
#include "proto/control_packet.hpp"
#include "session/control_wrap.hpp"
#include "session/session.hpp"

using namespace wirebridge;

namespace {

struct Site {
    io::UdpSocket sock;
    std::unique_ptr<session::Session> session;
    io::DatagramBatch rx{8, 2048};
    std::size_t received = 0;

    // Everything the hub sent, fed to the session; the session's answers (acks) sent back.
    void pump(int wait_ms) {
        pollfd p{sock.fd(), POLLIN, 0};
        if (poll(&p, 1, wait_ms) > 0) {
            auto n = sock.receive(rx);
            for (std::size_t i = 0; n && i < *n; ++i) {
                ++received;
                session->on_packet(rx.data(i), io::now_ms());
            }
        }
        if (session->next_deadline() <= io::now_ms()) session->on_timer(io::now_ms());
        std::vector<std::uint8_t> out;
        while (session->pop_output(out)) [[maybe_unused]] auto r = ::send(sock.fd(), out.data(), out.size(), 0);
        session::Event e;
        while (session->pop_event(e)) {
        }
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: wb-stormsite SITE.yaml PUSH_COUNT SOFT_RESET_COUNT SECONDS\n");
        return 2;
    }
    const auto client = test_tool::load_tool_client("wb-stormsite", argv[1]);
    if (!client) return 2;
    const int push_count = std::atoi(argv[2]);
    const int reset_count = std::atoi(argv[3]);
    const std::int64_t storm_ms = std::int64_t{std::atoi(argv[4])} * 1000;
    auto sock = client->connected_socket();
    if (!sock) {
        std::fprintf(stderr, "wb-stormsite: no socket\n");
        return 1;
    }
    auto sess = client->new_session();
    if (!sess) return 1;
    Site site{std::move(*sock), std::move(sess)};
    site.session->start(io::now_ms());
    const auto up_by = io::now_ms() + 30000;
    while (!site.session->established() && !site.session->gone() && io::now_ms() < up_by) site.pump(50);
    if (!site.session->established()) {
        std::fprintf(stderr, "wb-stormsite: the tunnel did not come up\n");
        return 1;
    }
    std::printf("wb-stormsite: tunnel up, peer-id %u\n", site.session->peer_id());
    std::fflush(stdout);

    // Half the time: PUSH_REQUESTs, spread evenly, inside the TLS channel.
    const std::size_t before_push = site.received;
    auto start = io::now_ms();
    int pushed = 0;
    while (io::now_ms() < start + storm_ms / 2 || pushed < push_count) {
        const std::int64_t due = push_count * (io::now_ms() - start) / std::max<std::int64_t>(1, storm_ms / 2);
        while (pushed < push_count && pushed <= due) {
            site.session->send_control_message("PUSH_REQUEST", io::now_ms());
            ++pushed;
        }
        site.pump(5);
        if (io::now_ms() > start + storm_ms) break;
    }
    const std::size_t push_answers = site.received - before_push;

    // The other half: SOFT_RESETs for key ids 1..7 in turn, each a packet of its own, with a
    // control-channel wrap of our own (the hub's replay window takes its newer time stamp).
    auto wrap = session::ControlWrap::create(client->session_config.wrap, session::Role::client, io::now_ms() / 1000 + 1);
    if (!wrap) {
        std::fprintf(stderr, "%s\n", wrap.error().message.c_str());
        return 1;
    }
    const std::size_t before_reset = site.received;
    start = io::now_ms();
    int resets = 0;
    std::vector<std::uint8_t> plain(proto::control_overhead(0, true)), wire;
    while (resets < reset_count && io::now_ms() < start + storm_ms) {
        const std::int64_t due = reset_count * (io::now_ms() - start) / std::max<std::int64_t>(1, storm_ms / 2);
        while (resets < reset_count && resets <= due) {
            proto::ControlPacket p;
            p.opcode = proto::Opcode::control_soft_reset_v1;
            p.key_id = static_cast<std::uint8_t>(1 + resets % 7);
            p.own_sid = site.session->own_session_id();
            p.peer_sid = site.session->peer_session_id();
            p.message_id = 0;
            const std::size_t n = proto::encode_control_packet(p, plain);
            if (n && wrap->wrap(proto::ByteSpan(plain.data(), n), wire))
                [[maybe_unused]] auto r = ::send(site.sock.fd(), wire.data(), wire.size(), 0);
            ++resets;
        }
        site.pump(5);
    }
    for (int i = 0; i < 20; ++i) site.pump(50);
    std::printf("wb-stormsite: push_requests=%d push_answer_packets=%zu soft_resets=%d soft_reset_answer_packets=%zu\n", pushed,
                push_answers, resets, site.received - before_reset);
    return 0;
}
