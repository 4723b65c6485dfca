// HubDirectory / PeerFollower: per-client keys and counters published by the hub's main thread to its workers.
#include "datapath/hub_peers.hpp"

namespace wirebridge::datapath {

HubPeer::HubPeer(std::uint32_t id, const io::SocketAddress& address, unsigned n)
    : peer_id(id), addr(address), workers(n), traffic(new TrafficSlot[n == 0 ? 1 : n]) {}

WorkerTraffic HubPeer::traffic_sum() const {
    WorkerTraffic t;
    for (unsigned k = 0; k < workers; ++k) t.add(traffic[k].load());
    return t;
}

HubDirectory::HubDirectory(unsigned workers) : workers_(workers), table_(std::make_shared<const Table>()) {}

std::shared_ptr<HubPeer> HubDirectory::add(std::uint32_t peer_id, const io::SocketAddress& addr) {
    if (draft_.size() <= peer_id) draft_.resize(std::size_t{peer_id} + 1);
    draft_[peer_id] = std::make_shared<HubPeer>(peer_id, addr, workers_);
    publish();
    return draft_[peer_id];
}

std::shared_ptr<HubPeer> HubDirectory::find(std::uint32_t peer_id) const {
    return peer_id < draft_.size() ? draft_[peer_id] : nullptr;
}

void HubDirectory::remove(std::uint32_t peer_id) {
    if (peer_id >= draft_.size() || !draft_[peer_id]) return;
    draft_[peer_id].reset();
    while (!draft_.empty() && !draft_.back()) draft_.pop_back();
    publish();
}

void HubDirectory::publish() {
    auto next = std::make_shared<const Table>(draft_);
    {
        std::lock_guard<std::mutex> g(mutex_);
        next.swap(table_);
    }
    // The table goes in before the epoch: a worker that sees the new epoch loads at least this table.
    epoch_.store(epoch_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

void PeerFollower::refresh() {
    const std::uint64_t e = dir_.epoch();
    if (e == seen_) return;
    const std::shared_ptr<const HubDirectory::Table> table = dir_.current();
    const std::size_t n = std::max(table->size(), peers_.size());
    if (peers_.size() < n) peers_.resize(n);  // grows with the highest peer-id seen (a control-plane event)
    for (std::size_t id = 0; id < n; ++id) {
        const std::shared_ptr<HubPeer> want = id < table->size() ? (*table)[id] : nullptr;
        std::unique_ptr<WorkerPeer>& have = peers_[id];
        if (have && have->shared != want) {
            have->follower.drop(have->dc);
            have.reset();
        }
        if (!have && want) have = std::make_unique<WorkerPeer>(want);
        if (have) have->follower.refresh(have->dc);
    }
    seen_ = e;
}

void PeerFollower::drop() {
    for (auto& p : peers_) {
        if (!p) continue;
        p->follower.drop(p->dc);
        p.reset();
    }
    peers_.clear();
    seen_ = 0;
}

bool PeerFollower::knows(const io::SocketAddress& addr) const {
    for (const auto& p : peers_)
        if (p && p->shared->addr == addr) return true;
    return false;
}

std::size_t PeerFollower::size() const {
    std::size_t n = 0;
    for (const auto& p : peers_) n += p ? 1 : 0;
    return n;
}

}  // namespace wirebridge::datapath
