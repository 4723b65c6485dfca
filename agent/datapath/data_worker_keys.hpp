// WorkerKeys: the session thread publishes the data keys to the data path workers (no lock per packet).
//
// The session (main thread) is the only writer: install/set_primary/retire/clear build a new
// immutable KeySet and swap it in, then bump the epoch. A worker checks the epoch (one atomic
// load) at the start of each batch; only when it changed does it take the set (under a mutex held
// for a pointer copy: a rekey, not a packet, pays for it; libstdc++ 12's atomic<shared_ptr> would
// do the same with its own spin lock, which ThreadSanitizer cannot see)
// (KeyFollower::refresh) and build AEAD contexts for the keys it has not seen (contexts are per
// worker: they are not thread-safe). A set, and the key material in it, lives as long as a worker
// or the publisher still holds it (shared_ptr), so nothing is freed under a worker's feet; when
// the last holder lets go, SecureBytes wipes the keys. Workers let go of an old set at their next
// refresh (the runner wakes them on every publish, so that is at once even when idle).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "datapath/data_channel.hpp"
#include "proto/constants.hpp"
#include "proto/replay_window.hpp"
#include "session/data_keys.hpp"

namespace wirebridge::datapath {

// One key_id's keys as published: the material, the send counter (DataKeys::send_packet_id) and the
// receive window every worker shares. serial tells a follower it is a new key (same key_id after a
// rekey wrapped around the 8 key ids is a different key).
struct PublishedKey {
    std::uint64_t serial = 0;
    session::DataKeys keys;
    std::shared_ptr<proto::SharedReplayWindow> replay;
};

struct KeySet {
    std::array<std::shared_ptr<const PublishedKey>, proto::kKeyIdCount> slots;
    int primary = -1;
    std::uint64_t epoch = 0;
};

class WorkerKeys {
public:
    WorkerKeys();
    // Main thread only.
    std::shared_ptr<const PublishedKey> install(session::DataKeys keys);
    void set_primary(std::uint8_t key_id);
    void retire(std::uint8_t key_id);
    void clear();

    // Any thread.
    std::uint64_t epoch() const { return epoch_.load(std::memory_order_acquire); }
    std::shared_ptr<const KeySet> current() const {
        std::lock_guard<std::mutex> g(mutex_);
        return set_;
    }

private:
    void publish();

    KeySet draft_;  // main thread's working copy
    std::uint64_t next_serial_ = 1;
    mutable std::mutex mutex_;
    std::shared_ptr<const KeySet> set_;
    std::atomic<std::uint64_t> epoch_{0};
};

// A worker's view: keeps its own DataChannel in step with the published set.
class KeyFollower {
public:
    explicit KeyFollower(const WorkerKeys& keys) : keys_(keys) {}
    // Cheap when nothing changed (one atomic load). Returns false if a key could not be installed
    // (its slot stays empty: packets of that key are dropped as no_key).
    bool refresh(datapath::DataChannel& dc);
    // Lets go of the held set (a stopping worker).
    void drop(datapath::DataChannel& dc);
    std::uint64_t seen_epoch() const { return seen_; }

private:
    const WorkerKeys& keys_;
    std::shared_ptr<const KeySet> held_;
    std::uint64_t seen_ = 0;
    std::array<std::uint64_t, proto::kKeyIdCount> serials_{};
};

}  // namespace wirebridge::datapath
