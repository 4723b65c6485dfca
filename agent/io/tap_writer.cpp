// TapWriter: GRO in userspace: runs of TCP segments or UDP datagrams written to the TAP as one GSO super-frame.
#include "io/tap_writer.hpp"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

#include "io/gso_splitter.hpp"

namespace wirebridge::io {

namespace {

constexpr std::uint8_t kTcpAck = 0x10, kTcpPsh = 0x08;
constexpr std::uint8_t kProtoTcp = 6, kProtoUdp = 17;
constexpr std::size_t kUdpHeader = 8;
// Within the kernel's UDP_MAX_SEGMENTS (128), which a UDP super-frame must not exceed.
constexpr std::size_t kMaxSegments = 64;
// IPv4's total length is 16 bits; keep every merged frame under it with room for headers.
constexpr std::size_t kMaxMerged = 65535 - 256;

std::uint16_t get_be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t get_be32(const std::uint8_t* p) {
    return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}
void put_be16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
void put_host16(std::uint8_t* p, std::size_t v) {
    const auto h = static_cast<std::uint16_t>(v);
    std::memcpy(p, &h, 2);
}

// The pseudo-header sum for a TCP segment or UDP datagram of l4_len bytes (addresses from the IP
// header at ip).
std::uint16_t pseudo_sum(const std::uint8_t* ip, bool ipv6, std::uint8_t proto, std::size_t l4_len) {
    const std::uint32_t extra = proto + static_cast<std::uint32_t>(l4_len);
    if (!ipv6) return ones_complement_sum(std::span<const std::uint8_t>(ip + 12, 8), extra);
    return ones_complement_sum(std::span<const std::uint8_t>(ip + 8, 32), extra);
}

}  // namespace

TapWriter::TapWriter(TapDevice& tap, unsigned queue, Mode mode) : tap_(tap), queue_(queue), super_(kRunArena) {
    path_ = batching(mode);
}

std::string TapWriter::batching(Mode mode) {
    if (mode == Mode::syscalls) return "write(), one call a frame (io_uring not asked for)";
    // Room for every slot plus every run a batch may queue.
    auto r = Uring::create(kSlots + kRuns);
    if (!r) return "write(), one call a frame: no io_uring here (" + r.error().message + ")";
    ring_.emplace(std::move(*r));
    slots_.resize(std::size_t{kSlots} * kSlotSize);
    return "io_uring batches of up to " + std::to_string(kSlots + kRuns) + " writes a call";
}

std::string TapWriter::merging() const {
    if (!tap_.offload()) return "no merging (the TAP has no offloads)";
    if (tap_.udp_gso_writes()) return "runs of TCP segments and of UDP datagrams merged";
    return "runs of TCP segments merged (UDP datagrams not: this kernel takes no UDP GSO write, Linux 6.2 does)";
}

bool TapWriter::parse(std::span<const std::uint8_t> f, Segment& s) const {
    const std::size_t size = f.size();
    if (size < 14 + 20 + kUdpHeader) return false;
    std::size_t l3 = 12;
    std::uint16_t type = get_be16(f.data() + l3);
    if (type == 0x8100) {
        l3 += 4;
        type = get_be16(f.data() + l3);
    }
    l3 += 2;
    const std::uint8_t* ip = f.data() + l3;
    std::size_t l4;
    if (type == 0x0800) {
        // No options, no fragments, no Ethernet padding: the common bulk-data segment.
        if (l3 + 20 > size || ip[0] != 0x45 || (get_be16(ip + 6) & 0x3fff) != 0) return false;
        if (get_be16(ip + 2) != size - l3) return false;
        if (ones_complement_sum(std::span<const std::uint8_t>(ip, 20)) != 0xffff) return false;
        l4 = l3 + 20;
        s.ipv6 = false;
        s.proto = ip[9];
    } else if (type == 0x86dd) {
        if (l3 + 40 > size || (ip[0] >> 4) != 6 || get_be16(ip + 4) != size - l3 - 40) return false;
        l4 = l3 + 40;
        s.ipv6 = true;
        s.proto = ip[6];  // no extension headers
    } else {
        return false;
    }
    if (s.proto == kProtoUdp && tap_.udp_gso_writes()) return parse_udp(f, l3, l4, s);
    if (s.proto != kProtoTcp || l4 + 20 > size) return false;
    const std::uint8_t* tcp = f.data() + l4;
    const std::size_t doff = static_cast<std::size_t>(tcp[12] >> 4) * 4;
    if (doff < 20 || l4 + doff >= size) return false;  // a segment with no payload never merges
    const std::uint8_t flags = tcp[13];
    if ((flags & ~kTcpPsh) != kTcpAck) return false;
    const std::size_t tcp_len = size - l4;
    if (ones_complement_sum(std::span<const std::uint8_t>(tcp, tcp_len), pseudo_sum(ip, s.ipv6, kProtoTcp, tcp_len)) != 0xffff)
        return false;  // written as it is: the kernel counts and drops it
    s.l3 = l3;
    s.l4 = l4;
    s.hdr = l4 + doff;
    s.payload = size - s.hdr;
    s.seq = get_be32(tcp + 4);
    s.flags = flags;
    return true;
}

bool TapWriter::parse_udp(std::span<const std::uint8_t> f, std::size_t l3, std::size_t l4, Segment& s) const {
    const std::size_t size = f.size();
    if (l4 + kUdpHeader >= size) return false;  // a datagram with no payload never merges
    const std::uint8_t* udp = f.data() + l4;
    const std::size_t udp_len = size - l4;
    if (get_be16(udp + 4) != udp_len) return false;
    // Only datagrams that carry a checksum, and only a right one: the merged frame's checksums are
    // computed by the kernel, which must not turn a corrupted datagram into a good one.
    if (get_be16(udp + 6) == 0) return false;
    if (ones_complement_sum(std::span<const std::uint8_t>(udp, udp_len),
                            pseudo_sum(f.data() + l3, s.ipv6, kProtoUdp, udp_len)) != 0xffff)
        return false;
    s.l3 = l3;
    s.l4 = l4;
    s.hdr = l4 + kUdpHeader;
    s.payload = size - s.hdr;
    s.seq = 0;
    s.flags = 0;
    return true;
}

bool TapWriter::can_merge(std::span<const std::uint8_t> f, const Segment& s) const {
    if (len_ == 0 || closed_ || segs_ >= kMaxSegments) return false;
    if (s.proto != first_.proto || s.ipv6 != first_.ipv6 || s.l3 != first_.l3 || s.hdr != first_.hdr) return false;
    if (s.payload > first_.payload) return false;
    if (s.proto == kProtoTcp && s.seq != next_seq_) return false;
    if (len_ - kVnetHeaderSize + s.payload > kMaxMerged) return false;
    const std::uint8_t* p = super_.data() + run_at_ + kVnetHeaderSize;
    const std::uint8_t* q = f.data();
    if (std::memcmp(p, q, s.l3) != 0) return false;  // MACs, VLAN tag, ethertype
    const std::uint8_t* pi = p + s.l3;
    const std::uint8_t* qi = q + s.l3;
    if (!s.ipv6) {
        // TOS, DF, TTL, protocol, addresses; without DF the ids must count up as GRO requires.
        if (pi[1] != qi[1] || pi[8] != qi[8] || std::memcmp(pi + 12, qi + 12, 8) != 0) return false;
        const bool df = (get_be16(qi + 6) & 0x4000) != 0;
        if (df != ((get_be16(pi + 6) & 0x4000) != 0)) return false;
        if (!df && get_be16(qi + 4) != static_cast<std::uint16_t>(get_be16(pi + 4) + segs_)) return false;
    } else {
        if (std::memcmp(pi, qi, 4) != 0 || pi[7] != qi[7] || std::memcmp(pi + 8, qi + 8, 32) != 0) return false;
    }
    const std::uint8_t* pt = p + s.l4;
    const std::uint8_t* qt = q + s.l4;
    // UDP: the ports (length and checksum are per datagram; a shorter one ends the run).
    if (s.proto == kProtoUdp) return std::memcmp(pt, qt, 4) == 0;
    // TCP: ports, ACK number, header length, window and options equal; flags were checked in parse().
    return std::memcmp(pt, qt, 4) == 0 && std::memcmp(pt + 8, qt + 8, 5) == 0 && std::memcmp(pt + 14, qt + 14, 2) == 0 &&
           std::memcmp(pt + 20, qt + 20, s.hdr - s.l4 - 20) == 0;
}

void TapWriter::start(std::span<const std::uint8_t> f, const Segment& s) {
    run_at_ = ring_ ? arena_end_ : 0;
    std::uint8_t* h = super_.data() + run_at_;
    std::memset(h, 0, kVnetHeaderSize);
    std::memcpy(h + kVnetHeaderSize, f.data(), f.size());
    len_ = kVnetHeaderSize + f.size();
    first_ = s;
    segs_ = 1;
    next_seq_ = s.seq + static_cast<std::uint32_t>(s.payload);
    closed_ = (s.flags & kTcpPsh) != 0;  // 0 for UDP
}

void TapWriter::append(std::span<const std::uint8_t> f, const Segment& s) {
    std::memcpy(super_.data() + run_at_ + len_, f.data() + s.hdr, s.payload);
    len_ += s.payload;
    ++segs_;
    next_seq_ += static_cast<std::uint32_t>(s.payload);
    if (s.proto == kProtoTcp && (s.flags & kTcpPsh)) super_[run_at_ + kVnetHeaderSize + first_.l4 + 13] |= kTcpPsh;
    closed_ = s.payload < first_.payload || (s.flags & kTcpPsh) != 0;
}

Result<void> TapWriter::write_raw(const std::uint8_t* data, std::size_t len) {
    ++counters_.writes;
    ++counters_.syscalls;
    const ssize_t n = ::write(tap_.fd(queue_), data, len);
    if (n >= 0) return {};
    // A full queue or a frame the kernel refuses is a lost frame, as on a lossy link.
    if (errno == EAGAIN || errno == EINTR || errno == EINVAL || errno == ENOBUFS) {
        ++counters_.dropped;
        return {};
    }
    return fail_errno("write to " + tap_.name());
}

Result<void> TapWriter::submit() {
    if (queued_ == 0) return {};
    const unsigned n = queued_;
    ++counters_.syscalls;
    const bool submitted = static_cast<bool>(ring_->submit_and_wait(n));
    int fatal = 0;
    unsigned done = 0;
    ring_->drain([&](std::uint64_t user_data, std::int32_t res) {
        ++done;
        if (res >= 0) return;
        const int e = -res;
        if (e == EAGAIN || e == EINTR || e == EINVAL || e == ENOBUFS) {
            ++counters_.dropped;
            return;
        }
        if (fatal == 0) fatal = e;
        lost_ += user_data >= kSlots ? run_segs_[user_data - kSlots] : 1;  // a slot holds one frame
    });
    used_ = 0;
    queued_ = 0;
    runs_queued_ = 0;
    arena_end_ = 0;
    if (!submitted || done != n) {
        // The ring misbehaved (a TAP write never blocks, so it should not): what it did not
        // complete is lost like on a lossy link, and from now on every write is a write().
        counters_.dropped += n - std::min(done, n);
        ring_.reset();
        path_ = "write(), one call a frame: an io_uring batch of writes failed";
    }
    if (fatal != 0) return fail_errno("write to " + tap_.name(), fatal);
    return {};
}

Result<void> TapWriter::write_plain(std::span<const std::uint8_t> frame) {
    if (ring_ && frame.size() <= kSlotSize - kVnetHeaderSize) {
        if (used_ == kSlots) {
            if (auto r = submit(); !r) return r;
        }
        std::uint8_t* slot = slots_.data() + std::size_t{used_} * kSlotSize;
        std::memset(slot, 0, kVnetHeaderSize);
        std::memcpy(slot + kVnetHeaderSize, frame.data(), frame.size());
        if (!ring_->prep_write(tap_.fd(queue_), slot, kVnetHeaderSize + frame.size(), used_)) {
            if (auto r = submit(); !r) return r;
            return write_plain(frame);
        }
        ++used_;
        ++queued_;
        ++counters_.writes;
        return {};
    }
    // Larger than a slot (or no ring): written now, after everything queued before it.
    if (auto r = submit(); !r) return r;
    ++counters_.writes;
    ++counters_.syscalls;
    auto r = tap_.write_frame(frame, queue_);
    if (!r) return fail(r.error());
    return {};
}

Result<void> TapWriter::flush() {
    lost_ = 0;
    if (auto r = finish_run(); !r) return r;
    if (ring_) return submit();
    return {};
}

Result<void> TapWriter::finish_run() {
    if (len_ == 0) return {};
    std::uint8_t* h = super_.data() + run_at_;
    std::uint8_t* frame = h + kVnetHeaderSize;
    const std::size_t frame_len = len_ - kVnetHeaderSize;
    if (segs_ == 1 && ring_) {
        // Nothing merged: the frame takes a slot like any other, and leaves the arena to runs.
        len_ = 0;
        segs_ = 0;
        auto r = write_plain(std::span<const std::uint8_t>(frame, frame_len));
        if (!r) ++lost_;
        return r;
    }
    if (segs_ > 1) {
        std::uint8_t* ip = frame + first_.l3;
        std::uint8_t* l4 = frame + first_.l4;
        const bool udp = first_.proto == kProtoUdp;
        if (!first_.ipv6) {
            put_be16(ip + 2, static_cast<std::uint16_t>(frame_len - first_.l3));
            put_be16(ip + 10, 0);
            put_be16(ip + 10, static_cast<std::uint16_t>(~ones_complement_sum(std::span<const std::uint8_t>(ip, 20))));
        } else {
            put_be16(ip + 4, static_cast<std::uint16_t>(frame_len - first_.l4));
        }
        // The UDP length covers the whole super-frame (the kernel trims to it before it cuts).
        if (udp) put_be16(l4 + 4, static_cast<std::uint16_t>(frame_len - first_.l4));
        // CHECKSUM_PARTIAL: the field holds the pseudo-header sum; the segments were verified above.
        const std::size_t csum_offset = udp ? 6 : 16;
        put_be16(l4 + csum_offset, pseudo_sum(ip, first_.ipv6, first_.proto, frame_len - first_.l4));
        h[0] = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
        // VIRTIO_NET_HDR_GSO_UDP_L4 (both families) / GSO_TCPV6 / GSO_TCPV4
        h[1] = udp ? 5 : first_.ipv6 ? 4 : 1;
        put_host16(h + 2, first_.hdr);      // hdr_len
        put_host16(h + 4, first_.payload);  // gso_size: every segment but the last had this size
        put_host16(h + 6, first_.l4);       // csum_start
        put_host16(h + 8, csum_offset);
        counters_.merged += segs_;
    }
    const std::size_t len = len_;
    const std::size_t segs = segs_;
    len_ = 0;
    segs_ = 0;
    // An error before the run is written or queued loses all its frames.
    auto lost = [&](Result<void> r) {
        if (!r) lost_ += segs;
        return r;
    };
    if (!ring_) return lost(write_raw(h, len));
    // take() made room: fewer than kRuns runs queued, less than kMaxSuperFrame bytes of them.
    if (!ring_->prep_write(tap_.fd(queue_), h, len, kSlots + runs_queued_)) {
        // The ring's entries are all taken (cannot happen: it has one per slot and run). The run
        // stays where it is in the arena: submit() only forgets what was queued before it.
        if (auto r = submit(); !r) return lost(std::move(r));
        if (!ring_) return lost(write_raw(h, len));
        if (!ring_->prep_write(tap_.fd(queue_), h, len, kSlots))
            return lost(fail("io_uring: no submission entry", EBUSY));
    }
    run_segs_[runs_queued_++] = segs;
    arena_end_ = run_at_ + len;
    ++queued_;
    ++counters_.writes;
    return {};
}

Result<void> TapWriter::write_frame(std::span<const std::uint8_t> frame) {
    lost_ = 0;
    auto r = take(frame);
    if (!r) ++lost_;  // every error comes before this frame is queued, merged or written
    return r;
}

Result<void> TapWriter::take(std::span<const std::uint8_t> frame) {
    if (!tap_.offload()) return write_plain(frame);
    Segment s;
    if (parse(frame, s)) {
        if (can_merge(frame, s)) {
            append(frame, s);
            return {};
        }
        if (auto r = finish_run(); !r) return r;
        // The new run goes after the queued ones in the arena. Once they hold a largest run's
        // worth (or every run entry is taken) the batch goes out first: short runs of small
        // frames share a call, while a bulk TCP run reaches the receiver as soon as the next one
        // starts, as one would from a NIC, and the receiver works on it meanwhile.
        if (ring_ && (runs_queued_ == kRuns || arena_end_ >= kMaxSuperFrame)) {
            if (auto r = submit(); !r) return r;
        }
        start(frame, s);
        return {};
    }
    if (auto r = finish_run(); !r) return r;
    return write_plain(frame);
}

}  // namespace wirebridge::io
