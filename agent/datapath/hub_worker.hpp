// HubWorker: the hub's (server role's) data path (UDP): a TAP queue, a socket, its own contexts.
//
// The server always pumps through these. With `tunnel.workers: N` (N > 1) it runs N of them, each
// on a thread and loop of its own with a SO_REUSEPORT socket; with one, the single worker runs on
// the main thread's own loop (Setup::host_loop). The main thread keeps the sessions (dispatcher:
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
// See docs/PERFORMANCE.md ("hub workers").
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
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
#include "io/udp_socket.hpp"

namespace wirebridge::datapath {

// A worker's own totals (status shows them per worker: proof that each one carries traffic).
struct HubWorkerCounts {
    std::uint64_t packets_in = 0;   // data packets opened from the socket
    std::uint64_t packets_out = 0;  // data packets sealed and handed to the socket
    std::uint64_t frames_from_tap = 0, frames_to_tap = 0;
    std::uint64_t mailed = 0;       // to the main thread
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
    };
    // `socket`: this worker's member of the SO_REUSEPORT group (GRO on), read by it alone.
    static Result<std::unique_ptr<HubWorker>> start(const Setup& setup, io::UdpSocket socket);
    ~HubWorker();
    HubWorker(const HubWorker&) = delete;
    HubWorker& operator=(const HubWorker&) = delete;

    void wake();  // the directory changed: refresh now (lets go of gone clients' keys at once)
    void stop();  // joined (single-thread mode: its fds taken off the host loop); idempotent
    HubWorkerCounts counts() const;
    unsigned index() const { return setup_.index; }

private:
    HubWorker(const Setup& setup, io::UdpSocket socket);
    Result<void> watch();
    void run();
    void finish();
    void on_socket();
    void on_tap();
    // Seals the batch's frames for their clients, writes the TAP's, sends; publishes counters.
    void output();
    void seal_to(WorkerPeer& p, std::span<const std::uint8_t> frame);
    void send_tx();
    void publish();
    void fail_worker(const std::string& why);

    Setup setup_;
    bool watching_ = false;  // single-thread mode: its fds are on the host loop
    io::UdpSocket socket_;
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

    std::atomic<std::uint64_t> packets_in_{0}, packets_out_{0}, from_tap_{0}, to_tap_{0}, mailed_{0};
    WorkerHome home_;  // last: destroyed first, so the thread is joined before the members it uses go
};

}  // namespace wirebridge::datapath
