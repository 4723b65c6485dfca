// WorkerMailbox and the eventfd wake-ups.
#include "datapath/worker_mailbox.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

namespace wirebridge::datapath {

Result<io::Fd> make_wake_fd() {
    io::Fd fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!fd.valid()) return fail_errno("eventfd");
    return fd;
}

void signal_wake_fd(int fd) {
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(fd, &one, sizeof one);
}

void drain_wake_fd(int fd) {
    std::uint64_t v = 0;
    [[maybe_unused]] ssize_t n = ::read(fd, &v, sizeof v);
}

Result<std::unique_ptr<WorkerMailbox>> WorkerMailbox::create(std::size_t capacity) {
    auto fd = make_wake_fd();
    if (!fd) return fail(fd.error());
    return std::make_unique<WorkerMailbox>(std::move(*fd), capacity);
}

bool WorkerMailbox::post(Kind kind, std::span<const std::uint8_t> bytes, const io::SocketAddress& from,
                         std::uint32_t peer_id, Source source) {
    // Half the box stays free for established peers, whatever unknown sources send.
    const std::size_t room = source == Source::peer ? capacity_ : capacity_ / 2;
    {
        std::lock_guard<std::mutex> g(mutex_);
        if (mails_.size() >= room) {
            dropped_[static_cast<std::size_t>(source)].fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        mails_.push_back(Mail{kind, std::vector<std::uint8_t>(bytes.begin(), bytes.end()), from, peer_id});
    }
    signal_wake_fd(event_.get());
    return true;
}

void WorkerMailbox::take(std::vector<Mail>& out) {
    drain_wake_fd(event_.get());
    out.clear();
    std::lock_guard<std::mutex> g(mutex_);
    out.swap(mails_);
}

}  // namespace wirebridge::datapath
