// Fuzz target: GsoSplitter, fed with what one read() on an offloading TAP returns (virtio-net
// header, then a frame or a TCP super-frame), as the kernel could hand it over. Checked: start()
// either refuses or announces count() frames, next() produces exactly that many, each at most
// kMaxWireFrame bytes, a read without GSO gives back at most its frame; ones_complement_sum agrees
// with a plain RFC 1071 loop.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "io/gso_splitter.hpp"

using namespace wirebridge::io;

namespace {

uint16_t reference_sum(std::span<const uint8_t> d, uint32_t initial) {
    uint64_t acc = initial;
    for (size_t i = 0; i + 1 < d.size(); i += 2) acc += static_cast<uint32_t>(d[i] << 8 | d[i + 1]);
    if (d.size() & 1) acc += static_cast<uint32_t>(d.back() << 8);
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<uint16_t>(acc);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > kMaxSuperFrame) return 0;
    const std::vector<uint8_t> read(data, data + size);  // exact size: ASan sees any overread
    const std::span<const uint8_t> all(read);
    {
        const uint32_t initial = size >= 2 ? static_cast<uint32_t>(read[0] << 8 | read[1]) : 0;
        const uint16_t a = ones_complement_sum(all, initial);
        const uint16_t b = reference_sum(all, initial);
        // 0x0000 and 0xffff are the same number in ones' complement.
        if (a != b && !((a == 0 || a == 0xffff) && (b == 0 || b == 0xffff))) std::abort();
    }
    GsoSplitter s;
    if (s.start(all) != GsoSplitter::Status::ok) return 0;
    const size_t count = s.count();
    if (count == 0 || count > 65536) std::abort();
    std::vector<uint8_t> out(GsoSplitter::kMaxWireFrame);
    size_t frames = 0, bytes = 0;
    for (;;) {
        const size_t n = s.next(out);
        if (n == 0) break;
        if (n > out.size()) std::abort();
        ++frames;
        bytes += n;
        if (frames > count) std::abort();
    }
    if (frames != count) std::abort();
    // Without GSO the one frame is the read minus its vnet header.
    if (count == 1 && bytes > size - kVnetHeaderSize) std::abort();
    return 0;
}
