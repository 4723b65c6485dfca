// Bounds-checked big-endian reader and writer over caller-owned byte spans (no allocation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace wirebridge::proto {

using ByteSpan = std::span<const uint8_t>;
using MutByteSpan = std::span<uint8_t>;

// Every read checks the remaining length first; a failed read leaves the reader in a
// sticky error state so a parser can read a whole header and test ok() once.
class ByteReader {
public:
    explicit ByteReader(ByteSpan in) : in_(in) {}

    size_t remaining() const { return ok_ ? in_.size() - pos_ : 0; }
    size_t position() const { return pos_; }
    bool ok() const { return ok_; }

    bool need(size_t n) {
        if (!ok_ || in_.size() - pos_ < n) ok_ = false;
        return ok_;
    }
    uint8_t u8() {
        if (!need(1)) return 0;
        return in_[pos_++];
    }
    uint16_t u16() {
        if (!need(2)) return 0;
        uint16_t v = static_cast<uint16_t>((in_[pos_] << 8) | in_[pos_ + 1]);
        pos_ += 2;
        return v;
    }
    uint32_t u24() {
        if (!need(3)) return 0;
        uint32_t v = (uint32_t{in_[pos_]} << 16) | (uint32_t{in_[pos_ + 1]} << 8) | in_[pos_ + 2];
        pos_ += 3;
        return v;
    }
    uint32_t u32() {
        if (!need(4)) return 0;
        uint32_t v = (uint32_t{in_[pos_]} << 24) | (uint32_t{in_[pos_ + 1]} << 16) |
                     (uint32_t{in_[pos_ + 2]} << 8) | in_[pos_ + 3];
        pos_ += 4;
        return v;
    }
    ByteSpan bytes(size_t n) {
        if (!need(n)) return {};
        ByteSpan s = in_.subspan(pos_, n);
        pos_ += n;
        return s;
    }
    bool copy(void* out, size_t n) {
        if (!need(n)) return false;
        std::memcpy(out, in_.data() + pos_, n);
        pos_ += n;
        return true;
    }
    ByteSpan rest() {
        if (!ok_) return {};
        ByteSpan s = in_.subspan(pos_);
        pos_ = in_.size();
        return s;
    }

private:
    ByteSpan in_;
    size_t pos_ = 0;
    bool ok_ = true;
};

class ByteWriter {
public:
    explicit ByteWriter(MutByteSpan out) : out_(out) {}

    size_t size() const { return pos_; }
    bool ok() const { return ok_; }
    ByteSpan written() const { return ByteSpan(out_.data(), pos_); }

    bool room(size_t n) {
        if (!ok_ || out_.size() - pos_ < n) ok_ = false;
        return ok_;
    }
    void u8(uint8_t v) {
        if (room(1)) out_[pos_++] = v;
    }
    void u16(uint16_t v) {
        if (!room(2)) return;
        out_[pos_++] = static_cast<uint8_t>(v >> 8);
        out_[pos_++] = static_cast<uint8_t>(v);
    }
    void u24(uint32_t v) {
        if (!room(3)) return;
        out_[pos_++] = static_cast<uint8_t>(v >> 16);
        out_[pos_++] = static_cast<uint8_t>(v >> 8);
        out_[pos_++] = static_cast<uint8_t>(v);
    }
    void u32(uint32_t v) {
        if (!room(4)) return;
        out_[pos_++] = static_cast<uint8_t>(v >> 24);
        out_[pos_++] = static_cast<uint8_t>(v >> 16);
        out_[pos_++] = static_cast<uint8_t>(v >> 8);
        out_[pos_++] = static_cast<uint8_t>(v);
    }
    void bytes(const void* p, size_t n) {
        if (!room(n)) return;
        if (n) std::memcpy(out_.data() + pos_, p, n);
        pos_ += n;
    }
    void bytes(ByteSpan s) { bytes(s.data(), s.size()); }

private:
    MutByteSpan out_;
    size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace wirebridge::proto
