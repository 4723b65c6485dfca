// Replay protection for packet ids: backtrack bitmap plus time limit, as openvpn's packet_id.c.
#include "proto/replay_window.hpp"

namespace wirebridge::proto {

namespace {
// seen_at_ stores now+1 so that time 0 still reads as "seen".
constexpr int64_t stamp(int64_t now_sec) { return now_sec + 1; }
}  // namespace

Drop ReplayWindow::check(uint32_t id, int64_t now_sec) const {
    if (id == 0) return Drop::bad_packet_id;
    if (high_ == 0 || id > high_) return Drop::none;
    const uint32_t back = high_ - id;
    if (back >= backtrack_) return Drop::replay;
    if (slot(back) != 0) return Drop::replay;
    // Too late: openvpn expires every slot older than the first one (from the top) that was
    // seen more than time_sec_ ago.
    for (uint32_t b = 0; b < back; ++b) {
        const int64_t t = slot(b);
        if (t != 0 && (t - 1) + time_sec_ < now_sec) return Drop::replay;
    }
    return Drop::none;
}

void ReplayWindow::commit(uint32_t id, int64_t now_sec) {
    if (id > high_ || high_ == 0) {
        uint32_t shift = high_ == 0 ? kMaxBacktrack : id - high_;
        if (shift >= kMaxBacktrack) {
            seen_at_.fill(0);
            head_ = 0;
        } else {
            for (uint32_t i = 0; i < shift; ++i) {
                head_ = (head_ + 1) % kMaxBacktrack;
                seen_at_[head_] = 0;
            }
        }
        high_ = id;
        slot(0) = stamp(now_sec);
        return;
    }
    slot(high_ - id) = stamp(now_sec);
}

Drop ReplayWindow::check_long(uint32_t id, uint32_t sender_time, int64_t now_sec) const {
    if (have_sender_time_) {
        if (sender_time < sender_time_) return Drop::bad_packet_id;
        if (sender_time > sender_time_) return id == 0 ? Drop::bad_packet_id : Drop::none;
    }
    return check(id, now_sec);
}

void ReplayWindow::commit_long(uint32_t id, uint32_t sender_time, int64_t now_sec) {
    if (!have_sender_time_ || sender_time != sender_time_) {
        reset();
        have_sender_time_ = true;
        sender_time_ = sender_time;
    }
    commit(id, now_sec);
}

void ReplayWindow::reset() {
    high_ = 0;
    head_ = 0;
    seen_at_.fill(0);
    have_sender_time_ = false;
    sender_time_ = 0;
}

}  // namespace wirebridge::proto
