// Uring: a small io_uring instance for batching TAP reads and writes (many frames per system call).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/result.hpp"

struct io_uring;

namespace wirebridge::io {

// One thread's submission and completion rings. Every batch is submitted and waited for at once
// (submit_and_wait), so nothing stays in flight between calls and the buffers a batch names are
// free again when it returns. A TAP never blocks a write, and reads go with RWF_NOWAIT (an empty
// queue is an immediate -EAGAIN), so the wait never sleeps.
class Uring {
public:
    // Fails when the kernel has no io_uring (ENOSYS), refuses it (kernel.io_uring_disabled, a
    // seccomp filter: EPERM) or the build had no liburing: callers fall back to read()/write().
    static Result<Uring> create(unsigned entries);

    Uring(Uring&&) noexcept;
    Uring& operator=(Uring&&) noexcept;
    ~Uring();

    // Queue one operation; false when the submission ring is full (submit first). `tag` comes back
    // with its completion.
    bool prep_read(int fd, void* buf, std::size_t len, std::uint64_t tag, bool nowait);
    bool prep_write(int fd, const void* buf, std::size_t len, std::uint64_t tag);

    // Submits what was queued (one io_uring_enter) and waits until `wait_for` completions are posted.
    Result<void> submit_and_wait(unsigned wait_for);

    // Hands each posted completion to f(tag, result) (result: bytes or -errno) and consumes them.
    template <typename F>
    unsigned drain(F&& f) {
        unsigned n = 0;
        std::uint64_t tag;
        std::int32_t res;
        while (next_completion(tag, res)) {
            f(tag, res);
            ++n;
        }
        return n;
    }

    unsigned entries() const { return entries_; }

private:
    Uring() = default;
    bool next_completion(std::uint64_t& tag, std::int32_t& res);
    void close();

    std::unique_ptr<::io_uring> ring_;
    unsigned entries_ = 0;
};

}  // namespace wirebridge::io
