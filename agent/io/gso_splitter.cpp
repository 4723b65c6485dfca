// GsoSplitter: TCP segmentation (TSO done in userspace) and checksum completion for offloading TAPs.
#include "io/gso_splitter.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace wirebridge::io {

namespace {

// virtio_net_hdr, legacy layout in host byte order (what tun uses unless TUNSETVNETBE/LE say otherwise).
constexpr std::uint8_t kNeedsCsum = 1;
constexpr std::uint8_t kGsoNone = 0, kGsoTcpV4 = 1, kGsoTcpV6 = 4, kGsoEcn = 0x80;
constexpr std::uint8_t kTcpFin = 0x01, kTcpPsh = 0x08, kTcpCwr = 0x80;
constexpr std::uint8_t kProtoTcp = 6;

static_assert(std::endian::native == std::endian::little, "the checksum loop sums little-endian words");

std::uint16_t load16(const std::uint8_t* p) {
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}
std::uint16_t get_be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t get_be32(const std::uint8_t* p) {
    return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}
void put_be16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
void put_be32(std::uint8_t* p, std::uint32_t v) {
    put_be16(p, static_cast<std::uint16_t>(v >> 16));
    put_be16(p + 2, static_cast<std::uint16_t>(v));
}

std::uint16_t fold(std::uint64_t s) {
    s = (s & 0xffffffffu) + (s >> 32);
    s = (s & 0xffffffffu) + (s >> 32);
    s = (s & 0xffffu) + (s >> 16);
    s = (s & 0xffffu) + (s >> 16);
    return static_cast<std::uint16_t>(s);
}

// The checksum field value: complement of the sum, with 0 sent as 0xffff (UDP reserves 0 for
// "no checksum"; for TCP the two are the same number in ones' complement).
std::uint16_t finish(std::uint16_t sum) {
    const std::uint16_t c = static_cast<std::uint16_t>(~sum);
    return c == 0 ? 0xffff : c;
}

}  // namespace

std::uint16_t ones_complement_sum(std::span<const std::uint8_t> data, std::uint32_t initial) {
    // Summing little-endian words gives the byte-swapped big-endian sum (RFC 1071, section 2(B)),
    // so the loop reads whole machine words and swaps once at the end.
    const std::uint8_t* p = data.data();
    std::size_t n = data.size();
    std::uint64_t acc = 0;
#if defined(__SSE2__)
    // 16 bytes a step, widened to 32-bit lanes; a lane gains at most 0xffff a step, so it is
    // emptied into acc every 4096 steps, far before it could overflow.
    const __m128i zero = _mm_setzero_si128();
    while (n >= 16) {
        const std::size_t steps = std::min<std::size_t>(n / 16, 4096);
        __m128i lo = zero, hi = zero;
        for (std::size_t k = 0; k < steps; ++k) {
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
            lo = _mm_add_epi32(lo, _mm_unpacklo_epi16(v, zero));
            hi = _mm_add_epi32(hi, _mm_unpackhi_epi16(v, zero));
            p += 16;
        }
        n -= steps * 16;
        std::uint32_t lanes[8];
        _mm_storeu_si128(reinterpret_cast<__m128i*>(lanes), lo);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(lanes + 4), hi);
        for (const std::uint32_t l : lanes) acc += l;
    }
#else
    while (n >= 32) {
        std::uint32_t w[8];
        std::memcpy(w, p, 32);
        acc += std::uint64_t{w[0]} + w[1] + w[2] + w[3] + w[4] + w[5] + w[6] + w[7];
        p += 32;
        n -= 32;
    }
#endif
    while (n >= 4) {
        std::uint32_t w;
        std::memcpy(&w, p, 4);
        acc += w;
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        acc += load16(p);
        p += 2;
        n -= 2;
    }
    if (n == 1) acc += *p;  // the odd byte is the high half of a big-endian word: low half when swapped
    const std::uint16_t swapped = fold(acc);
    const std::uint16_t be = static_cast<std::uint16_t>(swapped >> 8 | swapped << 8);
    return fold(std::uint64_t{be} + initial);
}

GsoSplitter::Status GsoSplitter::start(std::span<const std::uint8_t> read) {
    count_ = index_ = 0;
    gso_ = needs_csum_ = false;
    if (read.size() < kVnetHeaderSize) return Status::malformed;
    const std::uint8_t flags = read[0];
    const std::uint8_t gso_type = read[1] & static_cast<std::uint8_t>(~kGsoEcn);
    const std::size_t gso_size = load16(read.data() + 4);
    frame_ = read.subspan(kVnetHeaderSize);
    const std::size_t size = frame_.size();
    if (size < 14) return Status::malformed;

    if (gso_type == kGsoNone) {
        if (size > kMaxWireFrame) return Status::malformed;
        needs_csum_ = (flags & kNeedsCsum) != 0;
        csum_start_ = load16(read.data() + 6);
        csum_offset_ = load16(read.data() + 8);
        if (needs_csum_ && (csum_start_ >= size || csum_offset_ + 2 > size - csum_start_)) return Status::malformed;
        count_ = 1;
        return Status::ok;
    }
    if (gso_type != kGsoTcpV4 && gso_type != kGsoTcpV6) return Status::unsupported;

    // Link header: Ethernet, at most two VLAN tags (802.1Q / 802.1ad).
    std::size_t l3 = 12;
    std::uint16_t type = get_be16(frame_.data() + l3);
    for (int tags = 0; (type == 0x8100 || type == 0x88a8) && tags < 2; ++tags) {
        l3 += 4;
        if (l3 + 2 > size) return Status::malformed;
        type = get_be16(frame_.data() + l3);
    }
    l3 += 2;
    std::size_t l4 = 0;
    if (gso_type == kGsoTcpV4) {
        if (type != 0x0800 || l3 + 20 > size) return Status::malformed;
        const std::uint8_t* ip = frame_.data() + l3;
        const std::size_t ihl = std::size_t{ip[0] & 0x0fu} * 4;
        if ((ip[0] >> 4) != 4 || ihl < 20 || l3 + ihl > size || ip[9] != kProtoTcp) return Status::malformed;
        l4 = l3 + ihl;
        ipv6_ = false;
    } else {
        if (type != 0x86dd || l3 + 40 > size) return Status::malformed;
        const std::uint8_t* ip = frame_.data() + l3;
        // The kernel's TSO6 frames from a TCP socket carry no extension headers; others are refused.
        if ((ip[0] >> 4) != 6 || ip[6] != kProtoTcp) return Status::unsupported;
        l4 = l3 + 40;
        ipv6_ = true;
    }
    if (l4 + 20 > size) return Status::malformed;
    const std::size_t doff = static_cast<std::size_t>(frame_[l4 + 12] >> 4) * 4;
    if (doff < 20 || l4 + doff > size) return Status::malformed;
    l3_ = l3;
    l4_ = l4;
    hdr_len_ = l4 + doff;
    mss_ = gso_size;
    if (mss_ == 0 || hdr_len_ + mss_ > kMaxWireFrame) return Status::unsupported;
    const std::size_t payload = size - hdr_len_;
    gso_ = true;
    count_ = payload == 0 ? 1 : (payload + mss_ - 1) / mss_;
    return Status::ok;
}

std::size_t GsoSplitter::next(std::span<std::uint8_t> out) {
    if (index_ >= count_) return 0;
    if (!gso_) {
        if (out.size() < frame_.size()) return 0;
        std::memcpy(out.data(), frame_.data(), frame_.size());
        if (needs_csum_) {
            // The field holds the pseudo-header sum (CHECKSUM_PARTIAL): summing over it completes it.
            const std::uint16_t sum = ones_complement_sum(std::span<const std::uint8_t>(out.data() + csum_start_, frame_.size() - csum_start_));
            put_be16(out.data() + csum_start_ + csum_offset_, finish(sum));
        }
        ++index_;
        return frame_.size();
    }
    const std::size_t i = index_;
    const std::size_t off = hdr_len_ + i * mss_;
    const std::size_t len = std::min(mss_, frame_.size() - std::min(off, frame_.size()));
    const std::size_t seg = hdr_len_ + len;
    if (out.size() < seg) return 0;
    std::uint8_t* o = out.data();
    std::memcpy(o, frame_.data(), hdr_len_);
    std::memcpy(o + hdr_len_, frame_.data() + off, len);

    std::uint8_t* ip = o + l3_;
    std::uint8_t* tcp = o + l4_;
    const std::size_t tcp_len = seg - l4_;
    std::uint32_t pseudo = 0;
    if (!ipv6_) {
        put_be16(ip + 2, static_cast<std::uint16_t>(seg - l3_));
        put_be16(ip + 4, static_cast<std::uint16_t>(get_be16(ip + 4) + i));
        put_be16(ip + 10, 0);
        put_be16(ip + 10, static_cast<std::uint16_t>(~ones_complement_sum(std::span<const std::uint8_t>(ip, l4_ - l3_))));
        pseudo = ones_complement_sum(std::span<const std::uint8_t>(ip + 12, 8), kProtoTcp + static_cast<std::uint32_t>(tcp_len));
    } else {
        put_be16(ip + 4, static_cast<std::uint16_t>(seg - l4_));
        pseudo = ones_complement_sum(std::span<const std::uint8_t>(ip + 8, 32), kProtoTcp + static_cast<std::uint32_t>(tcp_len));
    }
    put_be32(tcp + 4, get_be32(tcp + 4) + static_cast<std::uint32_t>(i * mss_));
    std::uint8_t fl = tcp[13];
    if (i + 1 < count_) fl &= static_cast<std::uint8_t>(~(kTcpFin | kTcpPsh));
    if (i > 0) fl &= static_cast<std::uint8_t>(~kTcpCwr);
    tcp[13] = fl;
    put_be16(tcp + 16, 0);
    const std::uint16_t sum = ones_complement_sum(std::span<const std::uint8_t>(tcp, tcp_len), pseudo);
    put_be16(tcp + 16, static_cast<std::uint16_t>(~sum));
    ++index_;
    return seg;
}

}  // namespace wirebridge::io
