// Uring: liburing underneath; without liburing at build time create() reports ENOSYS.
#include "io/uring.hpp"

#include <cerrno>
#include <string>

#ifdef WB_HAVE_LIBURING
#include <liburing.h>
#else
struct io_uring {};
#endif

namespace wirebridge::io {

Uring::Uring(Uring&&) noexcept = default;
Uring& Uring::operator=(Uring&& o) noexcept {
    if (this != &o) {
        close();
        ring_ = std::move(o.ring_);
        entries_ = o.entries_;
    }
    return *this;
}

Uring::~Uring() { close(); }

#ifdef WB_HAVE_LIBURING

Result<Uring> Uring::create(unsigned entries) {
    Uring u;
    u.ring_ = std::make_unique<::io_uring>();
    // No SQPOLL or IOPOLL: submission stays in the caller's system call. Completions are only
    // read right after submit_and_wait, so no task work needs to interrupt us (COOP_TASKRUN).
    // SUBMIT_ALL: an entry that fails early must not leave the rest of the batch unsubmitted, or
    // the wait for the whole batch would never end.
    io_uring_params p{};
    p.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL;
    int r = io_uring_queue_init_params(entries, u.ring_.get(), &p);
    if (r == -EINVAL) {
        // Before 5.19 (COOP_TASKRUN, SUBMIT_ALL is 5.18): without SUBMIT_ALL a refused entry
        // stops the batch, which submit_and_wait() detects and reports instead of waiting.
        p = io_uring_params{};
        r = io_uring_queue_init_params(entries, u.ring_.get(), &p);
    }
    if (r < 0) {
        u.ring_.reset();
        errno = -r;
        return fail_errno("io_uring_setup(" + std::to_string(entries) + ")");
    }
    u.entries_ = p.sq_entries;
    return u;
}

void Uring::close() {
    if (ring_) io_uring_queue_exit(ring_.get());
    ring_.reset();
}

bool Uring::prep_read(int fd, void* buf, std::size_t len, std::uint64_t tag, bool nowait) {
    io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
    if (!sqe) return false;
    io_uring_prep_read(sqe, fd, buf, static_cast<unsigned>(len), 0);
    if (nowait) sqe->rw_flags = RWF_NOWAIT;
    io_uring_sqe_set_data64(sqe, tag);
    return true;
}

bool Uring::prep_write(int fd, const void* buf, std::size_t len, std::uint64_t tag) {
    io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
    if (!sqe) return false;
    io_uring_prep_write(sqe, fd, buf, static_cast<unsigned>(len), 0);
    io_uring_sqe_set_data64(sqe, tag);
    return true;
}

Result<void> Uring::submit_and_wait(unsigned wait_for) {
    for (int tries = 0; tries < 100; ++tries) {
        const unsigned queued = io_uring_sq_ready(ring_.get());
        const int r = io_uring_submit_and_wait(ring_.get(), wait_for);
        if (r >= 0) {
            if (static_cast<unsigned>(r) == queued) return {};
            // Part of the batch was not taken (a kernel without SUBMIT_ALL stopped at a refused
            // entry): the ring cannot be trusted to finish it.
            return fail("io_uring_enter took " + std::to_string(r) + " of " + std::to_string(queued) + " entries", EIO);
        }
        if (r != -EINTR && r != -EAGAIN && r != -EBUSY) {
            errno = -r;
            return fail_errno("io_uring_enter");
        }
        // EINTR: a signal; EAGAIN/EBUSY: completions must be reaped first (the caller drains them
        // after this returns, and a batch never exceeds the completion ring, so this is transient).
        if (r != -EINTR) wait_for = 0;
    }
    return fail("io_uring_enter keeps failing", EAGAIN);
}

bool Uring::next_completion(std::uint64_t& tag, std::int32_t& res) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_peek_cqe(ring_.get(), &cqe) != 0 || !cqe) return false;
    tag = io_uring_cqe_get_data64(cqe);
    res = cqe->res;
    io_uring_cqe_seen(ring_.get(), cqe);
    return true;
}

#else  // built without liburing

Result<Uring> Uring::create(unsigned) { return fail("this build has no io_uring support (liburing)", ENOSYS); }
void Uring::close() { ring_.reset(); }
bool Uring::prep_read(int, void*, std::size_t, std::uint64_t, bool) { return false; }
bool Uring::prep_write(int, const void*, std::size_t, std::uint64_t) { return false; }
Result<void> Uring::submit_and_wait(unsigned) { return fail("no io_uring", ENOSYS); }
bool Uring::next_completion(std::uint64_t&, std::int32_t&) { return false; }

#endif

}  // namespace wirebridge::io
