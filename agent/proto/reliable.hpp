// Control channel reliability (reliable.c's model): numbered messages, individual acks,
// a 6-message send window with exponential-backoff retransmit, a 12-message receive window
// with in-order delivery. Time is injected (milliseconds on any monotonic scale).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "proto/bytes.hpp"
#include "proto/constants.hpp"
#include "proto/control_packet.hpp"

namespace wirebridge::proto {

using TimeMs = int64_t;  // milliseconds on the caller's monotonic clock
inline constexpr TimeMs kNever = INT64_MAX;

// One numbered control message as the reliability layer keeps it.
struct ReliableMessage {
    Opcode opcode = Opcode::control_v1;
    uint32_t id = 0;
    std::vector<uint8_t> payload;
};

class ReliableSend {
public:
    explicit ReliableSend(uint32_t initial_timeout_ms = kInitialRetransmitMs)
        : initial_timeout_ms_(initial_timeout_ms) {}

    // A new message may be queued: a slot is free and its id stays within the window of the
    // oldest unacknowledged message (the peer buffers at most that far ahead).
    bool can_queue() const;
    // Queues a message; it is due for sending at once. Returns its message id.
    uint32_t queue(Opcode op, ByteSpan payload, TimeMs now);
    // Processes one ack from the peer. Returns true if it acknowledged an in-flight message.
    bool ack(uint32_t id);
    // The in-flight message that is due soonest if it is due at `now`, else nullptr.
    const ReliableMessage* due(TimeMs now) const;
    // Records that `id` was (re)sent at `now`: schedules the next try with doubled timeout.
    void sent(uint32_t id, TimeMs now);
    // Earliest retransmit deadline, kNever if nothing is in flight.
    TimeMs deadline() const;
    bool empty() const;
    size_t in_flight() const;
    uint32_t next_id() const { return next_id_; }

private:
    struct Slot {
        bool used = false;
        ReliableMessage msg;
        TimeMs next_try = 0;
        uint32_t timeout_ms = 0;
        uint8_t later_acks = 0;  // acks of younger messages seen since the last send (fast retransmit)
    };
    std::array<Slot, kSendWindow> slots_{};
    uint32_t next_id_ = 0;
    uint32_t initial_timeout_ms_;
};

class ReliableRecv {
public:
    enum class Verdict : uint8_t {
        accepted,       // new message stored: ack it
        duplicate,      // already received: ack it again, do not deliver
        out_of_window,  // too far ahead: drop silently, the sender will retry
    };

    Verdict receive(Opcode op, uint32_t id, ByteSpan payload);
    // Delivers the next in-order message, if it has arrived.
    bool pop(ReliableMessage& out);
    uint32_t next_id() const { return next_id_; }

private:
    struct Slot {
        bool used = false;
        ReliableMessage msg;
    };
    std::array<Slot, kRecvWindow> slots_{};
    uint32_t next_id_ = 0;
};

// Acks owed to the peer. Duplicates are merged; ids are sent oldest first.
class AckQueue {
public:
    void add(uint32_t id);
    bool empty() const { return count_ == 0; }
    size_t size() const { return count_; }
    // Moves up to `max` ids into `out`.
    void take(AckList& out, size_t max);
    void clear() { count_ = 0; }

private:
    static constexpr size_t kCapacity = 2 * kRecvWindow;
    std::array<uint32_t, kCapacity> ids_{};
    size_t count_ = 0;
};

}  // namespace wirebridge::proto
