// Replay protection for packet ids (packet_id.c's model: --replay-window 64 15).
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

#include "proto/constants.hpp"

namespace wirebridge::proto {

// One window per key and direction. Owned by one thread at a time: no locks, no allocation.
// Accepts any id above the highest seen; an older id only if it is within the backtrack
// window, was not seen, and a younger id arrived less than `time_sec` ago (so a captured
// packet cannot be replayed long after its neighbours). Id 0 is never valid.
//
// The long form (tls-auth / tls-crypt replay-id: id + sender time) resets the window when the
// sender's time advances and refuses a time that goes backwards.
class ReplayWindow {
public:
    explicit ReplayWindow(unsigned backtrack = kReplayBacktrack, uint32_t time_sec = kReplayTimeSec)
        : backtrack_(backtrack > kMaxBacktrack ? kMaxBacktrack : backtrack), time_sec_(time_sec) {}

    // Checks without recording (call before authenticating, then commit() after).
    Drop check(uint32_t id, int64_t now_sec) const;
    // Records an authenticated id. Call only after check() returned Drop::none.
    void commit(uint32_t id, int64_t now_sec);
    // check() + commit() for callers that authenticate first.
    Drop accept(uint32_t id, int64_t now_sec) {
        Drop d = check(id, now_sec);
        if (d == Drop::none) commit(id, now_sec);
        return d;
    }

    // Long form: `sender_time` is the peer's per-instance timestamp.
    Drop check_long(uint32_t id, uint32_t sender_time, int64_t now_sec) const;
    void commit_long(uint32_t id, uint32_t sender_time, int64_t now_sec);

    uint32_t highest() const { return high_; }
    void reset();

private:
    static constexpr unsigned kMaxBacktrack = 1024;
    unsigned backtrack_;
    uint32_t time_sec_;
    uint32_t high_ = 0;          // highest id accepted (0: none yet)
    uint32_t sender_time_ = 0;   // long form only
    bool have_sender_time_ = false;
    // seen_at_[i]: when id (high_ - i) was accepted, 0 = not seen.
    std::array<int64_t, kMaxBacktrack> seen_at_{};
    size_t head_ = 0;            // ring index of high_
    int64_t& slot(uint32_t back) { return seen_at_[(head_ + kMaxBacktrack - back) % kMaxBacktrack]; }
    const int64_t& slot(uint32_t back) const { return seen_at_[(head_ + kMaxBacktrack - back) % kMaxBacktrack]; }
};

// The receive window of one key shared by several data path workers. Parallel workers make ids
// arrive out of order (the peer's workers interleave, and ours open packets of one key at the
// same time); the window itself (64 ids, 15 s, as --replay-window 64 15) already tolerates that,
// what must not happen is two workers accepting the same id. So the id is recorded under a short
// lock, after authentication, once per batch (locked() runs a whole batch's commits) or once per
// packet (accept()); check() is only the cheap refusal before decrypting and is decided again
// under the lock. The lock is a mutex: uncontended it is one atomic exchange each way.
class SharedReplayWindow {
public:
    explicit SharedReplayWindow(unsigned backtrack = kReplayBacktrack, uint32_t time_sec = kReplayTimeSec)
        : window_(backtrack, time_sec) {}
    SharedReplayWindow(const SharedReplayWindow&) = delete;
    SharedReplayWindow& operator=(const SharedReplayWindow&) = delete;

    Drop check(uint32_t id, int64_t now_sec) {
        std::lock_guard<std::mutex> g(mutex_);
        return window_.check(id, now_sec);
    }
    // Check and record in one step: exactly one caller wins a given id.
    Drop accept(uint32_t id, int64_t now_sec) {
        std::lock_guard<std::mutex> g(mutex_);
        return window_.accept(id, now_sec);
    }
    // Runs f(ReplayWindow&) under the lock: a batch of accept() calls for one lock.
    template <class F>
    void locked(F&& f) {
        std::lock_guard<std::mutex> g(mutex_);
        f(window_);
    }
    uint32_t highest() {
        std::lock_guard<std::mutex> g(mutex_);
        return window_.highest();
    }

private:
    std::mutex mutex_;
    ReplayWindow window_;
};

}  // namespace wirebridge::proto
