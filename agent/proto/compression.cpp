// Compression framing and decompression (liblzo2's LZO1X, liblz4's block format), as OpenVPN frames them.
#include "proto/compression.hpp"

#include <lz4.h>
#include <lzo/lzo1x.h>

#include <algorithm>
#include <cstring>

namespace wirebridge::proto {

namespace {

constexpr std::uint8_t kLzoCompressByte = 0x66;
constexpr std::uint8_t kLz4CompressByte = 0x69;
constexpr std::uint8_t kNoCompressByte = 0xFA;
constexpr std::uint8_t kNoCompressByteSwap = 0xFB;
constexpr std::uint8_t kV2Indicator = 0x50;
constexpr std::uint8_t kV2Uncompressed = 0;
constexpr std::uint8_t kV2Lz4 = 1;

bool lzo_ready() {
    static const bool ok = lzo_init() == LZO_E_OK;
    return ok;
}

bool decompress_lzo(std::span<const std::uint8_t> in, std::span<std::uint8_t>& payload, std::span<std::uint8_t> scratch) {
    if (!lzo_ready()) return false;
    lzo_uint out_len = std::min(scratch.size(), kMaxDecompressed);
    // The _safe variant checks both buffers: the input is a peer's, authenticated but not trusted.
    if (lzo1x_decompress_safe(in.data(), in.size(), scratch.data(), &out_len, nullptr) != LZO_E_OK) return false;
    payload = scratch.first(out_len);
    return true;
}

bool decompress_lz4(std::span<const std::uint8_t> in, std::span<std::uint8_t>& payload, std::span<std::uint8_t> scratch) {
    const int cap = static_cast<int>(std::min(scratch.size(), kMaxDecompressed));
    const int n = LZ4_decompress_safe(reinterpret_cast<const char*>(in.data()), reinterpret_cast<char*>(scratch.data()),
                                      static_cast<int>(in.size()), cap);
    if (n <= 0) return false;
    payload = scratch.first(static_cast<std::size_t>(n));
    return true;
}

}  // namespace

std::size_t frame_uncompressed(CompressionFraming f, std::span<std::uint8_t> buf, std::size_t at, std::size_t len) {
    if (buf.size() < at + len + kFramingRoom) return 0;
    std::uint8_t* p = buf.data() + at;
    switch (f) {
        case CompressionFraming::comp_lzo:
            std::memmove(p + 1, p, len);
            p[0] = kNoCompressByte;
            return len + 1;
        case CompressionFraming::compress_v1:
            if (len == 0) return 0;
            p[len] = p[0];  // the first byte goes to the end; the marker takes its place
            p[0] = kNoCompressByteSwap;
            return len + 1;
        case CompressionFraming::compress_v2:
            if (len == 0 || p[0] != kV2Indicator) return len;  // only a frame that looks framed is escaped
            std::memmove(p + 2, p, len);
            p[0] = kV2Indicator;
            p[1] = kV2Uncompressed;
            return len + 2;
        case CompressionFraming::none:
        case CompressionFraming::unsupported: return len;
    }
    return len;
}

bool unframe(CompressionFraming f, std::span<std::uint8_t>& payload, std::span<std::uint8_t> scratch, bool& compressed) {
    compressed = false;
    switch (f) {
        case CompressionFraming::none:
        case CompressionFraming::unsupported: return true;
        case CompressionFraming::comp_lzo: {
            if (payload.empty()) return false;
            const std::uint8_t c = payload[0];
            payload = payload.subspan(1);
            if (c == kNoCompressByte) return true;
            if (c != kLzoCompressByte) return false;
            compressed = true;
            return decompress_lzo(payload, payload, scratch);
        }
        case CompressionFraming::compress_v1: {
            if (payload.size() < 2) return false;
            const std::uint8_t c = payload[0];
            payload[0] = payload[payload.size() - 1];
            payload = payload.first(payload.size() - 1);
            if (c == kNoCompressByteSwap) return true;
            if (c != kLz4CompressByte) return false;  // LZO never uses the swap framing
            compressed = true;
            return decompress_lz4(payload, payload, scratch);
        }
        case CompressionFraming::compress_v2: {
            if (payload.empty()) return false;
            if (payload[0] != kV2Indicator) return true;
            if (payload.size() < 2) return false;
            const std::uint8_t c = payload[1];
            payload = payload.subspan(2);
            if (c == kV2Uncompressed) return true;
            if (c != kV2Lz4) return false;
            compressed = true;
            return decompress_lz4(payload, payload, scratch);
        }
    }
    return false;
}

}  // namespace wirebridge::proto
