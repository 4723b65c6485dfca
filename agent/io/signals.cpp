// The signalfd set-up and read.
#include "io/signals.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace wirebridge::io {

Result<Fd> open_signal_fd() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return fail_errno("sigprocmask");
    const int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) return fail_errno("signalfd");
    // A peer that vanishes must not kill us with SIGPIPE (TCP writes use MSG_NOSIGNAL too).
    signal(SIGPIPE, SIG_IGN);
    return Fd(fd);
}

int read_signal(int fd) {
    signalfd_siginfo si{};
    if (::read(fd, &si, sizeof si) != static_cast<ssize_t>(sizeof si)) return 0;
    return static_cast<int>(si.ssi_signo);
}

}  // namespace wirebridge::io
