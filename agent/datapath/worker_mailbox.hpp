// WorkerMailbox: what data path workers (client or hub) hand to the main thread, plus the eventfd wake-ups both use.
#pragma once

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
    // capacity: mails held at most until the main thread takes them.
    static Result<std::unique_ptr<WorkerMailbox>> create(std::size_t capacity);
    WorkerMailbox(io::Fd event, std::size_t capacity) : event_(std::move(event)), capacity_(capacity) {}
    WorkerMailbox(const WorkerMailbox&) = delete;
    WorkerMailbox& operator=(const WorkerMailbox&) = delete;
    int fd() const { return event_.get(); }
    // Any thread. False when the box is full (the mail is dropped, like a lost datagram).
    bool post(Kind kind, std::span<const std::uint8_t> bytes, const io::SocketAddress& from = {},
              std::uint32_t peer_id = 0);
    // Main thread: everything posted so far.
    void take(std::vector<Mail>& out);

private:
    io::Fd event_;
    const std::size_t capacity_;
    std::mutex mutex_;
    std::vector<Mail> mails_;
};

}  // namespace wirebridge::datapath
