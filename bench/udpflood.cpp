// bench/udpflood.cpp: wb-udpflood, a UDP load generator and counter that costs the tunnel little CPU.
//
//   wb-udpflood send --to IP --port P --len N --seconds S [--rate PPS] [--batch B] [--run ID] [--flows N]
//                    [--via socket|packet]
//   wb-udpflood recv --port P --seconds S [--bind IP] [--idle S] [--run ID] [--batch B] [--rcvbuf BYTES]
//   wb-udpflood selftest
//
// Why not iperf3 for small packets: `iperf3 -u -b 0` sends one datagram per syscall and never
// sleeps (about a core on this machine kind), and its receiver pays a pselect and a read per
// datagram, so on 2 cores shared with both tunnel ends it measures itself. This tool sends with
// sendmmsg in batches, paced against CLOCK_MONOTONIC (it sleeps when ahead, never spins), and
// receives with recvmmsg in batches; each prints one JSON line. Loss, duplicates and reordering
// are counted from sequence numbers (flood_wire.hpp); the receiver also reports the datagrams its
// own socket dropped (SO_RXQ_OVFL), which are the receiver's fault, not the tunnel's.
//
// --flows N sends from N sockets (N source ports), datagram i from socket i % N, so no two
// consecutive datagrams belong to one flow: what many small flows look like to a tunnel, whose
// receive side may merge runs of one flow's datagrams (wirebridge's TapWriter does) and so finds
// one flow cheaper than many. The receiver reports how many source ports it saw ("sources").
//
// --via packet (IPv4, receiver on the sender's link) hands the same datagrams to the link as whole
// frames through one AF_PACKET socket (packet_path.hpp says why), every flow's in one sendmmsg;
// the flows' UDP sockets stay open, holding their source ports, and send the end markers.
// --via socket (the default) sends through the UDP sockets.
// Exit status: 0 done, 1 a system call failed, 2 bad usage (and selftest: 1 a check failed).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "flood_wire.hpp"
#include "packet_path.hpp"
#include "udp4_frame.hpp"

namespace wirebridge::bench {
namespace {

constexpr std::size_t kRecvSlot = 2048;  // bytes per receive buffer; longer datagrams are cut (MSG_TRUNC)
constexpr unsigned kMaxBatch = 1024;
constexpr unsigned kMaxFlows = 1024;

std::int64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void sleep_until_ns(std::int64_t t) {
    timespec ts{static_cast<time_t>(t / 1'000'000'000), static_cast<long>(t % 1'000'000'000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

struct Endpoint {
    sockaddr_storage addr{};
    socklen_t len = 0;
};

// A numeric IPv4 or IPv6 address and a port; nothing is resolved.
std::optional<Endpoint> make_endpoint(const std::string& ip, std::uint16_t port) {
    Endpoint e;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&e.addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&e.addr);
    if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        e.len = sizeof(sockaddr_in);
        return e;
    }
    if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        e.len = sizeof(sockaddr_in6);
        return e;
    }
    return std::nullopt;
}

// ---- options ------------------------------------------------------------------------------------

struct SendOptions {
    std::string to;
    std::uint16_t port = 0;
    std::size_t len = 64;
    double seconds = 0;
    double rate = 0;  // datagrams per second; 0: as fast as the kernel takes them
    unsigned batch = 32;
    std::uint32_t run = 0;  // 0: random
    unsigned markers = 3;
    unsigned flows = 1;  // sockets (source ports) sending in turn
    bool via_packet = false;  // whole frames through a packet socket instead of the UDP sockets
};

struct RecvOptions {
    std::string bind_ip = "0.0.0.0";
    std::uint16_t port = 0;
    double seconds = 0;  // hard bound on the whole run
    double idle = 1.0;   // stop this long after the last datagram of ours (once one came)
    std::uint32_t run = 0;  // 0: adopt the run of the first datagram of ours
    unsigned batch = 64;
    int rcvbuf = 4 << 20;
};

bool parse_u64(std::string_view s, std::uint64_t lo, std::uint64_t hi, std::uint64_t& out) {
    if (s.empty() || s.size() > 20) {
        return false;
    }
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') {
            return false;
        }
        const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    if (v < lo || v > hi) {
        return false;
    }
    out = v;
    return true;
}

bool parse_seconds(std::string_view s, double lo, double hi, double& out) {
    const std::string copy(s);
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(copy.c_str(), &end);
    if (copy.empty() || errno != 0 || end != copy.c_str() + copy.size() || !std::isfinite(v) || v < lo || v > hi) {
        return false;
    }
    out = v;
    return true;
}

int usage(const char* what, std::string_view arg) {
    if (arg.empty()) {
        std::fprintf(stderr, "wb-udpflood: %s\n", what);
    } else {
        std::fprintf(stderr, "wb-udpflood: %s '%.*s'\n", what, static_cast<int>(arg.size()), arg.data());
    }
    std::fprintf(stderr, "usage: wb-udpflood send --to IP --port P --len N --seconds S [--rate PPS] [--batch B] [--run ID] "
                         "[--flows N] [--via socket|packet]\n"
                         "       wb-udpflood recv --port P --seconds S [--bind IP] [--idle S] [--run ID] [--batch B] "
                         "[--rcvbuf BYTES]\n"
                         "       wb-udpflood selftest\n");
    return 2;
}

// Both parsers return 0 or usage()'s 2, having said what is wrong.
int parse_send(int argc, char** argv, SendOptions& o) {
    bool have_to = false, have_port = false, have_seconds = false;
    for (int i = 0; i < argc; i += 2) {
        const std::string_view k = argv[i];
        if (i + 1 >= argc) {
            return usage("missing the value of", k);
        }
        const std::string_view v = argv[i + 1];
        std::uint64_t n = 0;
        if (k == "--to") {
            o.to = std::string(v);
            have_to = make_endpoint(o.to, 1).has_value();
            if (!have_to) {
                return usage("--to wants a numeric IPv4 or IPv6 address, not", v);
            }
        } else if (k == "--port") {
            if (!parse_u64(v, 1, 65535, n)) return usage("--port wants 1-65535, not", v);
            o.port = static_cast<std::uint16_t>(n);
            have_port = true;
        } else if (k == "--len") {
            // 65507: the largest UDP payload over IPv4; the header must fit.
            if (!parse_u64(v, kHeaderSize, 65507, n)) return usage("--len wants 24-65507 bytes, not", v);
            o.len = static_cast<std::size_t>(n);
        } else if (k == "--seconds") {
            if (!parse_seconds(v, 0.01, 3600, o.seconds)) return usage("--seconds wants 0.01-3600, not", v);
            have_seconds = true;
        } else if (k == "--rate") {
            if (!parse_seconds(v, 0, 1e8, o.rate)) return usage("--rate wants 0 (unpaced) to 1e8 datagrams/s, not", v);
        } else if (k == "--batch") {
            if (!parse_u64(v, 1, kMaxBatch, n)) return usage("--batch wants 1-1024, not", v);
            o.batch = static_cast<unsigned>(n);
        } else if (k == "--run") {
            if (!parse_u64(v, 1, UINT32_MAX, n)) return usage("--run wants 1-4294967295, not", v);
            o.run = static_cast<std::uint32_t>(n);
        } else if (k == "--flows") {
            if (!parse_u64(v, 1, kMaxFlows, n)) return usage("--flows wants 1-1024, not", v);
            o.flows = static_cast<unsigned>(n);
        } else if (k == "--via") {
            if (v != "socket" && v != "packet") return usage("--via wants socket or packet, not", v);
            o.via_packet = v == "packet";
        } else {
            return usage("send: unknown option", k);
        }
    }
    if (!have_to || !have_port || !have_seconds) {
        return usage("send needs --to, --port and --seconds", "");
    }
    return 0;
}

int parse_recv(int argc, char** argv, RecvOptions& o) {
    bool have_port = false, have_seconds = false;
    for (int i = 0; i < argc; i += 2) {
        const std::string_view k = argv[i];
        if (i + 1 >= argc) {
            return usage("missing the value of", k);
        }
        const std::string_view v = argv[i + 1];
        std::uint64_t n = 0;
        if (k == "--bind") {
            o.bind_ip = std::string(v);
            if (!make_endpoint(o.bind_ip, 1)) return usage("--bind wants a numeric IPv4 or IPv6 address, not", v);
        } else if (k == "--port") {
            if (!parse_u64(v, 1, 65535, n)) return usage("--port wants 1-65535, not", v);
            o.port = static_cast<std::uint16_t>(n);
            have_port = true;
        } else if (k == "--seconds") {
            if (!parse_seconds(v, 0.01, 3600, o.seconds)) return usage("--seconds wants 0.01-3600, not", v);
            have_seconds = true;
        } else if (k == "--idle") {
            if (!parse_seconds(v, 0.01, 600, o.idle)) return usage("--idle wants 0.01-600 seconds, not", v);
        } else if (k == "--run") {
            if (!parse_u64(v, 1, UINT32_MAX, n)) return usage("--run wants 1-4294967295, not", v);
            o.run = static_cast<std::uint32_t>(n);
        } else if (k == "--batch") {
            if (!parse_u64(v, 1, kMaxBatch, n)) return usage("--batch wants 1-1024, not", v);
            o.batch = static_cast<unsigned>(n);
        } else if (k == "--rcvbuf") {
            if (!parse_u64(v, 4096, 1 << 30, n)) return usage("--rcvbuf wants 4096 to 2^30 bytes, not", v);
            o.rcvbuf = static_cast<int>(n);
        } else {
            return usage("recv: unknown option", k);
        }
    }
    if (!have_port || !have_seconds) {
        return usage("recv needs --port and --seconds", "");
    }
    return 0;
}

// ---- sender -------------------------------------------------------------------------------------

struct SendStats {
    std::uint32_t run = 0;
    std::uint64_t offered = 0;  // sequence numbers used: sent + refused
    std::uint64_t sent = 0;     // datagrams the kernel took
    std::uint64_t enobufs = 0;  // refused: a full queue on the way out
    std::uint64_t eagain = 0;   // refused: the socket's send buffer stayed full for SO_SNDTIMEO
    std::uint64_t refused = 0;  // refused: ICMP unreachable reported on the connected socket
    std::uint64_t lagged = 0;   // times the pacer fell >20 ms behind and restarted its schedule
    double seconds = 0;
    bool ok = false;
};

// fds: o.flows UDP sockets connected to the receiver (open_senders); datagram seq goes out on
// fds[seq % o.flows]. One flow sends a burst in one sendmmsg; several flows send one datagram a
// call in sequence order, because a sendmmsg carries one socket's datagrams only and grouping a
// burst by socket would put runs of one flow back on the wire (the thing --flows is there to
// avoid). A refused datagram still uses its sequence number, so the receiver counts it as lost:
// from outside, a queue that drops on the way into the tunnel and one that drops inside it look
// the same. With packet (--via packet) every datagram goes out as a whole frame through its socket,
// a burst in one sendmmsg whatever the flows, with flow seq % o.flows's source port.
struct PacketOut {
    int fd = -1;
    sockaddr_ll to{};
    Udp4Path path;
    std::vector<std::uint16_t> src_ports;  // one per flow
};

SendStats run_sender(std::span<const int> fds, const PacketOut* packet, const SendOptions& o) {
    SendStats st;
    st.run = o.run;
    // Pace in bursts of at most a millisecond's worth, so the queues see the rate, not bursts.
    unsigned burst = o.batch;
    if (o.rate > 0) {
        burst = static_cast<unsigned>(std::clamp(o.rate / 1000.0, 1.0, static_cast<double>(o.batch)));
    }
    // A slot a datagram: its payload, behind the frame's headers with a packet socket.
    const std::size_t head = packet != nullptr ? kUdp4FrameHead : 0;
    const std::size_t stride = head + o.len;
    std::vector<std::uint8_t> buf(static_cast<std::size_t>(burst) * stride, 0x5a);
    std::vector<iovec> iov(burst);
    std::vector<mmsghdr> msgs(burst);
    for (unsigned i = 0; i < burst; ++i) {
        iov[i] = {buf.data() + static_cast<std::size_t>(i) * stride, stride};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        if (packet != nullptr) {
            msgs[i].msg_hdr.msg_name = const_cast<sockaddr_ll*>(&packet->to);
            msgs[i].msg_hdr.msg_namelen = sizeof packet->to;
        }
    }
    std::uint16_t ip_id = 0;
    FloodHeader h{o.run, 0, static_cast<std::uint32_t>(o.len), 0};
    const std::int64_t start = now_ns();
    const std::int64_t end = start + static_cast<std::int64_t>(o.seconds * 1e9);
    std::int64_t epoch = start;      // the pacing schedule's origin
    std::uint64_t epoch_seq = 0;     // sequence number due at epoch
    std::uint64_t seq = 0;
    for (;;) {
        std::int64_t now = now_ns();
        if (o.rate > 0) {
            const std::int64_t due = epoch + static_cast<std::int64_t>(static_cast<double>(seq - epoch_seq) * 1e9 / o.rate);
            if (due >= end) {
                break;
            }
            if (due > now) {
                sleep_until_ns(due);
                now = now_ns();
            } else if (now - due > 20'000'000) {
                // Behind by more than 20 ms (preempted, or the rate is beyond us): start again from
                // now instead of bursting to catch up; the offered rate then falls short and shows.
                ++st.lagged;
                epoch = now;
                epoch_seq = seq;
            }
        }
        if (now >= end) {
            break;
        }
        for (unsigned i = 0; i < burst; ++i) {
            h.seq = seq + i;
            const std::span<std::uint8_t> slot{buf.data() + static_cast<std::size_t>(i) * stride, stride};
            encode_header(slot.subspan(head), h);
            if (packet != nullptr) {
                write_udp4_headers(slot, o.len, packet->path, packet->src_ports[h.seq % packet->src_ports.size()], ip_id++);
            }
        }
        unsigned off = 0;
        while (off < burst) {
            // One flow or a packet socket: the rest of the burst; else datagram seq + off alone, on
            // its flow's socket.
            const bool whole = packet != nullptr || fds.size() == 1;
            const int fd = packet != nullptr ? packet->fd : fds[static_cast<std::size_t>((seq + off) % fds.size())];
            const unsigned n = whole ? burst - off : 1;
            const int r = sendmmsg(fd, msgs.data() + off, n, 0);
            if (r > 0) {
                st.sent += static_cast<unsigned>(r);
                off += static_cast<unsigned>(r);
                continue;
            }
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r < 0 && errno == ENOBUFS) {
                ++st.enobufs;
            } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                ++st.eagain;
            } else if (r < 0 && (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH)) {
                ++st.refused;
            } else {
                std::fprintf(stderr, "wb-udpflood: sendmmsg: %s\n", std::strerror(r < 0 ? errno : EIO));
                return st;
            }
            ++off;  // the first datagram of the rest was refused: skip it, its number counts as lost
        }
        seq += burst;
    }
    st.offered = seq;
    st.seconds = static_cast<double>(now_ns() - start) / 1e9;
    // End markers, a few in case one is lost; they carry the count so the receiver knows the tail.
    std::uint8_t marker[kHeaderSize];
    encode_header(marker, FloodHeader{o.run, st.offered, static_cast<std::uint32_t>(kHeaderSize), kFlagEnd});
    for (unsigned i = 0; i < o.markers; ++i) {
        if (send(fds[0], marker, sizeof marker, 0) < 0 && errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED) {
            std::fprintf(stderr, "wb-udpflood: send (end marker): %s\n", std::strerror(errno));
        }
        sleep_until_ns(now_ns() + 2'000'000);
    }
    st.ok = true;
    return st;
}

// A socket connected to o.to:o.port, on an ephemeral source port; -1 after saying why.
int open_sender(const SendOptions& o) {
    const auto ep = make_endpoint(o.to, o.port);
    if (!ep) {
        return -1;
    }
    const int fd = socket(ep->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        std::perror("wb-udpflood: socket");
        return -1;
    }
    // A send that would block longer than this is counted (eagain), so the run stays bounded.
    const timeval tv{0, 200'000};
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
        connect(fd, reinterpret_cast<const sockaddr*>(&ep->addr), ep->len) < 0) {
        std::perror("wb-udpflood: connect");
        close(fd);
        return -1;
    }
    return fd;
}

void close_all(std::vector<int>& fds) {
    for (const int fd : fds) {
        close(fd);
    }
    fds.clear();
}

// o.flows sockets, each connected on its own ephemeral port (connect binds one); false, none
// left open, after saying why. 1024 flows need more descriptors than the usual soft limit: the
// soft limit is raised towards the hard one when it is short.
bool open_senders(const SendOptions& o, std::vector<int>& fds) {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < o.flows + 64) {
        lim.rlim_cur = lim.rlim_max == RLIM_INFINITY ? o.flows + 64 : std::min<rlim_t>(lim.rlim_max, o.flows + 64);
        setrlimit(RLIMIT_NOFILE, &lim);  // if refused, socket() says so below
    }
    fds.clear();
    fds.reserve(o.flows);
    for (unsigned i = 0; i < o.flows; ++i) {
        const int fd = open_sender(o);
        if (fd < 0) {
            std::fprintf(stderr, "wb-udpflood: opened %u of %u flows' sockets\n", i, o.flows);
            close_all(fds);
            return false;
        }
        fds.push_back(fd);
    }
    return true;
}

// The packet socket and the frames' path for --via packet, from the flows' connected sockets;
// false after saying why.
bool open_packet_out(std::span<const int> fds, PacketOut& out) {
    std::string why;
    const auto path = resolve_packet_path(fds[0], why);
    if (path) {
        out.path = path->frame;
        out.fd = open_packet_socket(*path, out.to, why);
    }
    if (out.fd < 0) {
        std::fprintf(stderr, "wb-udpflood: %s\n", why.c_str());
        return false;
    }
    for (const int fd : fds) {
        const auto port = source_port_of(fd);
        if (!port) {
            std::perror("wb-udpflood: getsockname");
            close(out.fd);
            out.fd = -1;
            return false;
        }
        out.src_ports.push_back(*port);
    }
    return true;
}

void print_send(const SendStats& st, const SendOptions& o) {
    std::printf("{\"mode\":\"send\",\"run\":%" PRIu32 ",\"len\":%zu,\"rate\":%.0f,\"batch\":%u,\"flows\":%u,\"via\":\"%s\",\"offered\":%" PRIu64
                ",\"sent\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"enobufs\":%" PRIu64 ",\"eagain\":%" PRIu64
                ",\"refused\":%" PRIu64 ",\"lagged\":%" PRIu64 ",\"seconds\":%.6f,\"offered_pps\":%.1f}\n",
                st.run, o.len, o.rate, o.batch, o.flows, o.via_packet ? "packet" : "socket", st.offered, st.sent, st.enobufs + st.eagain + st.refused, st.enobufs,
                st.eagain, st.refused, st.lagged, st.seconds, st.seconds > 0 ? static_cast<double>(st.offered) / st.seconds : 0.0);
    std::fflush(stdout);
}

// ---- receiver -----------------------------------------------------------------------------------

struct RecvStats {
    std::uint32_t run = 0;
    SeqTracker seqs;
    std::uint64_t expected = 0;   // from the end marker; 0 when none came
    bool end_marker = false;
    std::uint64_t ignored = 0;    // not ours, or another run's
    std::uint64_t malformed = 0;  // ours, but cut, padded or with unknown flags
    std::uint64_t socket_drops = 0;
    std::uint64_t sources = 0;    // distinct source ports of our run's datagrams (the sender's --flows)
    std::vector<std::uint64_t> ports_seen = std::vector<std::uint64_t>(65536 / 64);  // a bit a port
    std::int64_t first_ns = 0, last_ns = 0;
    double seconds = 0;
    bool ok = false;
};

// A bound socket with a large receive buffer and drop counting; -1 after saying why.
int open_receiver(const RecvOptions& o) {
    const auto ep = make_endpoint(o.bind_ip, o.port);
    if (!ep) {
        return -1;
    }
    const int fd = socket(ep->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        std::perror("wb-udpflood: socket");
        return -1;
    }
    const int one = 1;
    // RCVBUFFORCE passes net.core.rmem_max when we may (root); else the capped RCVBUF will do.
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &o.rcvbuf, sizeof o.rcvbuf) < 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &o.rcvbuf, sizeof o.rcvbuf);
    }
    if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) < 0 ||
        bind(fd, reinterpret_cast<const sockaddr*>(&ep->addr), ep->len) < 0) {
        std::perror("wb-udpflood: bind");
        close(fd);
        return -1;
    }
    return fd;
}

// Counts what arrives on fd until the deadline, the sender's end marker (then a short drain) or
// o.idle without a datagram of ours, whichever comes first.
RecvStats run_receiver(int fd, const RecvOptions& o) {
    RecvStats st;
    st.run = o.run;
    constexpr std::size_t kCtl = CMSG_SPACE(sizeof(std::uint32_t));
    std::vector<std::uint8_t> buf(static_cast<std::size_t>(o.batch) * kRecvSlot);
    std::vector<std::uint8_t> ctl(static_cast<std::size_t>(o.batch) * kCtl);
    std::vector<iovec> iov(o.batch);
    std::vector<mmsghdr> msgs(o.batch);
    std::vector<sockaddr_storage> from(o.batch);
    for (unsigned i = 0; i < o.batch; ++i) {
        iov[i] = {buf.data() + static_cast<std::size_t>(i) * kRecvSlot, kRecvSlot};
    }
    const std::int64_t start = now_ns();
    std::int64_t deadline = start + static_cast<std::int64_t>(o.seconds * 1e9);
    const std::int64_t idle = static_cast<std::int64_t>(o.idle * 1e9);
    for (;;) {
        const std::int64_t now = now_ns();
        std::int64_t stop = deadline;
        if (st.seqs.any() || st.end_marker) {
            stop = std::min(stop, st.last_ns + idle);
        }
        if (now >= stop) {
            break;
        }
        const std::int64_t wait = stop - now;
        timespec ts{static_cast<time_t>(wait / 1'000'000'000), static_cast<long>(wait % 1'000'000'000)};
        pollfd p{fd, POLLIN, 0};
        const int pr = ppoll(&p, 1, &ts, nullptr);
        if (pr < 0 && errno != EINTR) {
            std::perror("wb-udpflood: ppoll");
            return st;
        }
        if (pr <= 0) {
            continue;
        }
        for (unsigned i = 0; i < o.batch; ++i) {
            msgs[i] = {};
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_control = ctl.data() + static_cast<std::size_t>(i) * kCtl;
            msgs[i].msg_hdr.msg_controllen = kCtl;
            msgs[i].msg_hdr.msg_name = &from[i];
            msgs[i].msg_hdr.msg_namelen = sizeof from[i];
        }
        // MSG_TRUNC: msg_len is the datagram's real length even when the slot cut it.
        const int r = recvmmsg(fd, msgs.data(), o.batch, MSG_DONTWAIT | MSG_TRUNC, nullptr);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                continue;
            }
            std::perror("wb-udpflood: recvmmsg");
            return st;
        }
        const std::int64_t t = now_ns();
        for (int i = 0; i < r; ++i) {
            msghdr& m = msgs[i].msg_hdr;
            for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL && c->cmsg_len >= CMSG_LEN(sizeof(std::uint32_t))) {
                    std::uint32_t drops = 0;
                    std::memcpy(&drops, CMSG_DATA(c), sizeof drops);
                    st.socket_drops = drops;  // the socket's running total
                }
            }
            const std::size_t len = msgs[i].msg_len;
            const std::span<const std::uint8_t> in{static_cast<const std::uint8_t*>(iov[i].iov_base), std::min(len, kRecvSlot)};
            FloodHeader h;
            const ParseResult pres = parse_header(in, len, h);
            if (pres == ParseResult::foreign) {
                ++st.ignored;
                continue;
            }
            if (pres == ParseResult::malformed) {
                ++st.malformed;
                continue;
            }
            if (st.run == 0) {
                st.run = h.run;
            }
            if (h.run != st.run) {
                ++st.ignored;
                continue;
            }
            st.last_ns = t;
            if (h.flags & kFlagEnd) {
                // Everything sent before the marker has had its chance; what is still queued
                // arrives within a few milliseconds.
                st.end_marker = true;
                st.expected = h.seq;
                deadline = std::min(deadline, t + 50'000'000);
                continue;
            }
            if (!st.seqs.any()) {
                st.first_ns = t;
            }
            st.seqs.record(h.seq, len);
            std::uint16_t port = 0;
            if (from[i].ss_family == AF_INET) {
                port = ntohs(reinterpret_cast<const sockaddr_in*>(&from[i])->sin_port);
            } else if (from[i].ss_family == AF_INET6) {
                port = ntohs(reinterpret_cast<const sockaddr_in6*>(&from[i])->sin6_port);
            }
            const std::uint64_t bit = std::uint64_t{1} << (port % 64);
            if ((st.ports_seen[port / 64] & bit) == 0) {
                st.ports_seen[port / 64] |= bit;
                ++st.sources;
            }
        }
    }
    st.seconds = static_cast<double>(now_ns() - start) / 1e9;
    st.ok = true;
    return st;
}

void print_recv(const RecvStats& st) {
    const double span = st.seqs.any() ? static_cast<double>(st.last_ns - st.first_ns) / 1e9 : 0.0;
    std::printf("{\"mode\":\"recv\",\"run\":%" PRIu32 ",\"received\":%" PRIu64 ",\"unique\":%" PRIu64 ",\"bytes\":%" PRIu64
                ",\"lost\":%" PRIu64 ",\"duplicated\":%" PRIu64 ",\"reordered\":%" PRIu64 ",\"expected\":%" PRIu64
                ",\"end_marker\":%s,\"ignored\":%" PRIu64 ",\"malformed\":%" PRIu64 ",\"untracked\":%" PRIu64
                ",\"socket_drops\":%" PRIu64 ",\"sources\":%" PRIu64 ",\"first_to_last_s\":%.6f,\"pps\":%.1f,\"seconds\":%.6f}\n",
                st.run, st.seqs.unique() + st.seqs.duplicated(), st.seqs.unique(), st.seqs.bytes(), st.seqs.lost(st.expected),
                st.seqs.duplicated(), st.seqs.reordered(), st.expected != 0 ? st.expected : (st.seqs.any() ? st.seqs.highest() + 1 : 0),
                st.end_marker ? "true" : "false", st.ignored, st.malformed, st.seqs.untracked(), st.socket_drops, st.sources, span,
                span > 0 ? static_cast<double>(st.seqs.unique()) / span : 0.0, st.seconds);
    std::fflush(stdout);
}

// ---- selftest: the real sockets, codec and counters over loopback ------------------------------

int g_failures = 0;
int g_checks = 0;

void check(bool ok, const char* what, std::uint64_t got, std::uint64_t want) {
    ++g_checks;
    if (!ok) {
        ++g_failures;
        std::fprintf(stderr, "selftest FAIL: %s (got %" PRIu64 ", want %" PRIu64 ")\n", what, got, want);
    }
}
template <typename T, typename U>
void check_eq(const T& got, const U& want, const char* what) {
    check(got == want, what, static_cast<std::uint64_t>(got), static_cast<std::uint64_t>(want));
}

std::uint16_t bound_port(int fd) {
    sockaddr_in a{};
    socklen_t l = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
    return ntohs(a.sin_port);
}

void send_raw(int fd, std::uint16_t port, const std::vector<std::uint8_t>& d) {
    const auto ep = make_endpoint("127.0.0.1", port);
    if (sendto(fd, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&ep->addr), ep->len) < 0) {
        std::perror("selftest: sendto");
    }
}

std::vector<std::uint8_t> datagram(std::uint32_t run, std::uint64_t seq, std::size_t len, std::uint32_t flags = 0,
                                   std::uint32_t claimed_len = 0) {
    std::vector<std::uint8_t> d(len, 0x5a);
    if (len >= kHeaderSize) {
        encode_header(d, FloodHeader{run, seq, claimed_len != 0 ? claimed_len : static_cast<std::uint32_t>(len), flags});
    }
    return d;
}

// Hand-made datagrams: the counters must come out exactly.
void selftest_accounting() {
    RecvOptions ro;
    ro.bind_ip = "127.0.0.1";
    ro.port = 0;
    ro.seconds = 5;
    ro.idle = 0.3;
    ro.run = 77;
    const int rfd = open_receiver(ro);
    const int sfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (rfd < 0 || sfd < 0) {
        check(false, "loopback sockets", 0, 1);
        return;
    }
    const std::uint16_t port = bound_port(rfd);
    for (std::uint64_t s : {0, 1, 2, 2, 5, 3, 4}) {
        send_raw(sfd, port, datagram(77, s, 64));
    }
    send_raw(sfd, port, datagram(78, 6, 64));             // another run: ignored
    std::vector<std::uint8_t> junk(64, 0x11);
    send_raw(sfd, port, junk);                            // not ours: ignored
    send_raw(sfd, port, {0x57, 0x42});                    // two bytes: ignored
    auto cut = datagram(77, 9, 64);
    cut.resize(20);
    send_raw(sfd, port, cut);                             // our magic, header cut: malformed
    send_raw(sfd, port, datagram(77, 10, 64, 0, 100));    // claims 100 bytes, has 64: malformed
    send_raw(sfd, port, datagram(77, 11, 64, 8));         // unknown flag: malformed
    send_raw(sfd, port, datagram(77, 8, kHeaderSize, kFlagEnd));  // 8 offered: 6 and 7 lost
    const RecvStats st = run_receiver(rfd, ro);
    check_eq(st.ok, true, "receiver ran");
    check_eq(st.seqs.unique(), std::uint64_t{6}, "unique");
    check_eq(st.seqs.duplicated(), std::uint64_t{1}, "duplicated");
    check_eq(st.seqs.reordered(), std::uint64_t{2}, "reordered (3 and 4 after 5)");
    check_eq(st.seqs.lost(st.expected), std::uint64_t{2}, "lost (6, 7)");
    check_eq(st.end_marker, true, "end marker seen");
    check_eq(st.expected, std::uint64_t{8}, "expected from the marker");
    check_eq(st.ignored, std::uint64_t{3}, "ignored");
    check_eq(st.malformed, std::uint64_t{3}, "malformed");
    check_eq(st.seqs.bytes(), std::uint64_t{7 * 64}, "bytes");
    check_eq(st.socket_drops, std::uint64_t{0}, "socket drops");
    // Without --run the receiver takes the first run it sees; without a marker, the highest + 1.
    RecvOptions adopt = ro;
    adopt.run = 0;
    send_raw(sfd, port, datagram(5, 0, 100));
    send_raw(sfd, port, datagram(6, 1, 100));
    send_raw(sfd, port, datagram(5, 3, 100));
    const RecvStats st2 = run_receiver(rfd, adopt);
    check_eq(st2.run, std::uint32_t{5}, "adopted run");
    check_eq(st2.seqs.unique(), std::uint64_t{2}, "adopted: unique");
    check_eq(st2.ignored, std::uint64_t{1}, "adopted: other run ignored");
    check_eq(st2.seqs.lost(0), std::uint64_t{2}, "no marker: lost up to the highest");
    check_eq(st2.end_marker, false, "no marker");
    close(sfd);
    close(rfd);
    // The tracker's cap: beyond it datagrams count but are not checked for duplicates.
    SeqTracker small(128);
    small.record(5, 1);
    small.record(500, 1);
    small.record(500, 1);
    small.record(6, 1);
    check_eq(small.unique(), std::uint64_t{4}, "cap: unique counts untracked");
    check_eq(small.untracked(), std::uint64_t{2}, "cap: untracked");
    check_eq(small.reordered(), std::uint64_t{1}, "cap: 6 after 500 is late");
}

// The sender and receiver as a pair, paced and unpaced, one flow or several, on loopback.
void selftest_pair(double rate, std::size_t len, double seconds, unsigned flows = 1) {
    RecvOptions ro;
    ro.bind_ip = "127.0.0.1";
    ro.seconds = seconds + 5;
    ro.idle = 1.0;
    ro.run = 4242;
    const int rfd = open_receiver(ro);
    if (rfd < 0) {
        check(false, "receiver socket", 0, 1);
        return;
    }
    SendOptions so;
    so.to = "127.0.0.1";
    so.port = bound_port(rfd);
    so.len = len;
    so.seconds = seconds;
    so.rate = rate;
    so.run = 4242;
    so.flows = flows;
    std::vector<int> sfds;
    if (!open_senders(so, sfds)) {
        check(false, "sender sockets", 0, 1);
        close(rfd);
        return;
    }
    RecvStats rs;
    std::thread receiver([&] { rs = run_receiver(rfd, ro); });
    const SendStats ss = run_sender(sfds, nullptr, so);
    receiver.join();
    close_all(sfds);
    close(rfd);
    check_eq(ss.ok && rs.ok, true, "pair ran");
    check_eq(rs.end_marker, true, "pair: end marker");
    check_eq(rs.expected, ss.offered, "pair: marker carries the offered count");
    check_eq(ss.sent + ss.enobufs + ss.eagain + ss.refused, ss.offered, "pair: sent + refused = offered");
    check_eq(rs.seqs.duplicated(), std::uint64_t{0}, "pair: no duplicates");
    check_eq(rs.seqs.unique() + rs.seqs.lost(rs.expected), ss.offered, "pair: unique + lost = offered");
    check_eq(rs.seqs.bytes(), rs.seqs.unique() * len, "pair: bytes");
    check(rs.seqs.unique() > 0, "pair: something arrived", rs.seqs.unique(), 1);
    if (rs.seqs.unique() >= flows) {
        check_eq(rs.sources, std::uint64_t{flows}, "pair: one source port a flow");
    }
    if (rate > 0) {
        // Paced: never above the rate (one burst of slack); everything arrives at this low rate.
        const auto cap = static_cast<std::uint64_t>(rate * seconds) + so.batch;
        check(ss.offered <= cap, "paced: offered within the rate", ss.offered, cap);
        check(ss.offered * 4 >= static_cast<std::uint64_t>(rate * seconds), "paced: at least a quarter of the rate",
              ss.offered, static_cast<std::uint64_t>(rate * seconds));
        check_eq(rs.seqs.lost(rs.expected), std::uint64_t{0}, "paced: nothing lost on loopback");
    } else {
        // Unpaced: loss is possible only at the receiving socket (counted there).
        check(rs.seqs.lost(rs.expected) <= rs.socket_drops, "unpaced: every loss is a socket drop",
              rs.seqs.lost(rs.expected), rs.socket_drops);
    }
}

// --flows: datagram seq leaves on socket seq % flows, so consecutive datagrams never share a
// source port and every residue keeps its own port. Read back one by one with the sender's port.
void selftest_round_robin() {
    constexpr unsigned kFlows = 3;
    RecvOptions ro;
    ro.bind_ip = "127.0.0.1";
    const int rfd = open_receiver(ro);
    if (rfd < 0) {
        check(false, "round robin: receiver socket", 0, 1);
        return;
    }
    SendOptions so;
    so.to = "127.0.0.1";
    so.port = bound_port(rfd);
    so.seconds = 0.05;
    so.rate = 2000;  // about 100 datagrams, bursts of 2: the loopback queue holds them all
    so.run = 99;
    so.flows = kFlows;
    so.markers = 1;
    std::vector<int> sfds;
    if (!open_senders(so, sfds)) {
        check(false, "round robin: sender sockets", 0, 1);
        close(rfd);
        return;
    }
    const SendStats ss = run_sender(sfds, nullptr, so);
    close_all(sfds);
    std::uint16_t port_of[kFlows] = {};
    std::uint64_t got = 0, wrong = 0, same_as_previous = 0;
    std::uint16_t previous = 0;
    for (;;) {
        std::uint8_t d[256];
        sockaddr_in from{};
        socklen_t fl = sizeof from;
        const ssize_t n = recvfrom(rfd, d, sizeof d, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fl);
        if (n < 0) {
            break;
        }
        FloodHeader h;
        if (parse_header({d, static_cast<std::size_t>(n)}, static_cast<std::size_t>(n), h) != ParseResult::ok ||
            (h.flags & kFlagEnd) != 0) {
            continue;
        }
        const std::uint16_t port = ntohs(from.sin_port);
        std::uint16_t& want = port_of[h.seq % kFlows];
        if (want == 0) {
            want = port;
        }
        wrong += port != want ? 1 : 0;
        same_as_previous += got > 0 && port == previous ? 1 : 0;
        previous = port;
        ++got;
    }
    close(rfd);
    check_eq(ss.ok, true, "round robin: sender ran");
    check_eq(got, ss.offered, "round robin: every datagram read back");
    check_eq(wrong, std::uint64_t{0}, "round robin: datagram seq on socket seq % flows");
    check_eq(same_as_previous, std::uint64_t{0}, "round robin: no two in a row from one port");
    check(port_of[0] != port_of[1] && port_of[1] != port_of[2] && port_of[0] != port_of[2],
          "round robin: three distinct source ports", port_of[1], port_of[0]);
}

void selftest_usage() {
    const char* bad_len[] = {"--to", "127.0.0.1", "--port", "9", "--seconds", "1", "--len", "23"};
    const char* bad_to[] = {"--to", "localhost", "--port", "9", "--seconds", "1"};
    const char* bad_rate[] = {"--to", "127.0.0.1", "--port", "9", "--seconds", "1", "--rate", "-5"};
    const char* no_flows[] = {"--to", "127.0.0.1", "--port", "9", "--seconds", "1", "--flows", "0"};
    const char* many_flows[] = {"--to", "127.0.0.1", "--port", "9", "--seconds", "1", "--flows", "1025"};
    const char* bad_via[] = {"--to", "127.0.0.1", "--port", "9", "--seconds", "1", "--via", "raw"};
    const char* good[] = {"--to", "::1", "--port", "9", "--seconds", "0.5", "--rate", "1e5", "--len", "1400", "--flows", "64"};
    const char* no_seconds[] = {"--port", "9"};
    SendOptions so;
    RecvOptions ro;
    std::fprintf(stderr, "selftest: eight usage errors follow, on purpose\n");
    check_eq(parse_send(8, const_cast<char**>(bad_len), so), 2, "--len below the header refused");
    check_eq(parse_send(6, const_cast<char**>(bad_to), so), 2, "a host name refused");
    check_eq(parse_send(8, const_cast<char**>(bad_rate), so), 2, "a negative rate refused");
    check_eq(parse_send(8, const_cast<char**>(no_flows), so), 2, "--flows 0 refused");
    check_eq(parse_send(8, const_cast<char**>(many_flows), so), 2, "--flows above 1024 refused");
    check_eq(parse_send(8, const_cast<char**>(bad_via), so), 2, "--via other than socket or packet refused");
    check_eq(parse_recv(2, const_cast<char**>(no_seconds), ro), 2, "recv without --seconds refused");
    check_eq(parse_recv(1, const_cast<char**>(no_seconds), ro), 2, "an option without value refused");
    SendOptions g;
    check_eq(g.flows, 1u, "one flow by default");
    check_eq(parse_send(12, const_cast<char**>(good), g), 0, "good options taken");
    check_eq(g.flows, 64u, "flows");
    check_eq(g.len, std::size_t{1400}, "len");
    check_eq(static_cast<std::uint64_t>(g.rate), std::uint64_t{100000}, "rate");
}

int selftest() {
    selftest_usage();
    selftest_accounting();
    selftest_pair(20000, 64, 0.5);
    selftest_pair(0, 1400, 0.3);
    selftest_round_robin();
    selftest_pair(20000, 64, 0.5, 4);
    selftest_pair(0, 64, 0.3, 64);
    // --via packet is not checked here: loopback takes no frame from 127/8 that it did not route
    // itself (IP_LOCALNET). tests/bench/udpflood_packet.sh checks it over a veth pair.
    std::printf("selftest: %d of %d checks passed\n", g_checks - g_failures, g_checks);
    return g_failures == 0 ? 0 : 1;
}

std::uint32_t random_run() {
    std::uint32_t r = 0;
    while (r == 0) {
        if (getrandom(&r, sizeof r, 0) != static_cast<ssize_t>(sizeof r)) {
            r = static_cast<std::uint32_t>(now_ns()) | 1;
        }
    }
    return r;
}

}  // namespace
}  // namespace wirebridge::bench

int main(int argc, char** argv) {
    using namespace wirebridge::bench;
    if (argc < 2) {
        return usage("missing mode", "");
    }
    const std::string_view mode = argv[1];
    if (mode == "selftest" && argc == 2) {
        return selftest();
    }
    if (mode == "send") {
        SendOptions o;
        if (const int rc = parse_send(argc - 2, argv + 2, o); rc != 0) {
            return rc;
        }
        if (o.run == 0) {
            o.run = random_run();
        }
        std::vector<int> fds;
        if (!open_senders(o, fds)) {
            return 1;
        }
        PacketOut packet;
        if (o.via_packet && !open_packet_out(fds, packet)) {
            close_all(fds);
            return 1;
        }
        const SendStats st = run_sender(fds, o.via_packet ? &packet : nullptr, o);
        if (packet.fd >= 0) {
            close(packet.fd);
        }
        close_all(fds);
        print_send(st, o);
        return st.ok ? 0 : 1;
    }
    if (mode == "recv") {
        RecvOptions o;
        if (const int rc = parse_recv(argc - 2, argv + 2, o); rc != 0) {
            return rc;
        }
        const int fd = open_receiver(o);
        if (fd < 0) {
            return 1;
        }
        const RecvStats st = run_receiver(fd, o);
        close(fd);
        print_recv(st);
        return st.ok ? 0 : 1;
    }
    return usage("unknown mode", mode);
}
