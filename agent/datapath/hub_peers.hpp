// HubDirectory: the hub's clients as its data path workers see them (address, keys, traffic slots).
//
// The main thread keeps the sessions; for each client whose keys are ready it adds a HubPeer here:
// its transport address, its keys (a WorkerKeys of its own: immutable key sets, epoch per set) and
// one traffic slot per worker. Every change (a client added or removed, a key published for any
// client) builds a new immutable table and bumps the directory's epoch; a worker compares that
// epoch (one atomic load) at the start of each batch, and only when it changed walks the table:
// it makes its own DataChannel for new clients, drops those of clients gone, and lets each
// client's KeyFollower pick up new keys. A HubPeer (and the keys in it) lives until the main
// thread and every worker let go of it; then SecureBytes wipes the keys.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "datapath/worker_traffic.hpp"
#include "datapath/data_worker_keys.hpp"
#include "datapath/data_channel.hpp"
#include "io/socket_address.hpp"

namespace wirebridge::datapath {

struct HubPeer {
    HubPeer(std::uint32_t id, const io::SocketAddress& address, unsigned workers);
    const std::uint32_t peer_id;
    const io::SocketAddress addr;
    WorkerKeys keys;  // published by the main thread
    const unsigned workers;
    std::unique_ptr<TrafficSlot[]> traffic;  // [worker]
    WorkerTraffic traffic_sum() const;
};

class HubDirectory {
public:
    // Indexed by peer-id (small numbers: the dispatcher hands out the lowest free one).
    using Table = std::vector<std::shared_ptr<HubPeer>>;

    explicit HubDirectory(unsigned workers);
    unsigned workers() const { return workers_; }

    // Main thread only. add() replaces a client of the same peer-id (a new HubPeer: fresh keys
    // and counts); publish() after changing a peer's keys tells the workers.
    std::shared_ptr<HubPeer> add(std::uint32_t peer_id, const io::SocketAddress& addr);
    std::shared_ptr<HubPeer> find(std::uint32_t peer_id) const;
    void remove(std::uint32_t peer_id);
    void publish();

    // Any thread.
    std::uint64_t epoch() const { return epoch_.load(std::memory_order_acquire); }
    std::shared_ptr<const Table> current() const {
        std::lock_guard<std::mutex> g(mutex_);
        return table_;
    }

private:
    const unsigned workers_;
    Table draft_;  // main thread's working copy
    mutable std::mutex mutex_;
    std::shared_ptr<const Table> table_;
    std::atomic<std::uint64_t> epoch_{0};
};

// A worker's own state for one client: its DataChannel (contexts are per thread) kept in step
// with the client's published keys.
struct WorkerPeer {
    explicit WorkerPeer(std::shared_ptr<HubPeer> p) : shared(std::move(p)), follower(shared->keys) {}
    std::shared_ptr<HubPeer> shared;  // declared first: follower refers to shared->keys
    datapath::DataChannel dc;
    KeyFollower follower;
    std::uint32_t pending_sends = 0;  // frames for it in the current batch (its id block)
    std::uint64_t stamp = 0;          // the last batch that touched it (counters to publish)
};

// The worker's side of the directory: WorkerPeers by peer-id, refreshed when the epoch moved.
class PeerFollower {
public:
    explicit PeerFollower(const HubDirectory& dir) : dir_(dir) {}
    ~PeerFollower() { drop(); }
    PeerFollower(const PeerFollower&) = delete;
    PeerFollower& operator=(const PeerFollower&) = delete;
    // Cheap when nothing changed (one atomic load).
    void refresh();
    WorkerPeer* find(std::uint32_t peer_id) {
        return peer_id < peers_.size() ? peers_[peer_id].get() : nullptr;
    }
    // Is `addr` an established client's address? A walk over the clients: only for what the worker
    // mails (rare but for floods; a hub has tens of clients, not thousands).
    bool knows(const io::SocketAddress& addr) const;
    // Lets go of every client (contexts freed, keys wiped once nobody else holds them).
    void drop();
    std::size_t size() const;

private:
    const HubDirectory& dir_;
    std::uint64_t seen_ = 0;
    std::vector<std::unique_ptr<WorkerPeer>> peers_;
};

}  // namespace wirebridge::datapath
