// SecureBytes / SecureArray: buffers for key material that are wiped (OPENSSL_cleanse) when dropped.
//
// Usage:
//   crypto::SecureBytes key(32);              // zero-filled, heap, wiped on destruction
//   crypto::SecureArray<256> block;           // inline, wiped on destruction
//   crypto::secure_wipe(ptr, len);            // wipe anything else (the compiler cannot elide it)
//   crypto::constant_time_equal(a, b);        // for tags and cookies; never memcmp
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace wirebridge::crypto {

void secure_wipe(void* p, std::size_t n);

// True iff a and b have the same length and content; time depends only on the length.
bool constant_time_equal(std::span<const uint8_t> a, std::span<const uint8_t> b);

// A fixed-size byte array on the heap, wiped on destruction and on move-from. Not copyable by
// accident: copies must be explicit (clone()).
class SecureBytes {
public:
    SecureBytes() = default;
    explicit SecureBytes(std::size_t n);
    explicit SecureBytes(std::span<const uint8_t> src);
    ~SecureBytes();
    SecureBytes(SecureBytes&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
    SecureBytes& operator=(SecureBytes&& o) noexcept;
    SecureBytes(const SecureBytes&) = delete;
    SecureBytes& operator=(const SecureBytes&) = delete;

    SecureBytes clone() const { return SecureBytes(span()); }

    uint8_t* data() { return p_; }
    const uint8_t* data() const { return p_; }
    std::size_t size() const { return n_; }
    bool empty() const { return n_ == 0; }
    uint8_t& operator[](std::size_t i) { return p_[i]; }
    const uint8_t& operator[](std::size_t i) const { return p_[i]; }
    std::span<uint8_t> span() { return {p_, n_}; }
    std::span<const uint8_t> span() const { return {p_, n_}; }

private:
    uint8_t* p_ = nullptr;
    std::size_t n_ = 0;
};

// An inline fixed-size array for key material, wiped on destruction.
template <std::size_t N>
class SecureArray {
public:
    SecureArray() { bytes_.fill(0); }
    explicit SecureArray(std::span<const uint8_t, N> src) {
        for (std::size_t i = 0; i < N; ++i) bytes_[i] = src[i];
    }
    ~SecureArray() { secure_wipe(bytes_.data(), N); }
    SecureArray(const SecureArray&) = default;
    SecureArray& operator=(const SecureArray&) = default;

    static constexpr std::size_t size() { return N; }
    uint8_t* data() { return bytes_.data(); }
    const uint8_t* data() const { return bytes_.data(); }
    uint8_t& operator[](std::size_t i) { return bytes_[i]; }
    const uint8_t& operator[](std::size_t i) const { return bytes_[i]; }
    std::span<uint8_t, N> span() { return std::span<uint8_t, N>(bytes_); }
    std::span<const uint8_t, N> span() const { return std::span<const uint8_t, N>(bytes_); }

private:
    std::array<uint8_t, N> bytes_;
};

}  // namespace wirebridge::crypto
