// L2Switch: learning, ageing, bounds, VLAN membership and the flood/forward decision for each frame.
#include "datapath/l2_switch.hpp"

#include <cstdio>
#include <cstring>

#include <algorithm>
#include <random>

namespace wirebridge::datapath {

namespace {

constexpr std::uint64_t kUsed = std::uint64_t{1} << 63;
constexpr std::uint64_t kMacMask = (std::uint64_t{1} << 48) - 1;
constexpr std::uint16_t kTpid8021Q = 0x8100;
constexpr std::uint16_t kTpid8021ad = 0x88a8;
constexpr std::size_t kMacsLen = 12;  // destination + source
constexpr std::size_t kEthHeader = 14;
constexpr std::size_t kTagLen = 4;
// Room for the MACs the TAP side teaches us, and for a client without a bound, when sizing the table.
constexpr std::size_t kTapAllowance = 4096;
constexpr std::size_t kUnboundedAllowance = 4096;
// The table never grows past this many entries (then new MACs are not learned and frames flood).
constexpr std::size_t kMaxEntries = std::size_t{1} << 18;
constexpr std::size_t kMinSlots = 1024;

std::uint16_t load16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

// Randomly keyed so that a client cannot choose MACs that all collide in one probe run.
std::uint64_t hash_seed() {
    static const std::uint64_t seed = [] {
        std::random_device rd;
        return (std::uint64_t{rd()} << 32) ^ rd();
    }();
    return seed;
}

std::uint64_t mix(std::uint64_t k) {
    k ^= hash_seed();
    k ^= k >> 30;
    k *= 0xbf58476d1ce4e5b9ULL;
    k ^= k >> 27;
    k *= 0x94d049bb133111ebULL;
    k ^= k >> 31;
    return k;
}

}  // namespace

const char* switch_drop_name(SwitchDrop d) {
    switch (d) {
        case SwitchDrop::none: return "none";
        case SwitchDrop::runt: return "runt";
        case SwitchDrop::unknown_port: return "unknown_port";
        case SwitchDrop::group_source: return "group_source";
        case SwitchDrop::mac_limit: return "mac_limit";
        case SwitchDrop::multicast_limit: return "multicast_limit";
        case SwitchDrop::client_to_client_off: return "client_to_client_off";
        case SwitchDrop::vlan_untagged: return "vlan_untagged";
        case SwitchDrop::vlan_mismatch: return "vlan_mismatch";
        case SwitchDrop::vlan_tagged_client: return "vlan_tagged_client";
        case SwitchDrop::tap_write: return "tap_write";
        case SwitchDrop::mac_sticky: return "mac_sticky";
        case SwitchDrop::mac_move_limit: return "mac_move_limit";
        case SwitchDrop::tagged_client: return "tagged_client";
        case SwitchDrop::mac_not_allowed: return "mac_not_allowed";
        case SwitchDrop::count_: break;
    }
    return "unknown";
}

L2Switch::L2Switch(const SwitchSettings& s) : s_(s) {
    slots_.resize(kMinSlots);
    out_.reserve(16);
    ensure_capacity();
}

std::uint64_t L2Switch::make_key(const std::uint8_t* mac, std::uint16_t vlan) {
    std::uint64_t k = 0;
    for (int i = 0; i < 6; ++i) k = (k << 8) | mac[i];
    return kUsed | (std::uint64_t{vlan} << 48) | k;
}

L2Switch::PortState* L2Switch::port_state(Port p) {
    if (p >= ports_.size() || !ports_[p].present) return nullptr;
    return &ports_[p];
}

const L2Switch::PortState* L2Switch::port_state(Port p) const {
    if (p >= ports_.size() || !ports_[p].present) return nullptr;
    return &ports_[p];
}

void L2Switch::resolve(PortState& ps) const {
    ps.vlan = s_.vlan_tagging ? ps.cfg.vlan.value_or(s_.vlan_pvid) : 0;
    ps.max_macs = ps.cfg.max_macs.value_or(s_.max_macs_per_client);
}

bool L2Switch::expired(const Slot& s, std::int64_t now_ms) const {
    return s_.mac_age_s != 0 && now_ms - s.seen_ms > std::int64_t{s_.mac_age_s} * 1000;
}

std::size_t L2Switch::find(std::uint64_t key) const {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = mix(key) & mask;; i = (i + 1) & mask) {
        if (slots_[i].key == key) return i;
        if (slots_[i].key == 0) return slots_.size();
    }
}

// Backward-shift deletion: no tombstones, so probe runs stay as short as the load allows.
void L2Switch::erase_at(std::size_t hole) {
    const std::size_t mask = slots_.size() - 1;
    slots_[hole].key = 0;
    --used_;
    for (std::size_t j = (hole + 1) & mask; slots_[j].key != 0; j = (j + 1) & mask) {
        const std::size_t home = mix(slots_[j].key) & mask;
        // The entry stays if its home lies cyclically in (hole, j].
        const bool stays = hole < j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (stays) continue;
        slots_[hole] = slots_[j];
        slots_[j].key = 0;
        hole = j;
    }
}

void L2Switch::ensure_capacity() {
    std::size_t want = kTapAllowance;
    for (Port c : clients_) {
        const PortState& ps = ports_[c];
        want += ps.max_macs ? ps.max_macs : kUnboundedAllowance;
    }
    want = std::min(want, kMaxEntries);
    std::size_t slots = kMinSlots;
    while (slots < 2 * want) slots *= 2;
    if (slots <= slots_.size()) return;
    std::vector<Slot> old(slots, Slot{});
    old.swap(slots_);
    used_ = 0;
    const std::size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
        if (s.key == 0) continue;
        std::size_t i = mix(s.key) & mask;
        while (slots_[i].key != 0) i = (i + 1) & mask;
        slots_[i] = s;
        ++used_;
    }
}

void L2Switch::apply(const SwitchSettings& s) {
    const SwitchSettings old = s_;
    s_ = s;
    if (old.vlan_tagging != s.vlan_tagging) {
        // Every key (the TAP's too) changes its VLAN part: start the table afresh.
        for (Slot& sl : slots_) sl.key = 0;
        used_ = 0;
        for (Port c : clients_) ports_[c].macs = 0;
    }
    for (Port c : clients_) {
        PortState& ps = ports_[c];
        const std::uint16_t vlan = ps.vlan;
        resolve(ps);
        if (ps.vlan != vlan) forget_port(c);
        if (old.multicast_limit != s.multicast_limit) {
            ps.tokens = std::int64_t{s.multicast_limit} * 1000;
            ps.refilled_ms = 0;
        }
    }
    ensure_capacity();
}

void L2Switch::add_port(Port p, const PortSettings& cfg) {
    if (p == kTapPort) return;
    if (p >= ports_.size()) ports_.resize(std::size_t{p} + 1);
    PortState& ps = ports_[p];
    if (ps.present) return set_port(p, cfg);
    ps = PortState{};
    ps.present = true;
    ps.cfg = cfg;
    resolve(ps);
    ps.tokens = std::int64_t{s_.multicast_limit} * 1000;
    clients_.push_back(p);
    // A flood reaches at most every client and the TAP: keep forward() from ever allocating.
    if (out_.capacity() < clients_.size() + 1) out_.reserve(clients_.size() * 2 + 1);
    ensure_capacity();
}

void L2Switch::set_port(Port p, const PortSettings& cfg) {
    PortState* ps = port_state(p);
    if (!ps) return add_port(p, cfg);
    const std::uint16_t vlan = ps->vlan;
    const bool allowlist_changed = ps->cfg.allowed_macs != cfg.allowed_macs;
    ps->cfg = cfg;
    resolve(*ps);
    if (ps->vlan != vlan || allowlist_changed) forget_port(p);
    ensure_capacity();
}

void L2Switch::remove_port(Port p) {
    PortState* ps = port_state(p);
    if (!ps) return;
    forget_port(p);
    *ps = PortState{};
    clients_.erase(std::remove(clients_.begin(), clients_.end(), p), clients_.end());
}

void L2Switch::forget_port(Port p) {
    for (std::size_t i = 0; i < slots_.size();) {
        // erase_at() may shift a later entry into i: look at i again before moving on.
        if (slots_[i].key != 0 && slots_[i].port == p) erase_at(i);
        else ++i;
    }
    if (PortState* ps = port_state(p)) ps->macs = 0;
}

void L2Switch::expire(std::int64_t now_ms) {
    if (s_.mac_age_s == 0) return;
    for (std::size_t i = 0; i < slots_.size();) {
        if (slots_[i].key != 0 && expired(slots_[i], now_ms)) {
            if (PortState* ps = port_state(slots_[i].port); ps && ps->macs) --ps->macs;
            erase_at(i);
        } else {
            ++i;
        }
    }
}

// Why a client's frame may not teach its source: at its bound (new MAC), a MAC live on the TAP
// side, or moves over budget. The TAP side (ps null) always learns.
SwitchDrop L2Switch::learn(const std::uint8_t* mac, std::uint16_t vlan, Port in, PortState* ps, std::int64_t now_ms) {
    const std::uint64_t key = make_key(mac, vlan);
    const bool at_bound = ps && ps->max_macs && ps->macs >= ps->max_macs;
    const std::size_t i = find(key);
    if (i != slots_.size()) {
        Slot& sl = slots_[i];
        if (sl.port == in) {
            sl.seen_ms = now_ms;
            return SwitchDrop::none;
        }
        const bool live = !expired(sl, now_ms);
        // The hub's own LAN (its gateway, its servers) is not a client's to claim while it talks.
        if (in != kTapPort && sl.port == kTapPort && live) return SwitchDrop::mac_sticky;
        // The station moved (or its old entry has not been swept yet): relearn it here.
        if (at_bound) return SwitchDrop::mac_limit;
        if (in != kTapPort && live && sl.port != kTapPort) {
            if (ps && !move_allowed(*ps, now_ms)) return SwitchDrop::mac_move_limit;
            ++moves_;
        }
        if (PortState* old = port_state(sl.port); old && old->macs) --old->macs;
        sl.port = in;
        sl.seen_ms = now_ms;
        if (ps) ++ps->macs;
        return SwitchDrop::none;
    }
    if (at_bound) return SwitchDrop::mac_limit;
    if (used_ >= slots_.size() / 2) return SwitchDrop::none;  // table full: not learned; frames to it flood
    const std::size_t mask = slots_.size() - 1;
    std::size_t j = mix(key) & mask;
    while (slots_[j].key != 0) j = (j + 1) & mask;
    slots_[j] = Slot{key, in, now_ms};
    ++used_;
    if (ps) ++ps->macs;
    return SwitchDrop::none;
}

// Token bucket: mac_move_limit moves per second, bursts of up to one second's worth.
bool L2Switch::move_allowed(PortState& ps, std::int64_t now_ms) {
    if (s_.mac_move_limit == 0) return true;
    const std::int64_t cap = std::int64_t{s_.mac_move_limit} * 1000;
    if (ps.move_refilled_ms == 0) ps.move_tokens = cap;
    else if (now_ms > ps.move_refilled_ms)
        ps.move_tokens = std::min(cap, ps.move_tokens + (now_ms - ps.move_refilled_ms) * std::int64_t{s_.mac_move_limit});
    ps.move_refilled_ms = std::max(ps.move_refilled_ms, now_ms);
    if (ps.move_tokens < 1000) return false;
    ps.move_tokens -= 1000;
    return true;
}

// Token bucket: multicast_limit frames per second, bursts of up to one second's worth.
bool L2Switch::multicast_allowed(PortState& ps, std::int64_t now_ms) {
    const std::int64_t cap = std::int64_t{s_.multicast_limit} * 1000;
    const std::int64_t elapsed = now_ms - ps.refilled_ms;
    if (elapsed >= 1000 || ps.refilled_ms == 0) ps.tokens = cap;
    else if (elapsed > 0) ps.tokens = std::min(cap, ps.tokens + elapsed * std::int64_t{s_.multicast_limit});
    if (elapsed > 0 || ps.refilled_ms == 0) ps.refilled_ms = now_ms;
    if (ps.tokens < 1000) return false;
    ps.tokens -= 1000;
    return true;
}

void L2Switch::count_drop(Port in, SwitchDrop d, std::uint64_t n) {
    if (d == SwitchDrop::none || d >= SwitchDrop::count_) return;
    drops_[static_cast<std::size_t>(d)] += n;
    if (PortState* ps = port_state(in)) ps->drops[static_cast<std::size_t>(d)] += n;
}

L2Switch::Decision L2Switch::dropped(SwitchDrop d, PortState* ps) {
    ++drops_[static_cast<std::size_t>(d)];
    if (ps) ++ps->drops[static_cast<std::size_t>(d)];
    Decision out;
    out.drop = d;
    return out;
}

void L2Switch::flood(Port in, std::uint16_t vlan) {
    for (Port c : clients_)
        if (c != in && (!s_.vlan_tagging || ports_[c].vlan == vlan)) out_.push_back(c);
}

L2Switch::Decision L2Switch::forward(Port in, std::span<std::uint8_t> frame, std::size_t headroom, std::int64_t now_ms) {
    out_.clear();
    frame_ = nullptr;
    tap_vlan_ = 0;
    PortState* ps = in == kTapPort ? nullptr : port_state(in);
    if (frame.size() < kEthHeader) return dropped(SwitchDrop::runt, ps);
    if (in != kTapPort && !ps) return dropped(SwitchDrop::unknown_port, nullptr);
    if (frame[6] & 1) return dropped(SwitchDrop::group_source, ps);
    const bool tagging = s_.vlan_tagging;
    const std::uint16_t type = load16(frame.data() + kMacsLen);
    std::uint16_t vlan = 0;
    Decision d;

    if (in == kTapPort) {
        if (tagging) {
            // Priority-tagged (VID 0) frames carry no VLAN: as untagged, they belong to no client.
            if (type != kTpid8021Q) return dropped(SwitchDrop::vlan_untagged, nullptr);
            if (frame.size() < kEthHeader + kTagLen) return dropped(SwitchDrop::runt, nullptr);
            vlan = load16(frame.data() + kMacsLen + 2) & 0x0fff;
            if (vlan == 0) return dropped(SwitchDrop::vlan_untagged, nullptr);
            std::memmove(frame.data() + kTagLen, frame.data(), kMacsLen);
            frame = frame.subspan(kTagLen);
        }
        const std::uint8_t* dst = frame.data();
        learn(frame.data() + 6, vlan, kTapPort, nullptr, now_ms);
        Port known = 0;
        if (!(dst[0] & 1) && lookup(dst, vlan, known, now_ms)) {
            if (known != kTapPort) out_.push_back(known);
        } else {
            flood(kTapPort, vlan);
            if (tagging && out_.empty()) return dropped(SwitchDrop::vlan_mismatch, nullptr);
        }
        d.clients = out_;
        d.client_frame = frame;
        return d;
    }

    if (tagging) {
        if (type == kTpid8021Q || type == kTpid8021ad) return dropped(SwitchDrop::vlan_tagged_client, ps);
        vlan = ps->vlan;
    } else if ((type == kTpid8021Q || type == kTpid8021ad) && !s_.allow_tagged_frames) {
        // Passed on as it is, the tag would put the frame on that VLAN of a trunk behind the TAP.
        return dropped(SwitchDrop::tagged_client, ps);
    }
    if (const auto& allowed = ps->cfg.allowed_macs) {
        const std::uint8_t* src = frame.data() + 6;
        const bool listed = std::any_of(allowed->begin(), allowed->end(),
                                        [src](const Mac& m) { return std::memcmp(m.data(), src, m.size()) == 0; });
        if (!listed) return dropped(SwitchDrop::mac_not_allowed, ps);
    }
    const std::uint8_t* dst = frame.data();
    const bool group = dst[0] & 1;
    if (group && s_.multicast_limit && !multicast_allowed(*ps, now_ms)) return dropped(SwitchDrop::multicast_limit, ps);
    if (const SwitchDrop why = learn(frame.data() + 6, vlan, in, ps, now_ms); why != SwitchDrop::none) return dropped(why, ps);
    frame_ = frame.data();
    frame_len_ = frame.size();
    headroom_ = headroom;
    tap_vlan_ = vlan;
    d.tap_vlan = vlan;
    d.client_frame = frame;
    Port known = 0;
    if (!group && lookup(dst, vlan, known, now_ms)) {
        if (known == in) return d;  // filtered: the station is on the ingress side
        if (known == kTapPort) {
            d.to_tap = true;
            return d;
        }
        if (!s_.client_to_client) return dropped(SwitchDrop::client_to_client_off, ps);
        out_.push_back(known);
        d.clients = out_;
        return d;
    }
    // Unknown unicast floods like a broadcast when it reaches other clients: same budget.
    if (!group && s_.client_to_client && s_.multicast_limit && !multicast_allowed(*ps, now_ms))
        return dropped(SwitchDrop::multicast_limit, ps);
    d.to_tap = true;
    if (s_.client_to_client) flood(in, vlan);
    d.clients = out_;
    return d;
}

std::span<const std::uint8_t> L2Switch::tag_in_place(std::span<std::uint8_t> frame, std::size_t headroom,
                                                     std::uint16_t vlan) {
    if (vlan == 0) return frame;
    if (headroom < kTagLen || frame.size() < kMacsLen) return {};
    std::uint8_t* out = frame.data() - kTagLen;
    std::memmove(out, frame.data(), kMacsLen);
    out[kMacsLen] = kTpid8021Q >> 8;
    out[kMacsLen + 1] = kTpid8021Q & 0xff;
    out[kMacsLen + 2] = static_cast<std::uint8_t>(vlan >> 8);
    out[kMacsLen + 3] = static_cast<std::uint8_t>(vlan & 0xff);
    return {out, frame.size() + kTagLen};
}

std::span<const std::uint8_t> L2Switch::tap_frame() {
    if (!frame_) return {};
    if (tap_vlan_ == 0) return {frame_, frame_len_};
    std::uint8_t* out = nullptr;
    if (headroom_ >= kTagLen) {
        out = frame_ - kTagLen;
        std::memmove(out, frame_, kMacsLen);
    } else if (frame_len_ + kTagLen <= spare_.size()) {
        out = spare_.data();
        std::memcpy(out, frame_, kMacsLen);
        std::memcpy(out + kMacsLen + kTagLen, frame_ + kMacsLen, frame_len_ - kMacsLen);
    } else {
        return {};
    }
    out[kMacsLen] = kTpid8021Q >> 8;
    out[kMacsLen + 1] = kTpid8021Q & 0xff;
    out[kMacsLen + 2] = static_cast<std::uint8_t>(tap_vlan_ >> 8);
    out[kMacsLen + 3] = static_cast<std::uint8_t>(tap_vlan_ & 0xff);
    const std::span<const std::uint8_t> tagged(out, frame_len_ + kTagLen);
    frame_ = nullptr;  // in place: the untagged frame is gone; a second call must not tag it again
    return tagged;
}

bool L2Switch::lookup(const std::uint8_t mac[6], std::uint16_t vlan, Port& out, std::int64_t now_ms) const {
    const std::size_t i = find(make_key(mac, vlan));
    if (i == slots_.size() || expired(slots_[i], now_ms)) return false;
    out = slots_[i].port;
    return true;
}

std::size_t L2Switch::mac_count(Port p) const {
    const PortState* ps = port_state(p);
    return ps ? ps->macs : 0;
}

std::uint16_t L2Switch::port_vlan(Port p) const {
    const PortState* ps = port_state(p);
    return ps ? ps->vlan : 0;
}

const SwitchDrops* L2Switch::port_drops(Port p) const {
    const PortState* ps = port_state(p);
    return ps ? &ps->drops : nullptr;
}

std::vector<L2Switch::MacInfo> L2Switch::macs_on(Port p, std::int64_t now_ms) const {
    std::vector<MacInfo> out;
    for (const Slot& s : slots_) {
        if (s.key == 0 || s.port != p || expired(s, now_ms)) continue;
        const std::uint64_t k = s.key & kMacMask;
        char text[18];
        std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", static_cast<unsigned>((k >> 40) & 0xff),
                      static_cast<unsigned>((k >> 32) & 0xff), static_cast<unsigned>((k >> 24) & 0xff),
                      static_cast<unsigned>((k >> 16) & 0xff), static_cast<unsigned>((k >> 8) & 0xff),
                      static_cast<unsigned>(k & 0xff));
        out.push_back(MacInfo{text, static_cast<std::uint16_t>((s.key >> 48) & 0x0fff), (now_ms - s.seen_ms) / 1000});
    }
    std::sort(out.begin(), out.end(), [](const MacInfo& a, const MacInfo& b) { return a.mac < b.mac; });
    return out;
}

}  // namespace wirebridge::datapath
