// Fuzz target: undoing OpenVPN's compression framing and decompressing (LZO1X, LZ4) what a peer sent.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "proto/compression.hpp"

using namespace wirebridge::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static std::vector<uint8_t> scratch(kMaxDecompressed);
    for (auto f : {CompressionFraming::comp_lzo, CompressionFraming::compress_v1, CompressionFraming::compress_v2}) {
        std::vector<uint8_t> in(data, data + size);
        std::span<uint8_t> p(in);
        bool compressed = false;
        if (!unframe(f, p, scratch, compressed)) continue;
        if (p.size() > kMaxDecompressed) std::abort();
        const bool inside_in = !in.empty() && p.data() >= in.data() && p.data() + p.size() <= in.data() + in.size();
        const bool inside_scratch = p.data() >= scratch.data() && p.data() + p.size() <= scratch.data() + scratch.size();
        if (!p.empty() && !(compressed ? inside_scratch : inside_in)) std::abort();
        // What was received uncompressed frames back to the same bytes.
        if (!compressed) {
            std::vector<uint8_t> buf(p.size() + kFramingRoom);
            std::copy(p.begin(), p.end(), buf.begin());
            const std::size_t n = frame_uncompressed(f, buf, 0, p.size());
            if (p.size() > 0 && n == 0) std::abort();
        }
    }
    return 0;
}
