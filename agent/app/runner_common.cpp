// Shared pieces of the runners and their workers: signalfd set-up, traffic into status, the TAP I/O path log.
#include "app/runner_common.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "app/log.hpp"

namespace wirebridge::app {

Result<io::Fd> open_signal_fd() {
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
    return io::Fd(fd);
}

int read_signal(int fd) {
    signalfd_siginfo si{};
    if (::read(fd, &si, sizeof si) != static_cast<ssize_t>(sizeof si)) return 0;
    return static_cast<int>(si.ssi_signo);
}

void add_traffic(const datapath::DataChannel& dc, control::PeerStatus& peer, control::Status& status) {
    const auto& c = dc.counters();
    peer.bytes_in = c.bytes_in;
    peer.bytes_out = c.bytes_out;
    peer.packets_in = c.packets_in;
    peer.packets_out = c.packets_out;
    for (std::size_t i = 0; i < c.drops.size(); ++i)
        if (c.drops[i] != 0) status.drops[datapath::data_drop_name(static_cast<datapath::DataDrop>(i))] += c.drops[i];
}

void log_worker_io_path(unsigned index, const std::string& tap_name, unsigned queue, const io::TapWriter& writer,
                        io::TapReader& reader) {
    const std::string who = "worker " + std::to_string(index) + ": TAP " + tap_name + " queue " + std::to_string(queue);
    const bool first = index == 0;
    auto say = [first](const std::string& m) { first ? log_info(m) : log_debug(m); };
    say(who + " writes: " + writer.path());
    reader.on_path_decided([say, who](const std::string& m) { say(who + " reads: " + m); });
}

}  // namespace wirebridge::app
