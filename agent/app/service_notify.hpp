// ServiceNotifier: systemd's notify protocol (Type=notify), spoken directly over the datagram
// socket systemd names in NOTIFY_SOCKET; no libsystemd. READY=1 once the agent serves, STATUS=
// with the peers that are up, RELOADING=1 around a SIGHUP reload, STOPPING=1 on the way out and
// WATCHDOG=1 from the event loop (so a stuck loop is what the watchdog catches).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "control/status.hpp"
#include "io/event_loop.hpp"
#include "io/fd.hpp"

namespace wirebridge::app {

class ServiceNotifier {
public:
    // Inactive (every call a no-op) unless NOTIFY_SOCKET is set. Connects before the privilege
    // drop, so the socket's permissions are checked once, as root. NOTIFY_SOCKET, WATCHDOG_USEC and
    // WATCHDOG_PID are removed from the environment: nothing the agent runs should notify.
    static ServiceNotifier from_environment();
    ServiceNotifier() = default;

    bool active() const { return fd_.valid(); }
    // The watchdog interval systemd asked for (WatchdogSec=), if it asked this process.
    std::optional<std::chrono::microseconds> watchdog() const { return watchdog_; }

    // One datagram of NEWLINE-separated VAR=VALUE assignments; false if it could not be sent.
    bool notify(const std::string& state);

    void ready(const std::string& status) { notify("READY=1\nSTATUS=" + status); }
    // MONOTONIC_USEC lets systemd (253+) tell this reload from an earlier one.
    void reloading();
    void stopping() { notify("STOPPING=1"); }

    // From now on, on `loop`: WATCHDOG=1 at half the watchdog interval, and STATUS=status_line()
    // whenever it changes (checked every `tick`). Both stop with the loop.
    void start(io::EventLoop& loop, std::function<std::string()> status_line,
               std::chrono::milliseconds tick = std::chrono::seconds(5));

private:
    void on_tick();

    io::Fd fd_;
    std::optional<std::chrono::microseconds> watchdog_;
    io::EventLoop* loop_ = nullptr;
    std::function<std::string()> status_line_;
    std::string last_status_;
    io::Duration tick_{};
    io::TimePoint next_status_{};
};

// The process's one notifier, made from the environment on first use (cmd_run's first line, so
// nothing it starts inherits NOTIFY_SOCKET).
ServiceNotifier& service_notifier();

// "2 peers up: site-a (AES-256-GCM, key 1), site-b (AES-256-GCM, key 0); 1 reload" — the
// Status: line of `systemctl status`; it changes only when a peer, a key or a reload does.
std::string service_status_line(const control::Status& s);

}  // namespace wirebridge::app
