// WorkerKeys / KeyFollower: immutable key sets swapped atomically, contexts rebuilt per worker on change.
#include "datapath/data_worker_keys.hpp"

namespace wirebridge::datapath {

WorkerKeys::WorkerKeys() : set_(std::make_shared<const KeySet>()) {}

std::shared_ptr<const PublishedKey> WorkerKeys::install(session::DataKeys keys) {
    const std::uint8_t id = keys.key_id;
    if (id >= proto::kKeyIdCount) return nullptr;
    auto k = std::make_shared<PublishedKey>();
    k->serial = next_serial_++;
    k->keys = std::move(keys);
    k->replay = std::make_shared<proto::SharedReplayWindow>();
    draft_.slots[id] = k;
    publish();
    return k;
}

void WorkerKeys::set_primary(std::uint8_t key_id) {
    if (key_id >= proto::kKeyIdCount || !draft_.slots[key_id]) return;
    draft_.primary = key_id;
    publish();
}

void WorkerKeys::retire(std::uint8_t key_id) {
    if (key_id >= proto::kKeyIdCount) return;
    draft_.slots[key_id].reset();
    if (draft_.primary == key_id) draft_.primary = -1;
    publish();
}

void WorkerKeys::clear() {
    for (auto& s : draft_.slots) s.reset();
    draft_.primary = -1;
    publish();
}

void WorkerKeys::publish() {
    draft_.epoch = epoch_.load(std::memory_order_relaxed) + 1;
    // The set goes in before the epoch: a worker that sees the new epoch loads at least this set.
    auto next = std::make_shared<const KeySet>(draft_);
    {
        std::lock_guard<std::mutex> g(mutex_);
        next.swap(set_);
    }
    // `next` now holds the previous set: dropped here, outside the lock (its keys are wiped when
    // no worker holds it either).
    epoch_.store(draft_.epoch, std::memory_order_release);
}

bool KeyFollower::refresh(datapath::DataChannel& dc) {
    if (keys_.epoch() == seen_) return true;
    std::shared_ptr<const KeySet> set = keys_.current();
    bool ok = true;
    for (std::uint8_t id = 0; id < proto::kKeyIdCount; ++id) {
        const auto& k = set->slots[id];
        const std::uint64_t serial = k ? k->serial : 0;
        if (serial == serials_[id]) continue;
        dc.retire(id);
        serials_[id] = 0;
        if (!k) continue;
        if (!dc.install(k->keys, k->replay)) {
            ok = false;
            continue;
        }
        serials_[id] = serial;
    }
    // A retired primary left the DataChannel without one already (retire()).
    if (set->primary >= 0 && serials_[set->primary] != 0) dc.set_primary(static_cast<std::uint8_t>(set->primary));
    seen_ = set->epoch;
    held_ = std::move(set);  // the previous set (and keys only it held) goes now
    return ok;
}

void KeyFollower::drop(datapath::DataChannel& dc) {
    dc.clear();
    held_.reset();
    serials_.fill(0);
    seen_ = 0;
}

}  // namespace wirebridge::datapath
