// Fuzz target: OpenVPN fragment reassembly (proto/fragment) of arbitrary decrypted payloads, and
// the round trip of a payload cut as the sender cuts it, its fragments fed in an input-chosen order.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "proto/fragment.hpp"

using namespace wirebridge::proto;

namespace {

// Mode 0: a sequence of payloads [len (1 byte) | time step (1 byte) | len bytes]; whatever the
// reassembler returns lies inside its input or its own buffer, and is never larger than allowed.
void raw(const uint8_t* data, size_t size) {
    FragmentReassembler r;
    std::int64_t now = 0;
    std::vector<uint8_t> pkt;
    size_t i = 0;
    while (i + 2 <= size) {
        const size_t len = std::min<size_t>(data[i], size - i - 2);
        now += data[i + 1] & 0x0f;
        pkt.assign(data + i + 2, data + i + 2 + len);
        i += 2 + len;
        std::span<uint8_t> p(pkt);
        const auto v = r.feed(p, now);
        if (v == FragmentReassembler::Verdict::whole && (p.size() + kFragmentHeader != pkt.size() || p.data() != pkt.data() + kFragmentHeader))
            std::abort();
        if (v == FragmentReassembler::Verdict::complete) {
            if (p.empty() || p.size() > kMaxReassembled) std::abort();
            // Every byte handed out is readable (ASan checks the copy).
            std::vector<uint8_t> copy(p.begin(), p.end());
            if (copy.size() != p.size()) std::abort();
        }
    }
}

// Mode 1: [max (1 byte) | order seed (1 byte) | payload]: cut with fragment_piece_size, fed in a
// shuffled order with one duplicate; exactly one completion, byte-exact.
void round_trip(const uint8_t* data, size_t size) {
    if (size < 3) return;
    const size_t max = 16 + size_t{data[0]} * 4;
    uint32_t state = data[1] + 1u;
    const std::vector<uint8_t> payload(data + 2, data + std::min<size_t>(size, 2 + 1600));
    FragmentReassembler r;
    if (payload.size() <= max) return;
    const size_t piece = fragment_piece_size(payload.size(), max);
    if (piece == 0) {
        if (payload.size() <= (max & ~size_t{3}) * kMaxFragments) std::abort();  // it would have fit
        return;
    }
    if (piece > max || piece % 4 != 0) std::abort();
    const size_t count = (payload.size() + piece - 1) / piece;
    if (count < 2 || count > kMaxFragments) std::abort();
    std::vector<std::vector<uint8_t>> frags;
    for (size_t k = 0; k < count; ++k) {
        std::vector<uint8_t> f(kFragmentHeader);
        FragmentHeader h{k + 1 == count ? FragmentType::last : FragmentType::not_last, 7, static_cast<uint8_t>(k),
                         static_cast<uint16_t>(piece)};
        write_fragment_header(h, std::span<uint8_t, kFragmentHeader>(f.data(), kFragmentHeader));
        const size_t end = std::min(payload.size(), (k + 1) * piece);
        f.insert(f.end(), payload.begin() + static_cast<long>(k * piece), payload.begin() + static_cast<long>(end));
        frags.push_back(std::move(f));
    }
    frags.insert(frags.begin(), frags[state % count]);  // a duplicate, delivered first
    for (size_t k = frags.size() - 1; k > 0; --k) {     // a shuffle the input picks
        state = state * 1103515245u + 12345u;
        std::swap(frags[k], frags[(state >> 8) % (k + 1)]);
    }
    int completions = 0;
    for (auto& f : frags) {
        std::span<uint8_t> p(f);
        const auto v = r.feed(p, 1);
        if (v == FragmentReassembler::Verdict::bad || v == FragmentReassembler::Verdict::whole) std::abort();
        if (v == FragmentReassembler::Verdict::complete) {
            ++completions;
            if (p.size() != payload.size() || !std::equal(p.begin(), p.end(), payload.begin())) std::abort();
        }
    }
    // The duplicate may complete the payload a second time only if it came after the completion
    // and thus started a new reassembly that cannot finish: exactly one completion.
    if (completions != 1) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    if (data[0] & 1) round_trip(data + 1, size - 1);
    else raw(data + 1, size - 1);
    return 0;
}
