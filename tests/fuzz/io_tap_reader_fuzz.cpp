// Fuzz target: TapReader (io_uring batches and plain read()) with GsoSplitter behind it, fed by
// the kernel. The input is a few packets, each a virtio-net header (GSO type, sizes, checksum
// offsets) and a frame, sent through an AF_PACKET socket with PACKET_VNET_HDR on a real TAP with
// offloads on, in a private network namespace: what the kernel accepts reaches the TAP as it would
// from the host's stack (super-frames included) and the readers must cut it into wire frames.
// Checked: no crash or sanitizer report, every frame at most kMaxWireFrame bytes, the readers
// drain (would_block, nothing pending) within a bounded number of calls.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "io/tap_device.hpp"
#include "io/tap_reader.hpp"

using namespace wirebridge::io;

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

// struct virtio_net_hdr (legacy, host byte order); <linux/virtio_net.h> does not compile as C++.
struct VnetHeader {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len, gso_size, csum_start, csum_offset;
};
static_assert(sizeof(VnetHeader) == kVnetHeaderSize);

struct Rig {
    std::optional<TapDevice> tap;
    std::optional<TapReader> batched, plain;
    int packet = -1;
};

Rig& rig() {
    static Rig r = [] {
        Rig g;
        if (unshare(CLONE_NEWNET) != 0) {
            std::perror("io_tap_reader_fuzz: unshare(CLONE_NEWNET) (needs root)");
            std::abort();
        }
        auto t = TapDevice::open("wbfuzzr0");
        if (!t || !t->enable_offload() || !t->set_up(true)) {
            std::fprintf(stderr, "io_tap_reader_fuzz: cannot open a TAP with offloads\n");
            std::abort();
        }
        g.tap.emplace(std::move(*t));
        g.batched.emplace(*g.tap, 0, TapReader::Mode::automatic);
        g.plain.emplace(*g.tap, 0, TapReader::Mode::syscalls);
        g.packet = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, 0);
        int on = 1;
        if (g.packet < 0 || setsockopt(g.packet, SOL_PACKET, PACKET_VNET_HDR, &on, sizeof on) != 0) {
            std::perror("io_tap_reader_fuzz: packet socket");
            std::abort();
        }
        sockaddr_ll ll{};
        ll.sll_family = AF_PACKET;
        ll.sll_protocol = 0;  // send only: protocol 0 receives nothing (the kernel reads it from the frame)
        ll.sll_ifindex = g.tap->ifindex();
        if (bind(g.packet, reinterpret_cast<sockaddr*>(&ll), sizeof ll) != 0) std::abort();
        return g;
    }();
    return r;
}

void drain(TapReader& reader) {
    std::vector<uint8_t> out(GsoSplitter::kMaxWireFrame);
    for (int calls = 0;; ++calls) {
        if (calls > 100000) std::abort();  // 64 KB super-frames of 1-byte segments stay far below
        auto r = reader.read_frame(out);
        if (!r) return;  // an error is an answer too (the TAP's queue is ours alone)
        if (r->would_block) {
            if (!reader.pending()) return;
            continue;
        }
        if (r->bytes > out.size()) std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Rig& g = rig();
    Input in{data, size};
    TapReader& reader = (in.u8() & 1) ? *g.plain : *g.batched;
    std::vector<uint8_t> pkt;
    for (int i = 0; i < 16 && in.n > 0; ++i) {
        VnetHeader h{};
        h.flags = in.u8() & 3;
        const uint8_t t = in.u8();
        h.gso_type = static_cast<uint8_t>((t & 0x80) | (t & 7));
        h.hdr_len = in.u16();
        h.gso_size = in.u16();
        h.csum_start = in.u16();
        h.csum_offset = in.u16();
        const size_t len = std::min<size_t>(in.u16() % 9000, in.n);
        pkt.assign(reinterpret_cast<uint8_t*>(&h), reinterpret_cast<uint8_t*>(&h) + sizeof h);
        pkt.insert(pkt.end(), in.p, in.p + len);
        in.p += len;
        in.n -= len;
        (void)send(g.packet, pkt.data(), pkt.size(), 0);  // the kernel may refuse it: fine
    }
    drain(reader);
    return 0;
}
