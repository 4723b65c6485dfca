// L2Switch: learning and the flood/forward decision for each frame.
#include "datapath/l2_switch.hpp"

#include <cstdio>

#include <algorithm>

namespace wirebridge::datapath {

L2Switch::L2Switch(bool client_to_client, std::size_t max_macs, std::int64_t age_sec)
    : c2c_(client_to_client), max_macs_(max_macs), age_sec_(age_sec) {
    table_.reserve(max_macs);
    out_.reserve(64);
}

void L2Switch::add_port(Port p) {
    if (p != kTapPort && std::find(clients_.begin(), clients_.end(), p) == clients_.end()) {
        clients_.push_back(p);
        if (out_.capacity() < clients_.size() + 1) out_.reserve(clients_.size() * 2 + 1);
    }
}

void L2Switch::remove_port(Port p) {
    clients_.erase(std::remove(clients_.begin(), clients_.end(), p), clients_.end());
    for (auto it = table_.begin(); it != table_.end();) {
        if (it->second.port == p) it = table_.erase(it);
        else ++it;
    }
}

std::uint64_t L2Switch::key(const std::uint8_t* mac) {
    std::uint64_t k = 0;
    for (int i = 0; i < 6; ++i) k = (k << 8) | mac[i];
    return k;
}

void L2Switch::learn(const std::uint8_t* mac, Port p, std::int64_t now_sec) {
    if (mac[0] & 1) return;  // a group address is never a source
    auto it = table_.find(key(mac));
    if (it != table_.end()) {
        it->second = Entry{p, now_sec};
        return;
    }
    if (table_.size() >= max_macs_) {
        // Full: evict expired entries; if none, stop learning (frames then flood, still correct).
        for (auto e = table_.begin(); e != table_.end();) {
            if (now_sec - e->second.seen > age_sec_) e = table_.erase(e);
            else ++e;
        }
        if (table_.size() >= max_macs_) return;
    }
    table_.emplace(key(mac), Entry{p, now_sec});
}

bool L2Switch::lookup(const std::uint8_t mac[6], Port& out, std::int64_t now_sec) const {
    auto it = table_.find(key(mac));
    if (it == table_.end() || now_sec - it->second.seen > age_sec_) return false;
    out = it->second.port;
    return true;
}

std::span<const Port> L2Switch::forward(Port in, std::span<const std::uint8_t> frame, std::int64_t now_sec) {
    out_.clear();
    if (frame.size() < 14) return {};
    const std::uint8_t* dst = frame.data();
    learn(frame.data() + 6, in, now_sec);
    const bool group = dst[0] & 1;  // broadcast and multicast
    Port known = 0;
    const bool is_known = !group && lookup(dst, known, now_sec);
    if (in != kTapPort && !c2c_) {
        out_.push_back(kTapPort);
        return out_;
    }
    if (is_known) {
        if (known != in) out_.push_back(known);
        return out_;
    }
    if (in != kTapPort) out_.push_back(kTapPort);
    for (Port c : clients_)
        if (c != in) out_.push_back(c);
    return out_;
}

std::vector<std::string> L2Switch::macs_on(Port p) const {
    std::vector<std::string> out;
    for (const auto& [k, e] : table_) {
        if (e.port != p) continue;
        char text[18];
        std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x",
                      static_cast<unsigned>((k >> 40) & 0xff), static_cast<unsigned>((k >> 32) & 0xff),
                      static_cast<unsigned>((k >> 24) & 0xff), static_cast<unsigned>((k >> 16) & 0xff),
                      static_cast<unsigned>((k >> 8) & 0xff), static_cast<unsigned>(k & 0xff));
        out.emplace_back(text);
    }
    return out;
}

}  // namespace wirebridge::datapath
