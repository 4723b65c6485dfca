// Fd: an owned file descriptor, closed once.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <utility>

namespace wirebridge::io {

// What a read or write on a non-blocking fd did.
struct IoCount {
    std::size_t bytes = 0;
    bool would_block = false;  // nothing done, try again when the fd is ready
    bool eof = false;          // stream sockets: the peer closed its side
};

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

}  // namespace wirebridge::io
