// TapReader: wire-size frames from a TAP queue, one at a time, whether or not the TAP offloads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "io/gso_splitter.hpp"
#include "io/tap_device.hpp"
#include "io/uring.hpp"

namespace wirebridge::io {

// A drop-in for TapDevice::read_frame on the data path. With offloads on, one read() returns up to
// 64 KB (a TCP super-frame); the reader keeps it and hands out its segments on the next calls, so
// the caller's loop ("read a frame into the batch slot, seal, queue") stays as it was and a whole
// TCP send window costs one syscall.
//
// Small frames come one per read() from a TAP, so a flood of them cost one system call each (plus
// the read that ends in EAGAIN). Where io_uring is available the reader instead submits a batch of
// non-blocking reads in one system call, each into its own buffer, and hands the frames out in the
// order they were read; the batch grows while the queue has more and shrinks to what the last one
// found, so a lone frame still costs one call (a read and the EAGAIN that follows it). A batch that
// hit EAGAIN means the queue was empty, so the call after its last frame reports would_block
// without asking the kernel again (callers wait on the TAP fd level-triggered).
// Without io_uring (old kernel, kernel.io_uring_disabled, a seccomp filter, a kernel whose TAP
// refuses RWF_NOWAIT) it reads with read() as before; the choice is made once, at construction or
// at the first refused batch. One reader per queue and thread; nothing is allocated after
// construction (the batch buffers, kBatch x 64 KB, are allocated then).
class TapReader {
public:
    enum class Mode : std::uint8_t { automatic, syscalls };

    TapReader(TapDevice& tap, unsigned queue = 0, Mode mode = Mode::automatic);

    // The next frame, written to out (give it GsoSplitter::kMaxWireFrame bytes). would_block when
    // the queue is empty and no segments are pending.
    Result<IoCount> read_frame(std::span<std::uint8_t> out);

    // Frames already taken from the TAP but not yet returned: a caller that stops before
    // would_block must come back for them even if the TAP fd does not poll readable.
    bool pending() const { return pending_ || next_ < posted_; }

    // true when reads go through io_uring batches.
    bool batched() const { return ring_.has_value(); }

    // Which path reads take and why, in one phrase for the log ("io_uring batches ..." or
    // "read() ...: <reason>"); empty until decided. Without io_uring (or Mode::syscalls) that is at
    // construction; with it, at the first batch, which shows whether this kernel's TAP takes
    // RWF_NOWAIT reads (Linux 6.4+).
    const std::string& path() const { return path_; }
    // f(path()) once the path is decided (at once if it already is), and again if it changes later
    // (a ring given up after a failed batch). Called on the reader's thread, inside read_frame.
    void on_path_decided(std::function<void(const std::string&)> f);

    // Reads that were not cut into frames (malformed or an offload we never enabled): dropped.
    std::uint64_t refused() const { return refused_; }
    // System calls made to read (read() or io_uring_enter, including those that found nothing).
    std::uint64_t syscalls() const { return syscalls_; }

    static constexpr unsigned kBatch = 16;

private:
    Result<IoCount> read_unbatched(std::span<std::uint8_t> out);
    // Submits the next batch; false when it found nothing (or the ring was given up).
    Result<bool> refill();
    void decide(std::string path);

    TapDevice& tap_;
    unsigned queue_;
    std::vector<std::uint8_t> super_;
    GsoSplitter splitter_;
    bool pending_ = false;
    std::uint64_t refused_ = 0;
    std::uint64_t syscalls_ = 0;
    std::string path_;
    std::function<void(const std::string&)> path_hook_;

    std::optional<Uring> ring_;
    std::vector<std::uint8_t> slots_;        // kBatch buffers of kMaxSuperFrame
    std::array<std::int32_t, kBatch> res_{}; // each slot's result: bytes or -errno
    unsigned posted_ = 0;                    // slots in the current batch
    unsigned next_ = 0;                      // the next slot to hand out
    unsigned window_ = 2;                    // reads in the next batch
    bool drained_ = false;                   // the current batch saw EAGAIN
};

}  // namespace wirebridge::io
