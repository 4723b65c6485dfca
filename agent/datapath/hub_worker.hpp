// HubWorker: the hub's (server role's) data path: a TAP queue, its transport (a UDP socket, or the clients' TCP links), its own contexts.
//
// The server always pumps through these. With `tunnel.workers: N` (N > 1, UDP) it runs N of them,
// each on a thread and loop of its own with a SO_REUSEPORT socket; with one, the single worker runs
// on the main thread's own loop (Setup::host_loop). The main thread keeps the sessions (dispatcher:
// control channel, TLS, keepalive, rekeys, pool), the status and the signals, and reads neither
// the TAP nor a socket of the group:
//
//   socket k (SO_REUSEPORT: the kernel spreads clients by 4-tuple, one client -> one socket, in order)
//     --recvmmsg--> worker k: find the client by peer-id + address, open with its own contexts,
//                   replay window per key (one lock per run of a client's packets)
//                   --> switch (one lock per batch) --> TAP queue k, or sealed for another client
//   TAP queue k (the kernel spreads LAN flows by hash: one flow -> one queue, in order)
//     --> worker k: switch (one lock per batch) --> seal per client (ids: a block per client per
//                   batch, at most 64/N) --sendmmsg--> socket k, per-datagram addresses
//   worker k --mailbox--> main: control packets, data of a key it does not have yet, pings/OCC
//
// Over TCP (start_tcp) there is one worker, on the host loop: the main thread accepts and caps the
// connections and hands each one over (add_link); the worker owns the streams from then on:
//
//   link (io::TcpLink: whole packets in a batch, the link's peer as their source)
//     --> worker: the same open / replay / switch / mailbox steps as a socket's batch
//   TAP --> worker: switch --> seal per client --> that client's link (queued, framed), then each
//                   link touched written; EPOLLOUT only while bytes wait. A link over its hard limit
//                   drops the packet (a lost datagram, counted: tcp_link_full); the TAP is read on
//                   regardless (one slow client does not stop the others)
//   main --queue_packet()/flush_packets()--> a link: the session's own packets (control, pings)
//   a link's end (EOF, read or write error, refused length) or close_link(): the worker closes it
//                   and tells main (Setup::link_ended, on its thread) why
//
// See docs/PERFORMANCE.md ("hub workers").
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "datapath/hub_peers.hpp"
#include "datapath/hub_switch_batch.hpp"
#include "datapath/pump_common.hpp"
#include "datapath/worker_home.hpp"
#include "datapath/worker_mailbox.hpp"
#include "common/result.hpp"
#include "datapath/l2_switch.hpp"
#include "io/event_loop.hpp"
#include "io/fd.hpp"
#include "io/tap_device.hpp"
#include "io/tap_reader.hpp"
#include "io/tap_writer.hpp"
#include "io/tcp_link.hpp"
#include "io/udp_socket.hpp"

namespace wirebridge::datapath {

// A worker's own totals (status shows them per worker: proof that each one carries traffic).
struct HubWorkerCounts {
    std::uint64_t packets_in = 0;   // data packets opened from the socket (TCP: the links)
    std::uint64_t packets_out = 0;  // data packets sealed and handed to the socket (TCP: queued on a link)
    std::uint64_t frames_from_tap = 0, frames_to_tap = 0;
    std::uint64_t mailed = 0;       // to the main thread
    // TCP: packets (data, or the session's) dropped because their client's link held more than its
    // hard limit unsent (status: tcp_link_full drops).
    std::uint64_t tcp_link_full = 0;
};

class HubWorker {
public:
    struct Setup {
        unsigned index = 0;
        io::TapDevice* tap = nullptr;  // queue `index`
        std::size_t send_block = 32;   // ids per client per batch (64 / workers)
        const HubDirectory* directory = nullptr;
        datapath::L2Switch* sw = nullptr;
        std::mutex* switch_mutex = nullptr;
        WorkerMailbox* mailbox = nullptr;
        // Single-thread mode: the worker's fds go on this loop (the caller's), no thread is started,
        // and wake()/stop() must come from the thread running that loop.
        io::EventLoop* host_loop = nullptr;
        // TCP: told (on the host loop's thread) that a link ended and was closed, and why: its peer
        // closed it, a read or write failed, a refused length, or close_link().
        std::function<void(const io::SocketAddress& peer, const std::string& why)> link_ended;
    };
    // `socket`: this worker's member of the SO_REUSEPORT group (GRO on), read by it alone.
    static Result<std::unique_ptr<HubWorker>> start(const Setup& setup, io::UdpSocket socket);
    // Over TCP: no socket; the links come one by one (add_link). Only on a host loop: one worker,
    // one thread owns every stream (and shares it with the sessions' packets).
    static Result<std::unique_ptr<HubWorker>> start_tcp(const Setup& setup);
    ~HubWorker();
    HubWorker(const HubWorker&) = delete;
    HubWorker& operator=(const HubWorker&) = delete;

    void wake();  // the directory changed: refresh now (lets go of gone clients' keys at once)
    void stop();  // joined (single-thread mode: its fds taken off the host loop); idempotent
    HubWorkerCounts counts() const;
    unsigned index() const { return setup_.index; }

    // TCP, from the host loop's thread. An accepted (and capped) connection: the worker reads it,
    // writes it and closes it from now on.
    Result<void> add_link(io::TcpLink link);
    // The session's own packets (control channel, pings) for the client at `to`: queued on its link
    // (beyond its hard limit dropped, like a lost datagram: the control channel resends), written by
    // flush_packets() or with the next data. Nothing if no link has that peer.
    void queue_packet(const io::SocketAddress& to, std::span<const std::uint8_t> packet);
    void flush_packets();
    // Closes the link of `peer` (handshake timeout, its session ended); link_ended is told.
    void close_link(const io::SocketAddress& peer, const std::string& why);
    std::size_t link_count() const { return links_.size(); }

private:
    // One accepted connection and the worker's bookkeeping of it.
    struct Link {
        explicit Link(io::TcpLink l) : link(std::move(l)) {}
        io::TcpLink link;
        bool watching_out = false;  // EPOLLOUT asked for now (epoll_ctl only when the wish changes)
        bool dirty = false;         // queued to since its last write (in dirty_)
        bool full_logged = false;   // its first drop over the hard limit was logged
        std::string end;            // why it ended; empty while it runs
    };
    struct AddressHash {
        std::size_t operator()(const io::SocketAddress& a) const;
    };

    HubWorker(const Setup& setup, std::optional<io::UdpSocket> socket);
    static Result<std::unique_ptr<HubWorker>> launch(std::unique_ptr<HubWorker> w);
    Result<void> watch();
    void run();
    void finish();
    void on_socket();
    void on_link(Link& l, std::uint32_t events);
    // One batch of packets in rx_ (from the socket or a link): opened, replay-checked, switched,
    // mailed; then output() and publish().
    void take_batch(std::size_t n);
    void on_tap();
    // Seals the batch's frames for their clients, writes the TAP's, sends; publishes counters.
    void output();
    void seal_to(WorkerPeer& p, std::span<const std::uint8_t> frame);
    void send_tx();
    // TCP: writes the links queued to (dirty_); EPOLLOUT for those that kept bytes.
    void flush_links();
    void update_interest(Link& l);
    // Counts a packet the link refused (over its hard limit; publish() shows it); logs the link's first.
    void count_link_full(Link& l);
    // Takes the link off the loop now; closed (and link_ended told) by reap(), once nothing of this
    // call uses it any more.
    void end_link(Link& l, const std::string& why);
    void reap();
    void publish();
    void fail_worker(const std::string& why);

    Setup setup_;
    bool watching_ = false;  // single-thread mode: its fds are on the host loop
    std::optional<io::UdpSocket> socket_;  // UDP; over TCP, the links
    std::unordered_map<int, std::unique_ptr<Link>> links_;  // by fd
    std::unordered_map<io::SocketAddress, Link*, AddressHash> link_by_addr_;  // built at add_link: no search per packet
    std::vector<Link*> dirty_;
    std::vector<int> ended_;  // fds of links end_link() took off the loop, for reap()
    io::TapReader reader_;
    io::TapWriter writer_;
    PeerFollower peers_;
    HubSwitchBatch batch_;

    io::DatagramBatch rx_;
    io::DatagramBatch tx_;
    std::vector<datapath::DataChannel::Opened> opened_;
    std::vector<WorkerPeer*> opened_by_;
    std::vector<std::uint8_t> tap_buf_;  // kBatch frames read from the TAP, with headroom each
    std::vector<WorkerPeer*> touched_;   // clients of this batch: id blocks, counters
    std::uint64_t stamp_ = 0;
    TapWriteFailures tap_write_;  // the log's count; the switch counts the drops per port
    HubWorkerCounts local_;

    std::atomic<std::uint64_t> packets_in_{0}, packets_out_{0}, from_tap_{0}, to_tap_{0}, mailed_{0}, link_full_{0};
    WorkerHome home_;  // last: destroyed first, so the thread is joined before the members it uses go
};

}  // namespace wirebridge::datapath
