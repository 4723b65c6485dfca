// Fuzz target: TapWriter's frame parser and GRO merging, fed with what a peer controls (the
// decrypted frames of a batch). Random bytes alone would never pass the TCP or UDP checksum check
// that guards merging, so most frames are built from the input as TCP segments or UDP datagrams of
// a few flows with correct checksums (unless the input asks for a bad or, UDP over IPv4, no one),
// in between raw frames as they come.
// The frames go to a real TAP device with offloads on, in a private network namespace.
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "io/tap_device.hpp"
#include "io/tap_writer.hpp"

using namespace wirebridge::io;

namespace {

// Reads the input front to back; past its end every read is 0.
struct Input {
    const std::uint8_t* p;
    std::size_t n;
    std::uint8_t u8() {
        if (n == 0) return 0;
        --n;
        return *p++;
    }
    std::uint16_t u16() { return static_cast<std::uint16_t>(u8() << 8 | u8()); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(u16()) << 16 | u16(); }
};

void put16(std::uint8_t* p, std::uint32_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
    put16(p, v >> 16);
    put16(p + 2, v);
}

// RFC 1071 sum, written here independently of the agent's.
std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t acc = 0) {
    for (std::size_t i = 0; i + 1 < n; i += 2) acc += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
    if (n & 1) acc += static_cast<std::uint32_t>(p[n - 1] << 8);
    return acc;
}
std::uint16_t fold(std::uint32_t acc) {
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<std::uint16_t>(~acc);
}

// A frame of flow `flow` (4 flows, IPv4 or IPv6, with or without an 802.1Q tag) whose L4 part
// (protocol proto) is l4_len bytes: Ethernet and IP headers filled in, the L4 part zero. `l4` is
// where the L4 part starts, `pseudo` its pseudo-header sum.
std::vector<std::uint8_t> frame_of(unsigned flow, bool v6, bool vlan, std::uint8_t proto, std::size_t l4_len,
                                   std::size_t& l4, std::uint32_t& pseudo) {
    const std::size_t l3 = vlan ? 18 : 14, iph = v6 ? 40 : 20;
    l4 = l3 + iph;
    std::vector<std::uint8_t> f(l4 + l4_len, 0);
    std::memcpy(f.data(), "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
    std::size_t t = 12;
    if (vlan) {
        put16(&f[t], 0x8100);
        put16(&f[t + 2], 5);
        t += 4;
    }
    put16(&f[t], v6 ? 0x86dd : 0x0800);
    std::uint8_t* ip = &f[l3];
    if (v6) {
        ip[0] = 0x60;
        put16(ip + 4, static_cast<std::uint32_t>(l4_len));
        ip[6] = proto;
        ip[7] = 64;
        ip[8 + 15] = static_cast<std::uint8_t>(1 + flow);
        ip[24 + 15] = 9;
        pseudo = sum16(ip + 8, 32) + static_cast<std::uint32_t>(l4_len) + proto;
    } else {
        ip[0] = 0x45;
        put16(ip + 2, static_cast<std::uint32_t>(iph + l4_len));
        put16(ip + 6, 0x4000);  // DF, as Linux TCP sends
        ip[8] = 64;
        ip[9] = proto;
        std::memcpy(ip + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x09", 8);
        ip[15] = static_cast<std::uint8_t>(1 + flow);
        put16(ip + 10, fold(sum16(ip, 20)));
        pseudo = sum16(ip + 12, 8) + static_cast<std::uint32_t>(l4_len) + proto;
    }
    return f;
}

// One TCP segment of flow `flow`, payload of `len` bytes.
std::vector<std::uint8_t> segment(Input& in, unsigned flow, bool v6, std::uint32_t seq, std::size_t len,
                                  std::uint8_t flags, bool vlan, bool bad_sum) {
    const std::size_t opt = (flags & 0x80) ? 12 : 0;  // 0x80 (not a TCP flag here): a timestamp option
    const std::size_t tcp_len = 20 + opt + len;
    std::size_t l4 = 0;
    std::uint32_t pseudo = 0;
    std::vector<std::uint8_t> f = frame_of(flow, v6, vlan, 6, tcp_len, l4, pseudo);
    std::uint8_t* tcp = &f[l4];
    put16(tcp, 40000 + flow);
    put16(tcp + 2, 5001);
    put32(tcp + 4, seq);
    put32(tcp + 8, 1000);
    tcp[12] = static_cast<std::uint8_t>(((20 + opt) / 4) << 4);
    tcp[13] = flags & 0x3f;
    put16(tcp + 14, 512);
    if (opt) std::memcpy(tcp + 20, "\x01\x01\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x02", 12);
    const std::uint8_t fill = in.u8();  // one input byte picks the payload, so a run stays cheap to describe
    for (std::size_t i = 0; i < len; ++i) tcp[20 + opt + i] = static_cast<std::uint8_t>(i * 7 + fill);
    put16(tcp + 16, fold(sum16(tcp, tcp_len, pseudo)));
    if (bad_sum) tcp[17] ^= 0x5a;
    return f;
}

// One UDP datagram of flow `flow`, `len` bytes of payload; sum 0: right, 1: wrong, 2: none (0).
std::vector<std::uint8_t> datagram(Input& in, unsigned flow, bool v6, std::size_t len, bool vlan, int sum) {
    const std::size_t udp_len = 8 + len;
    std::size_t l4 = 0;
    std::uint32_t pseudo = 0;
    std::vector<std::uint8_t> f = frame_of(flow, v6, vlan, 17, udp_len, l4, pseudo);
    std::uint8_t* udp = &f[l4];
    put16(udp, 40000 + flow);
    put16(udp + 2, 5001);
    put16(udp + 4, static_cast<std::uint32_t>(udp_len));
    const std::uint8_t fill = in.u8();
    for (std::size_t i = 0; i < len; ++i) udp[8 + i] = static_cast<std::uint8_t>(i * 7 + fill);
    if (sum != 2) {
        const std::uint16_t c = fold(sum16(udp, udp_len, pseudo));
        put16(udp + 6, c == 0 ? 0xffff : c);
        if (sum == 1) udp[7] ^= 0x5a;
    }
    return f;
}

// The TAP, opened once in a namespace of our own so that nothing we write leaves it.
TapDevice* tap() {
    static std::optional<TapDevice> dev = [] {
        std::optional<TapDevice> d;
        if (unshare(CLONE_NEWNET) != 0) {
            std::perror("io_tap_writer_fuzz: unshare(CLONE_NEWNET) (needs root)");
            std::abort();
        }
        auto t = TapDevice::open("wbfuzz0");
        if (!t || !t->enable_offload()) {
            std::fprintf(stderr, "io_tap_writer_fuzz: cannot open a TAP with offloads\n");
            std::abort();
        }
        const int s = socket(AF_INET, SOCK_DGRAM, 0);
        ifreq ifr{};
        std::strncpy(ifr.ifr_name, "wbfuzz0", IFNAMSIZ - 1);
        if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) != 0) std::abort();
        ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
        if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) std::abort();
        close(s);
        d.emplace(std::move(*t));
        return d;
    }();
    return &*dev;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    TapWriter w(*tap());
    Input in{data, size};
    std::uint32_t seq[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    for (int frames = 0; in.n > 0 && frames < 256; ++frames) {
        const std::uint8_t op = in.u8();
        if ((op & 7) == 0) {  // a raw frame, as many bytes as the next two say (bounded)
            const std::size_t len = std::min<std::size_t>(in.u16() % 1600, in.n);
            (void)w.write_frame({in.p, len});
            in.p += len;
            in.n -= len;
            continue;
        }
        if ((op & 7) == 1) {
            (void)w.flush();
            continue;
        }
        const unsigned flow = (op >> 3) & 3;
        const bool v6 = (op >> 5) & 1;
        if ((op & 7) == 2) {
            // A UDP datagram. how: bits 0-1 the size (any, 64, a little less, 1200), bit 4 an 802.1Q
            // tag, bits 5-7 all set: a bad sum, 6 (IPv4): none.
            const std::uint8_t how = in.u8();
            std::size_t len = 0;
            switch (how & 3) {
                case 0: len = in.u16() % 1473; break;
                case 1: len = 64; break;
                case 2: len = 64 - in.u8() % 64; break;
                case 3: len = 1200; break;
            }
            const int sum = (how & 0xe0) == 0xe0 ? 1 : ((how & 0xe0) == 0xc0 && !v6) ? 2 : 0;
            (void)w.write_frame(datagram(in, flow, v6, len, (op & 0x40) && (how & 0x10), sum));
            continue;
        }
        // how: bits 0-1 the size (any, a full MSS, a little less, tiny), bit 2 a gap in the
        // sequence, bit 3 flags from the input, bit 4 an 802.1Q tag, bits 5-7 all set: a bad sum.
        const std::uint8_t how = in.u8();
        const bool ts = op & 0x80;  // a timestamp option (every segment of a real flow has it or not)
        const std::size_t mss = 1500 - (v6 ? 40 : 20) - 20 - (ts ? 12 : 0);
        std::size_t len = 0;
        switch (how & 3) {
            case 0: len = in.u16() % (mss + 1); break;
            case 1: len = mss; break;
            case 2: len = mss - in.u8() % 64; break;
            case 3: len = in.u8() % 16; break;
        }
        std::uint32_t& next = seq[flow + (v6 ? 4 : 0)];
        const std::uint32_t s = (how & 0x04) ? next + in.u8() : next;
        std::uint8_t flags = (how & 0x08) ? in.u8() : 0x10;
        flags = static_cast<std::uint8_t>((flags & 0x3f) | (ts ? 0x80 : 0));  // 0x80: segment() adds the option
        const bool vlan = (op & 0x40) && (how & 0x10);
        const bool bad = (how & 0xe0) == 0xe0;
        const auto f = segment(in, flow, v6, s, len, flags, vlan, bad);
        next = s + static_cast<std::uint32_t>(len);
        (void)w.write_frame(f);
    }
    (void)w.flush();
    return 0;
}
