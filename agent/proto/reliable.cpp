// Control channel reliability: send window with backoff, receive window with in-order delivery.
#include "proto/reliable.hpp"

#include <algorithm>

namespace wirebridge::proto {

namespace {
// Fast retransmit after this many acks of younger messages (reliable.c N_ACK_RETRANSMIT).
constexpr uint8_t kFastRetransmitAcks = 3;
}  // namespace

bool ReliableSend::can_queue() const {
    uint32_t max_back = 0;  // distance from the oldest unacknowledged message to the next id
    size_t used = 0;
    for (const Slot& s : slots_) {
        if (!s.used) continue;
        ++used;
        max_back = std::max(max_back, next_id_ - s.msg.id);
    }
    return used < slots_.size() && max_back < kSendWindow;
}

uint32_t ReliableSend::queue(Opcode op, ByteSpan payload, TimeMs now) {
    for (Slot& s : slots_) {
        if (s.used) continue;
        s.used = true;
        s.msg.opcode = op;
        s.msg.id = next_id_++;
        s.msg.payload.assign(payload.begin(), payload.end());
        s.next_try = now;
        s.timeout_ms = initial_timeout_ms_;
        s.later_acks = 0;
        return s.msg.id;
    }
    return next_id_;  // unreachable when the caller checked can_queue()
}

bool ReliableSend::ack(uint32_t id) {
    bool hit = false;
    for (Slot& s : slots_) {
        if (s.used && s.msg.id == id) {
            s.used = false;
            s.msg.payload.clear();
            hit = true;
        }
    }
    if (!hit) return false;
    for (Slot& s : slots_) {
        if (s.used && s.msg.id < id && s.later_acks < 255) {
            if (++s.later_acks == kFastRetransmitAcks) s.next_try = 0;  // resend at once
        }
    }
    return true;
}

const ReliableMessage* ReliableSend::due(TimeMs now) const {
    const Slot* best = nullptr;
    for (const Slot& s : slots_) {
        if (!s.used || s.next_try > now) continue;
        if (!best || s.next_try < best->next_try ||
            (s.next_try == best->next_try && s.msg.id < best->msg.id))
            best = &s;
    }
    return best ? &best->msg : nullptr;
}

void ReliableSend::sent(uint32_t id, TimeMs now) {
    for (Slot& s : slots_) {
        if (!s.used || s.msg.id != id) continue;
        s.next_try = now + s.timeout_ms;
        s.timeout_ms = std::min<uint32_t>(s.timeout_ms * 2, kMaxRetransmitMs);
        s.later_acks = 0;
    }
}

TimeMs ReliableSend::deadline() const {
    TimeMs d = kNever;
    for (const Slot& s : slots_)
        if (s.used) d = std::min(d, s.next_try);
    return d;
}

bool ReliableSend::empty() const { return in_flight() == 0; }

size_t ReliableSend::in_flight() const {
    return static_cast<size_t>(std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.used; }));
}

ReliableRecv::Verdict ReliableRecv::receive(Opcode op, uint32_t id, ByteSpan payload) {
    const uint32_t ahead = id - next_id_;  // wraps for ids already delivered
    if (ahead >= 0x80000000u) return Verdict::duplicate;
    if (ahead >= kRecvWindow) return Verdict::out_of_window;
    Slot& s = slots_[id % kRecvWindow];
    if (s.used) return Verdict::duplicate;
    s.used = true;
    s.msg.opcode = op;
    s.msg.id = id;
    s.msg.payload.assign(payload.begin(), payload.end());
    return Verdict::accepted;
}

bool ReliableRecv::pop(ReliableMessage& out) {
    Slot& s = slots_[next_id_ % kRecvWindow];
    if (!s.used || s.msg.id != next_id_) return false;
    out = std::move(s.msg);
    s.used = false;
    s.msg = ReliableMessage{};
    ++next_id_;
    return true;
}

void AckQueue::add(uint32_t id) {
    for (size_t i = 0; i < count_; ++i)
        if (ids_[i] == id) return;
    if (count_ == kCapacity) {  // the oldest ack is the least useful: the peer retries anyway
        std::copy(ids_.begin() + 1, ids_.begin() + count_, ids_.begin());
        --count_;
    }
    ids_[count_++] = id;
}

void AckQueue::take(AckList& out, size_t max) {
    out.count = 0;
    const size_t n = std::min({max, count_, out.ids.size()});
    for (size_t i = 0; i < n; ++i) out.push(ids_[i]);
    std::copy(ids_.begin() + n, ids_.begin() + count_, ids_.begin());
    count_ -= n;
}

}  // namespace wirebridge::proto
