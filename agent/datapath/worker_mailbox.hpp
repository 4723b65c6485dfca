// WorkerMailbox: what data path workers (client or hub) hand to the main thread, plus the eventfd wake-ups both use.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "common/result.hpp"
#include "io/fd.hpp"
#include "io/socket_address.hpp"

namespace wirebridge::datapath {

// An eventfd to wake a thread's loop: non-blocking, close-on-exec.
Result<io::Fd> make_wake_fd();
void signal_wake_fd(int fd);
void drain_wake_fd(int fd);

// Workers to the main thread: what only the sessions can handle. Rare traffic (handshakes, pings
// every few seconds), so a mutex and a copy each are fine here; bounded so a flood cannot grow it.
//
// Priority: mail from an established peer (an address the data path knows: its control packets,
// pings, OCC, data of a key not yet seen) may fill the whole box; mail from anyone else (new
// clients' handshakes, and whatever a flood sends) at most half of it, so a flood of resets or
// garbage cannot crowd out the established peers' control channel and keepalive. Every refused
// mail is counted by source (status: mailbox_full, mailbox_full_unknown), and what the worker
// filtered before posting (mailbox_filtered).
class WorkerMailbox {
public:
    // packet: a received packet for the session(s); payload: a decrypted ping/OCC; error: the
    // worker failed (bytes: the message).
    enum class Kind : std::uint8_t { packet, payload, error };
    struct Mail {
        Kind kind = Kind::packet;
        std::vector<std::uint8_t> bytes;
        io::SocketAddress from;     // hub: the sender (the dispatcher keys clients by it)
        std::uint32_t peer_id = 0;  // hub, payload: whose ping/OCC it is
    };
    enum class Source : std::uint8_t { peer, unknown };
    // capacity: mails held at most until the main thread takes them.
    static Result<std::unique_ptr<WorkerMailbox>> create(std::size_t capacity);
    WorkerMailbox(io::Fd event, std::size_t capacity) : event_(std::move(event)), capacity_(capacity) {}
    WorkerMailbox(const WorkerMailbox&) = delete;
    WorkerMailbox& operator=(const WorkerMailbox&) = delete;
    int fd() const { return event_.get(); }
    // Any thread. False when the box is full for `source` (the mail is dropped, like a lost
    // datagram, and counted).
    bool post(Kind kind, std::span<const std::uint8_t> bytes, const io::SocketAddress& from = {},
              std::uint32_t peer_id = 0, Source source = Source::peer);
    // Any thread: wakes the main thread without a mail (it reads counters the worker updated,
    // e.g. the client's refusals). Wake-ups coalesce in the eventfd: a flood of them costs the main
    // thread one turn per loop round and takes no room from the mails.
    void wake() { signal_wake_fd(event_.get()); }
    // Any thread: a packet the worker refused before posting (not for any session).
    void count_filtered() { filtered_.fetch_add(1, std::memory_order_relaxed); }
    std::uint64_t dropped(Source source) const {
        return dropped_[static_cast<std::size_t>(source)].load(std::memory_order_relaxed);
    }
    std::uint64_t filtered() const { return filtered_.load(std::memory_order_relaxed); }
    // Main thread: everything posted so far.
    void take(std::vector<Mail>& out);

private:
    io::Fd event_;
    const std::size_t capacity_;
    std::mutex mutex_;
    std::vector<Mail> mails_;
    std::array<std::atomic<std::uint64_t>, 2> dropped_{};
    std::atomic<std::uint64_t> filtered_{0};
};

}  // namespace wirebridge::datapath
