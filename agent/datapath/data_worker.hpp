// DataWorker: the client's data path (UDP): a TAP queue, an event loop, crypto contexts and counters.
//
// The client always pumps through these. With `tunnel.workers: N` (N > 1) it runs N of them, each
// on a thread and loop of its own, next to the main thread, which keeps the session (control
// channel, keepalive, rekeys), the status and the signals. With one, the single worker runs on the
// main thread's own loop (Setup::host_loop): the same code, no thread, no second loop.
//
//   TAP queue k --(TapReader)--> worker k: seal (ids: one block per batch) --sendmmsg--> shared socket
//   shared socket --recvmmsg--> worker 0: open, replay window (one lock per batch) --(TapWriter)--> TAP queue 0
//   worker 0 --mailbox--> main: control packets, data packets of a key not installed yet, ping/OCC,
//                               and a bare wake-up when its socket reported a refusal (ICMP port unreachable)
//
// Sending is parallel: the kernel spreads the frames it sends into the TAP over the queues by flow
// hash, so one flow stays on one worker and in order; workers interleave only different flows,
// and their packet ids by at most one id block, inside the peer's 64-id replay window. Receiving is
// done by worker 0 alone: the client's socket is connected to one server, so all traffic is one
// 4-tuple, and several readers of it would hand consecutive segments of one TCP flow to different
// threads and TAP queues, which reorders them (TCP takes that for loss). See docs/PERFORMANCE.md.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "datapath/data_worker_keys.hpp"
#include "datapath/pump_common.hpp"
#include "datapath/worker_home.hpp"
#include "datapath/worker_mailbox.hpp"
#include "datapath/worker_traffic.hpp"
#include "common/result.hpp"
#include "datapath/data_channel.hpp"
#include "io/event_loop.hpp"
#include "io/fd.hpp"
#include "io/tap_device.hpp"
#include "io/tap_reader.hpp"
#include "io/tap_writer.hpp"
#include "io/udp_socket.hpp"

namespace wirebridge::datapath {

class DataWorker {
public:
    struct Setup {
        unsigned index = 0;
        io::TapDevice* tap = nullptr;
        unsigned queue = 0;
        bool receive = false;           // reads the socket (one worker does)
        std::size_t send_block = 32;    // ids per batch: bounded so reordering stays in the peer's window
        const WorkerKeys* keys = nullptr;
        WorkerMailbox* mailbox = nullptr;
        io::SocketAddress peer;         // the server (the socket is connected to it)
        // Single-thread mode: the worker's fds go on this loop (the caller's), no thread is started,
        // and wake()/stop() must come from the thread running that loop.
        io::EventLoop* host_loop = nullptr;
    };
    // Builds the worker's loop and buffers and starts its thread (or joins host_loop); `socket` is
    // its own handle on the shared UDP socket (UdpSocket::share()).
    static Result<std::unique_ptr<DataWorker>> start(const Setup& setup, io::UdpSocket socket);
    ~DataWorker();
    DataWorker(const DataWorker&) = delete;
    DataWorker& operator=(const DataWorker&) = delete;

    // The keys changed: the worker picks up the new set now (and lets go of the old one).
    void wake();
    // Stops the loop and joins the thread (its key set is dropped first); in single-thread mode,
    // takes the worker's fds off the host loop. Idempotent.
    void stop();
    bool failed() const { return failed_.load(std::memory_order_acquire); }
    WorkerTraffic traffic() const;
    unsigned index() const { return setup_.index; }
    // Frames the TAP refused (dropped and counted, the worker goes on): status tap_write drops.
    std::uint64_t tap_write_drops() const { return tap_write_.count(); }

private:
    DataWorker(const Setup& setup, io::UdpSocket socket);
    Result<void> watch();
    void run();
    void finish();
    void on_tap();
    void on_socket();
    void fail_worker(const std::string& why);
    std::string who() const;

    Setup setup_;
    bool watching_ = false;  // single-thread mode: its fds are on the host loop
    io::UdpSocket socket_;
    io::TapReader reader_;
    io::TapWriter writer_;
    datapath::DataChannel dc_;
    KeyFollower follower_;
    std::atomic<bool> failed_{false};
    TapWriteFailures tap_write_;

    io::DatagramBatch tx_;
    std::unique_ptr<io::DatagramBatch> rx_;  // worker 0 only (64 KB GRO buffers)
    std::vector<datapath::DataChannel::Opened> opened_;
    std::vector<std::uint32_t> lengths_;

    TrafficSlot traffic_;  // published copies of dc_.counters() (written by the worker after each batch)
    WorkerHome home_;  // last: destroyed first, so the thread is joined before the members it uses go
};

}  // namespace wirebridge::datapath
