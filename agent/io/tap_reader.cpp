// TapReader: batches of io_uring reads (or one read() each) cut into wire frames by GsoSplitter.
#include "io/tap_reader.hpp"

#include <cerrno>
#include <cstring>

namespace wirebridge::io {

TapReader::TapReader(TapDevice& tap, unsigned queue, Mode mode) : tap_(tap), queue_(queue), super_(kMaxSuperFrame) {
    if (mode == Mode::syscalls) {
        path_ = "read(), one call a frame (io_uring not asked for)";
        return;
    }
    auto r = Uring::create(kBatch);
    if (!r) {
        path_ = "read(), one call a frame: no io_uring here (" + r.error().message + ")";
        return;
    }
    ring_.emplace(std::move(*r));
    slots_.resize(std::size_t{kBatch} * kMaxSuperFrame);
}

void TapReader::on_path_decided(std::function<void(const std::string&)> f) {
    path_hook_ = std::move(f);
    if (path_hook_ && !path_.empty()) path_hook_(path_);
}

void TapReader::decide(std::string path) {
    if (path == path_) return;
    path_ = std::move(path);
    if (path_hook_) path_hook_(path_);
}

Result<IoCount> TapReader::read_unbatched(std::span<std::uint8_t> out) {
    if (!tap_.offload()) {
        ++syscalls_;
        return tap_.read_frame(out, queue_);
    }
    for (;;) {
        if (pending_) {
            const std::size_t n = splitter_.next(out);
            if (n > 0) return IoCount{n, false};
            pending_ = false;
        }
        ++syscalls_;
        auto r = tap_.read_packet(super_, queue_);
        if (!r) return r;
        if (r->would_block) return r;
        if (splitter_.start(std::span<const std::uint8_t>(super_.data(), r->bytes)) != GsoSplitter::Status::ok) {
            ++refused_;
            continue;
        }
        pending_ = true;
    }
}

Result<bool> TapReader::refill() {
    const int fd = tap_.fd(queue_);
    const unsigned n = window_;
    for (unsigned i = 0; i < n; ++i) {
        // A fresh ring per batch: the submission queue always has room for kBatch entries.
        [[maybe_unused]] const bool ok = ring_->prep_read(fd, slots_.data() + std::size_t{i} * kMaxSuperFrame,
                                                          kMaxSuperFrame, i, true);
    }
    ++syscalls_;
    for (unsigned i = 0; i < n; ++i) res_[i] = -EAGAIN;
    const bool submitted = static_cast<bool>(ring_->submit_and_wait(n));
    unsigned done = 0;
    ring_->drain([&](std::uint64_t tag, std::int32_t res) {
        if (tag < kBatch) res_[tag] = res;
        ++done;
    });
    if (!submitted || done != n) {
        // The ring misbehaved (it should not: every read is non-blocking). Give it up for read();
        // frames of completed reads are still handed out, in order, before any read() result.
        ring_->drain([](std::uint64_t, std::int32_t) {});
        ring_.reset();
        decide("read(), one call a frame: an io_uring batch of reads failed (" +
               (submitted ? std::to_string(done) + " of " + std::to_string(n) + " completed" : std::string("submit refused")) +
               ")");
        posted_ = n;
        next_ = 0;
        drained_ = false;
        return true;
    }
    unsigned got = 0;
    bool empty = false;
    for (unsigned i = 0; i < n; ++i) {
        const std::int32_t res = res_[i];
        if (res >= 0) {
            ++got;
            continue;
        }
        if (res == -EAGAIN || res == -EINTR) {
            empty = true;
            continue;
        }
        if (got == 0 && (res == -EOPNOTSUPP || res == -EINVAL || res == -EBADF || res == -EPERM)) {
            // This kernel's TAP does not take RWF_NOWAIT reads (or io_uring is restricted for
            // this file): read() from now on. Nothing was read, so no frame is lost or reordered.
            ring_.reset();
            decide(std::string("read(), one call a frame: this kernel's TAP refuses RWF_NOWAIT reads through io_uring (") +
                   std::strerror(-res) + "; a TAP takes them from Linux 6.4)");
            posted_ = next_ = 0;
            return false;
        }
        // Frames before the error are still handed out; the error comes with the slot.
    }
    if (path_.empty()) decide("io_uring batches of up to " + std::to_string(kBatch) + " RWF_NOWAIT reads a call");
    posted_ = n;
    next_ = 0;
    drained_ = empty;
    window_ = empty ? std::max(2u, got + 1) : std::min(kBatch, n * 2);
    return got > 0 || !empty;
}

Result<IoCount> TapReader::read_frame(std::span<std::uint8_t> out) {
    if (!ring_ && next_ >= posted_) return read_unbatched(out);
    for (;;) {
        if (pending_) {
            const std::size_t n = splitter_.next(out);
            if (n > 0) return IoCount{n, false};
            pending_ = false;
        }
        if (next_ < posted_) {
            const unsigned i = next_++;
            const std::int32_t res = res_[i];
            if (res == -EAGAIN || res == -EINTR) continue;
            if (res < 0) {
                errno = -res;
                return fail_errno("read from " + tap_.name());
            }
            if (static_cast<std::size_t>(res) < kVnetHeaderSize) return fail("short read from " + tap_.name(), EPROTO);
            const std::uint8_t* p = slots_.data() + std::size_t{i} * kMaxSuperFrame;
            if (splitter_.start(std::span<const std::uint8_t>(p, static_cast<std::size_t>(res))) != GsoSplitter::Status::ok) {
                ++refused_;
                continue;
            }
            pending_ = true;
            continue;
        }
        if (drained_) {
            // The last batch found the queue empty: report it once instead of asking again.
            drained_ = false;
            posted_ = next_ = 0;
            return IoCount{0, true};
        }
        if (!ring_) return read_unbatched(out);
        auto r = refill();
        if (!r) return fail(r.error());
        if (!ring_ && next_ >= posted_) return read_unbatched(out);
        if (!*r) {
            drained_ = false;
            posted_ = next_ = 0;
            return IoCount{0, true};
        }
    }
}

}  // namespace wirebridge::io
