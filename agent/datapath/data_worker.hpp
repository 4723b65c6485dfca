// DataWorker: the client's data path: a TAP queue, the transport (UDP, or the TCP stream), crypto contexts, counters.
//
// The client always pumps through these. With `tunnel.workers: N` (N > 1, UDP) it runs N of them,
// each on a thread and loop of its own, next to the main thread, which keeps the session (control
// channel, keepalive, rekeys), the status and the signals. With one, the single worker runs on the
// main thread's own loop (Setup::host_loop): the same code, no thread, no second loop. Over TCP
// there is always one, on the host loop: one stream has one reader and one writer.
//
//   TAP queue k --(TapReader)--> worker k: seal (ids: one block per batch) --sendmmsg--> shared socket
//                                                                         or --(TcpLink, framed)--> the stream
//   shared socket --recvmmsg--> worker 0: open, replay window (one lock per batch) --(TapWriter)--> TAP queue 0
//   the stream --(TcpLink: whole packets in a batch)--> worker 0: the same
//   worker 0 --mailbox--> main: control packets, data packets of a key not installed yet, ping/OCC,
//                               and a bare wake-up when its socket reported a refusal (ICMP port unreachable)
//                               or its stream ended (stream_end())
//   main --send_packet()--> the stream (TCP: the session's own packets go where the data goes)
//
// Sending is parallel: the kernel spreads the frames it sends into the TAP over the queues by flow
// hash, so one flow stays on one worker and in order; workers interleave only different flows,
// and their packet ids by at most one id block, inside the peer's 64-id replay window. Receiving is
// done by worker 0 alone: the client's socket is connected to one server, so all traffic is one
// 4-tuple, and several readers of it would hand consecutive segments of one TCP flow to different
// threads and TAP queues, which reorders them (TCP takes that for loss). See docs/PERFORMANCE.md.
//
// Over TCP the worker also keeps the stream's back-pressure: above TcpLink::kHighWater unsent
// bytes it stops reading its TAP and waits for EPOLLOUT, and reads again once the socket drained.
// What the stream refuses beyond its hard limit (the session's packets, mostly) is dropped and
// counted (tcp_link_full).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
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
#include "io/tcp_link.hpp"
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
    // Over TCP: the worker owns the (connected) stream to the server; only on a host loop, and it
    // is the one that receives.
    static Result<std::unique_ptr<DataWorker>> start(const Setup& setup, io::TcpLink link);
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
    // TCP: packets (data, or the session's) dropped because the stream held more than its hard
    // limit unsent: status tcp_link_full drops.
    std::uint64_t tcp_link_full_drops() const { return link_full_.load(std::memory_order_relaxed); }

    // TCP, from the host loop's thread. The session's own packets (control channel, pings): queued
    // on the stream (beyond its hard limit dropped, like a lost datagram: the control channel
    // resends), written by flush_packets() or with the next data.
    void queue_packet(std::span<const std::uint8_t> packet);
    void flush_packets();
    // Why the stream ended (the peer closed it, a read or write failed, a refused length), or
    // empty while it runs. The worker then lets go of its fds and wakes the mailbox.
    const std::string& stream_end() const { return stream_end_; }
    // Whether it reads its TAP now (false while the stream is above its high-water mark).
    bool reading_tap() const { return tap_reading_; }

private:
    DataWorker(const Setup& setup, std::optional<io::UdpSocket> socket, std::optional<io::TcpLink> link);
    static Result<std::unique_ptr<DataWorker>> launch(std::unique_ptr<DataWorker> w);
    Result<void> watch();
    int transport_fd() const { return socket_ ? socket_->fd() : link_->fd(); }
    void run();
    void finish();
    void on_tap();
    void on_socket();
    void on_stream(std::uint32_t events);
    Result<std::size_t> receive_batch() { return socket_ ? socket_->receive(*rx_) : link_->receive(*rx_); }
    // Sends what tx_ holds and clears it (UDP: what the socket does not take is dropped).
    void send_batch();
    // TCP: EPOLLOUT while bytes wait, the TAP read while below the high-water mark.
    void update_interest();
    void end_stream(const std::string& why);
    // Counts `n` packets the stream refused (over its hard limit); logs the stream's first.
    void count_link_full(std::uint64_t n);
    void fail_worker(const std::string& why);
    std::string who() const;

    Setup setup_;
    bool watching_ = false;  // single-thread mode: its fds are on the host loop
    std::optional<io::UdpSocket> socket_;  // the transport: one of these
    std::optional<io::TcpLink> link_;
    std::string stream_end_;
    bool watching_out_ = false;  // TCP: EPOLLOUT asked for now (epoll_ctl only when the wish changes)
    bool tap_reading_ = true;
    io::TapReader reader_;
    io::TapWriter writer_;
    datapath::DataChannel dc_;
    KeyFollower follower_;
    std::atomic<bool> failed_{false};
    TapWriteFailures tap_write_;
    std::atomic<std::uint64_t> link_full_{0};  // TCP: one add per refused batch, not per packet

    io::DatagramBatch tx_;
    std::unique_ptr<io::DatagramBatch> rx_;  // worker 0 only (UDP: 64 KB GRO buffers; TCP: whole packets)
    std::vector<datapath::DataChannel::Opened> opened_;
    std::vector<std::uint32_t> lengths_;

    TrafficSlot traffic_;  // published copies of dc_.counters() (written by the worker after each batch)
    WorkerHome home_;  // last: destroyed first, so the thread is joined before the members it uses go
};

}  // namespace wirebridge::datapath
