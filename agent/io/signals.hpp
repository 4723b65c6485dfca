// The process's signals as an fd for the event loop: SIGTERM, SIGINT and SIGHUP through a signalfd.
#pragma once

#include "common/result.hpp"
#include "io/fd.hpp"

namespace wirebridge::io {

// Blocks SIGTERM, SIGINT and SIGHUP and returns a signalfd for them (read in the event loop).
// Also ignores SIGPIPE: a peer that vanishes must not kill the process.
Result<Fd> open_signal_fd();
// Reads one signal number from the signalfd (0 if none).
int read_signal(int fd);

}  // namespace wirebridge::io
