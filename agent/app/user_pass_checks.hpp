// UserPassChecks: the hub's auth_user_pass_verify programs, run without blocking its event loop.
//
//   auto checks = std::make_shared<UserPassChecks>(options);
//   checks->wire(server_config);                    // start/cancel hooks of the ServerDispatcher
//   ... the runner exists ...
//   checks->attach(runner.loop(), [&](uint64_t ticket, session::UserPassVerdict v) { runner.user_pass_verdict(ticket, v); });
//   ... run ...
//   checks->detach();                               // before the loop goes: programs still running are killed
//
// start() spawns the program (auth::UserPassVerifier) and returns at once; the loop watches the
// child's pidfd (a 50 ms reap timer where the kernel has none) and a kill timer at `timeout`. Exit
// status 0 or another status gives the verdict at once; 2 (OpenVPN's deferred authentication) makes
// it poll the run's auth_control_file (every 100 ms, backing off to 1 s) until '1' or '0' is
// written there; the wait is bounded by the session's auth-pending window, whose end cancels the
// check. Verdicts are delivered from loop callbacks, never from inside start() or cancel().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "auth/user_pass.hpp"
#include "io/event_loop.hpp"
#include "session/server_dispatcher.hpp"

namespace wirebridge::app {

class UserPassChecks : public std::enable_shared_from_this<UserPassChecks> {
public:
    using Deliver = std::function<void(std::uint64_t ticket, session::UserPassVerdict verdict)>;

    explicit UserPassChecks(auth::VerifyOptions options) : verifier_(std::move(options)) {}
    ~UserPassChecks();
    UserPassChecks(const UserPassChecks&) = delete;
    UserPassChecks& operator=(const UserPassChecks&) = delete;

    // Sets sc's start_user_pass_check / cancel_user_pass_check to this object's.
    void wire(session::ServerConfig& sc);
    void attach(io::EventLoop& loop, Deliver deliver);
    // Kills the programs still running, stops watching; start() refuses from then on.
    void detach();

    std::optional<session::UserPassVerdict> start(std::uint64_t ticket, const session::UserPassCheck& check);
    void cancel(std::uint64_t ticket);
    std::size_t running() const { return runs_.size(); }

private:
    struct Run {
        auth::VerifyRun run;
        std::string who;                  // "username 'x' (CN y, 192.0.2.1:1194)" for the log
        io::TimerId kill_timer = 0;       // the program's timeout
        io::TimerId poll_timer = 0;       // reap (no pidfd) or auth_control_file polling
        std::chrono::milliseconds poll_every{100};
        bool watching_fd = false;
        bool deferred = false;            // exited with status 2: polling auth_control_file
    };
    void on_exit(std::uint64_t ticket);
    void poll(std::uint64_t ticket);
    void on_timeout(std::uint64_t ticket);
    // Stops watching r (fd, timers); the run itself is left to its owner.
    void unwatch(Run& r);
    // Takes the run out, unwatched, and hands its verdict to deliver_.
    void finish(std::uint64_t ticket, const auth::VerifyResult& result);

    auth::UserPassVerifier verifier_;
    io::EventLoop* loop_ = nullptr;
    Deliver deliver_;
    std::map<std::uint64_t, std::unique_ptr<Run>> runs_;
};

}  // namespace wirebridge::app
