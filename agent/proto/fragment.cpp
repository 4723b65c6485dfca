// OpenVPN's fragment header, fragment sizes, and reassembly with a sliding window and a TTL.
#include "proto/fragment.hpp"

#include <algorithm>
#include <cstring>

namespace wirebridge::proto {

namespace {

constexpr unsigned kTypeShift = 0, kSeqShift = 2, kIdShift = 10, kSizeShift = 15;
constexpr std::uint32_t kTypeMask = 0x3, kSeqMask = 0xff, kIdMask = 0x1f, kSizeMask = 0x3fff;
constexpr std::size_t kRound = 4;  // sizes travel as multiples of 4 (FRAG_SIZE_ROUND_SHIFT 2)

// seq ids are 8 bits: the signed distance from b to a, in -128..127.
int seq_distance(std::uint8_t a, std::uint8_t b) { return static_cast<std::int8_t>(static_cast<std::uint8_t>(a - b)); }

}  // namespace

void write_fragment_header(const FragmentHeader& h, std::span<std::uint8_t, kFragmentHeader> out) {
    std::uint32_t v = (static_cast<std::uint32_t>(h.type) & kTypeMask) << kTypeShift;
    v |= (std::uint32_t{h.seq_id} & kSeqMask) << kSeqShift;
    v |= (std::uint32_t{h.frag_id} & kIdMask) << kIdShift;
    if (h.type == FragmentType::last) v |= ((std::uint32_t{h.size} / kRound) & kSizeMask) << kSizeShift;
    out[0] = static_cast<std::uint8_t>(v >> 24);
    out[1] = static_cast<std::uint8_t>(v >> 16);
    out[2] = static_cast<std::uint8_t>(v >> 8);
    out[3] = static_cast<std::uint8_t>(v);
}

FragmentHeader read_fragment_header(std::span<const std::uint8_t, kFragmentHeader> in) {
    const std::uint32_t v = (std::uint32_t{in[0]} << 24) | (std::uint32_t{in[1]} << 16) | (std::uint32_t{in[2]} << 8) | in[3];
    FragmentHeader h;
    h.type = static_cast<FragmentType>((v >> kTypeShift) & kTypeMask);
    h.seq_id = static_cast<std::uint8_t>((v >> kSeqShift) & kSeqMask);
    h.frag_id = static_cast<std::uint8_t>((v >> kIdShift) & kIdMask);
    h.size = static_cast<std::uint16_t>(((v >> kSizeShift) & kSizeMask) * kRound);
    return h;
}

std::size_t add_whole_fragment_header(std::span<std::uint8_t> buf, std::size_t at, std::size_t len) {
    if (at > buf.size() || buf.size() - at < len + kFragmentHeader) return 0;
    std::memmove(buf.data() + at + kFragmentHeader, buf.data() + at, len);
    write_fragment_header({}, buf.subspan(at).first<kFragmentHeader>());
    return len + kFragmentHeader;
}

bool strip_whole_fragment(std::span<std::uint8_t>& payload) {
    if (payload.size() < kFragmentHeader) return false;
    const FragmentHeader h = read_fragment_header(payload.first<kFragmentHeader>());
    if (h.type != FragmentType::whole || h.seq_id != 0 || h.frag_id != 0) return false;
    payload = payload.subspan(kFragmentHeader);
    return true;
}

std::uint16_t max_fragment_size(std::uint16_t fragment, bool mtu, const TunnelOverhead& t) {
    if (fragment == 0) return 0;
    const bool cbc = t.hmac_size != 0 || t.cbc_block != 0;
    int header = t.data_v2 ? 4 : 1;
    if (cbc) header += static_cast<int>(t.cbc_block + t.hmac_size);  // IV + HMAC
    else header += 4 + 16;                                            // packet-id + tag
    if (mtu) header += (t.tcp ? 20 : 8) + (t.ipv6 ? 40 : 20);
    int target = int{fragment} - header;
    // CBC: whole blocks, at least one byte of padding, and the packet-id inside every fragment.
    if (cbc && t.cbc_block > 0) target = target / static_cast<int>(t.cbc_block) * static_cast<int>(t.cbc_block) - 1 - 4;
    target -= static_cast<int>(kFragmentHeader);
    // Below a few dozen bytes a 1514-byte frame needs more than 32 fragments: never sendable.
    return static_cast<std::uint16_t>(std::clamp(target, 0, int{0xffff}));
}

std::size_t fragment_piece_size(std::size_t len, std::size_t max) {
    const std::size_t aligned = max & ~(kRound - 1);
    if (aligned == 0) return 0;
    const std::size_t div = len / aligned, mod = len % aligned;
    std::size_t piece = aligned;
    // Same number of fragments, but a last one of similar size (fragment.c optimal_fragment_size).
    if (div > 0 && mod > 0 && mod < aligned * 3 / 4)
        piece = std::min(aligned, (max - (max - mod) / (div + 1) + kRound - 1) & ~(kRound - 1));
    if (len > piece * kMaxFragments) return 0;
    return piece;
}

FragmentReassembler::Slot& FragmentReassembler::slot_for(std::uint8_t seq_id) {
    int diff = seq_distance(seq_id, seq_id_);
    if (diff >= static_cast<int>(kReassemblySlots) || diff <= -static_cast<int>(kReassemblySlots)) {
        for (Slot& s : *slots_) s.defined = false;  // far outside the window: start afresh
        index_ = 0;
        seq_id_ = seq_id;
        diff = 0;
    }
    for (; diff > 0; --diff) {  // slide forward: the slots that leave the window are dropped
        index_ = (index_ + 1) % kReassemblySlots;
        (*slots_)[index_].defined = false;
        ++seq_id_;
    }
    // diff is now in (-25, 0]: a payload older than the newest, still inside the window.
    return (*slots_)[(index_ + kReassemblySlots - static_cast<std::size_t>(-diff)) % kReassemblySlots];
}

void FragmentReassembler::reap(std::int64_t now_sec) {
    if (now_sec - last_reap_ < 1) return;  // at most once a second
    last_reap_ = now_sec;
    for (Slot& s : *slots_)
        if (s.defined && s.stamp + kFragmentTtlSec <= now_sec) {
            s.defined = false;
            ++expired_;
        }
}

FragmentReassembler::Verdict FragmentReassembler::feed(std::span<std::uint8_t>& payload, std::int64_t now_sec) {
    if (payload.size() < kFragmentHeader) return Verdict::bad;
    const FragmentHeader h = read_fragment_header(payload.first<kFragmentHeader>());
    std::span<std::uint8_t> body = payload.subspan(kFragmentHeader);
    if (h.type == FragmentType::whole) {
        if (h.seq_id != 0 || h.frag_id != 0) return Verdict::bad;  // "spurious FRAG_WHOLE flags"
        payload = body;
        return Verdict::whole;
    }
    if (h.type == FragmentType::test) return Verdict::bad;
    const std::size_t piece = h.type == FragmentType::last ? h.size : body.size();
    if (piece == 0 || piece % kRound != 0) return Verdict::bad;
    if (!slots_) slots_ = std::make_unique<std::array<Slot, kReassemblySlots>>();
    reap(now_sec);
    Slot& s = slot_for(h.seq_id);
    if (!s.defined || s.piece != piece) {  // the first fragment of this payload (or a new size)
        s.defined = true;
        s.piece = static_cast<std::uint16_t>(piece);
        s.map = 0;
        s.len = 0;
    }
    const std::size_t at = std::size_t{h.frag_id} * piece;
    if (at + body.size() > s.buf.size()) return Verdict::bad;  // "fragment buffer overflow"
    std::memcpy(s.buf.data() + at, body.data(), body.size());
    s.len = std::max(s.len, at + body.size());
    s.map |= (h.type == FragmentType::last ? 0xffffffffu : 1u) << h.frag_id;
    s.stamp = now_sec;
    if (s.map != 0xffffffffu) return Verdict::pending;
    s.defined = false;
    if (s.len == 0) return Verdict::bad;  // a lone empty LAST: nothing was reassembled
    payload = std::span<std::uint8_t>(s.buf.data(), s.len);
    return Verdict::complete;
}

}  // namespace wirebridge::proto
