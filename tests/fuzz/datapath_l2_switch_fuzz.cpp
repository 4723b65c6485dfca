// Fuzz target: the hub's virtual switch (L2Switch) driven by a program: frames from the TAP or
// one of 6 client ports (MACs from a small set, so learning, moves, takeovers and the sticky TAP
// entries collide; tags, runts, group sources), ports added, removed and reconfigured, settings
// changed (tagging on/off, limits), time passing, expiry. Checked after every frame: no frame goes
// back out of its ingress port or to a port that is not one, no port twice, a drop delivers
// nothing, the frames handed out lie inside the buffer, and the ports' MAC counts add up.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <vector>

#include "datapath/l2_switch.hpp"

using namespace wirebridge::datapath;

namespace {

struct Input {
    const uint8_t* p;
    size_t n;
    uint8_t u8() {
        if (n == 0) return 0;
        --n;
        return *p++;
    }
    uint16_t u16() { return static_cast<uint16_t>(u8() << 8 | u8()); }
};

void mac(uint8_t* out, uint8_t pick) {
    // 0-15: unicast stations; 16-19: multicast; 20: broadcast; others: anything.
    static const uint8_t base[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x00};
    std::memcpy(out, base, 6);
    if (pick < 16) {
        out[5] = pick;
    } else if (pick < 20) {
        out[0] = 0x01;
        out[5] = pick;
    } else if (pick == 20) {
        std::memset(out, 0xff, 6);
    } else {
        out[0] = static_cast<uint8_t>(pick & 0xfe);
        out[4] = pick;
    }
}

Port port_of(uint8_t b) { return (b % 7) == 6 ? kTapPort : static_cast<Port>(b % 7); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Input in{data, size};
    SwitchSettings s;
    s.client_to_client = in.u8() & 1;
    s.max_macs_per_client = 4;
    s.multicast_limit = 20;
    s.mac_age_s = 30;
    L2Switch sw(s);
    std::set<Port> ports;
    for (Port p = 0; p < 3; ++p) {
        sw.add_port(p);
        ports.insert(p);
    }
    int64_t now = 1000;
    std::vector<uint8_t> buf(2048);
    for (int steps = 0; in.n > 0 && steps < 512; ++steps) {
        const uint8_t op = in.u8();
        switch (op & 7) {
        case 0: {  // settings change
            const uint8_t f = in.u8();
            s.client_to_client = f & 1;
            s.vlan_tagging = f & 2;
            s.allow_tagged_frames = f & 4;
            s.mac_age_s = (f & 8) ? 0 : 30;
            s.max_macs_per_client = 1 + (f >> 5);  // unbounded sizes the table for 64K MACs: too slow here
            s.multicast_limit = in.u8() % 8;
            s.mac_move_limit = in.u8() % 4;
            s.vlan_pvid = static_cast<uint16_t>(1 + in.u8() % 4);
            sw.apply(s);
            break;
        }
        case 1: {  // a port comes or goes, or changes VLAN / bound / MAC allowlist
            const Port p = in.u8() % 6;
            const uint8_t how = in.u8();
            PortSettings ps;
            if (how & 4) ps.vlan = static_cast<uint16_t>(1 + (how >> 4) % 4);
            if (how & 8) ps.max_macs = 1 + (how >> 6);
            if ((how & 3) == 3) ps.allowed_macs = std::vector<Mac>{{0x02, 0, 0, 0, 0, in.u8()}};  // tunnel.clients macs
            if ((how & 3) == 0) {
                sw.remove_port(p);
                ports.erase(p);
            } else if (ports.count(p)) {
                sw.set_port(p, ps);
            } else {
                sw.add_port(p, ps);
                ports.insert(p);
            }
            break;
        }
        case 2:
            now += in.u16();
            if (op & 0xf0) break;  // a scan of the whole table: not at every step
            sw.expire(now);
            for (Port p : ports) (void)sw.macs_on(p, now);
            break;
        default: {  // a frame
            const Port from = port_of(in.u8());
            const size_t headroom = 4 + (op >> 7) * 4;
            uint8_t* f = buf.data() + headroom;
            size_t len = 14;
            mac(f, in.u8());      // destination
            mac(f + 6, in.u8());  // source
            const uint8_t t = in.u8();
            if (t & 1) {  // 802.1Q or 802.1ad tag
                f[12] = (t & 2) ? 0x88 : 0x81;
                f[13] = (t & 2) ? 0xa8 : 0x00;
                f[14] = static_cast<uint8_t>((t >> 6) & 0x0f);
                f[15] = static_cast<uint8_t>(1 + (t >> 2) % 4);
                f[16] = 0x08;
                f[17] = 0x00;
                len = 18;
            } else {
                f[12] = 0x08;
                f[13] = 0x00;
            }
            len += in.u8() % 64;
            if (t & 0x80) len = in.u8() % 20;  // runts too
            std::memset(f + std::min<size_t>(len, 18), 0xab, len > 18 ? len - 18 : 0);
            now += op >> 5;
            auto d = sw.forward(from, std::span<uint8_t>(f, len), headroom, now);
            std::set<Port> seen;
            for (Port p : d.clients) {
                if (p == from || p == kTapPort || !ports.count(p) || !seen.insert(p).second) std::abort();
            }
            if (d.drop != SwitchDrop::none && (!d.clients.empty() || d.to_tap)) std::abort();
            if (d.to_tap && from == kTapPort) std::abort();
            if (!d.clients.empty()) {
                if (d.client_frame.data() < buf.data() || d.client_frame.data() + d.client_frame.size() > buf.data() + buf.size())
                    std::abort();
            }
            if (d.to_tap) {
                auto tf = sw.tap_frame();
                if (!tf.empty() && (tf.data() < buf.data() || tf.data() + tf.size() > buf.data() + buf.size())) std::abort();
            }
            break;
        }
        }
        size_t total = 0;
        for (Port p : ports) {
            total += sw.mac_count(p);
        }
        if (total > sw.mac_count()) std::abort();
    }
    return 0;
}
