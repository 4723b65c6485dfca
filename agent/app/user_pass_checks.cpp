// The hub's auth_user_pass_verify programs, watched from the event loop.
#include "app/user_pass_checks.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>

#include <algorithm>
#include <utility>

#include "common/log.hpp"

namespace wirebridge::app {

namespace {

auth::VerifyRequest request_of(const session::UserPassCheck& check, std::string& address) {
    auth::VerifyRequest r;
    r.username = check.username;
    r.password = check.password;
    r.common_name = check.common_name;
    r.peer_info = check.peer_info;
    char ip[INET6_ADDRSTRLEN] = {};
    const sockaddr* sa = check.from.sa();
    if (sa->sa_family == AF_INET6) {
        const auto* s6 = reinterpret_cast<const sockaddr_in6*>(sa);
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
        r.untrusted_port = ntohs(s6->sin6_port);
        r.ipv6 = true;
        address = "[" + std::string(ip) + "]:" + std::to_string(r.untrusted_port);
    } else if (sa->sa_family == AF_INET) {
        const auto* s4 = reinterpret_cast<const sockaddr_in*>(sa);
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
        r.untrusted_port = ntohs(s4->sin_port);
        address = std::string(ip) + ":" + std::to_string(r.untrusted_port);
    }
    r.untrusted_ip = ip;
    return r;
}

session::UserPassVerdict verdict_of(const auth::VerifyResult& r) { return {r.ok, r.why, r.client_reason}; }

}  // namespace

UserPassChecks::~UserPassChecks() { detach(); }

void UserPassChecks::wire(session::ServerConfig& sc) {
    std::weak_ptr<UserPassChecks> self = weak_from_this();
    sc.start_user_pass_check = [self](std::uint64_t ticket, const session::UserPassCheck& check) -> std::optional<session::UserPassVerdict> {
        if (auto s = self.lock()) return s->start(ticket, check);
        return session::UserPassVerdict{false, "the hub is stopping", {}};
    };
    sc.cancel_user_pass_check = [self](std::uint64_t ticket) {
        if (auto s = self.lock()) s->cancel(ticket);
    };
}

void UserPassChecks::attach(io::EventLoop& loop, Deliver deliver) {
    loop_ = &loop;
    deliver_ = std::move(deliver);
}

void UserPassChecks::detach() {
    for (auto& [ticket, r] : runs_) unwatch(*r);
    runs_.clear();  // each run kills its program and removes its files
    loop_ = nullptr;
    deliver_ = nullptr;
}

std::optional<session::UserPassVerdict> UserPassChecks::start(std::uint64_t ticket, const session::UserPassCheck& check) {
    if (!loop_) return session::UserPassVerdict{false, "the hub is not running", {}};
    std::string address;
    const auth::VerifyRequest req = request_of(check, address);
    auto run = verifier_.start(req);
    if (!run) return session::UserPassVerdict{false, run.error().message, {}};
    auto r = std::make_unique<Run>(Run{std::move(*run), {}, 0, 0, std::chrono::milliseconds(100), false, false});
    r->who = "username '" + check.username + "' (" + (check.common_name.empty() ? "" : "CN " + check.common_name + ", ") + address + ")";
    Run& ref = *r;
    runs_[ticket] = std::move(r);
    if (ref.run.pidfd() >= 0) {
        if (loop_->add_fd(ref.run.pidfd(), EPOLLIN, [this, ticket](std::uint32_t) { on_exit(ticket); })) ref.watching_fd = true;
    }
    if (!ref.watching_fd) ref.poll_timer = loop_->add_timer(std::chrono::milliseconds(50), [this, ticket] { poll(ticket); });
    const unsigned timeout = verifier_.options().timeout_s;
    ref.kill_timer = loop_->add_timer(std::chrono::seconds(timeout), [this, ticket] { on_timeout(ticket); });
    log_debug("auth_user_pass_verify: " + ref.who + ": " + verifier_.options().command[0] + " started (pid " +
              std::to_string(ref.run.pid()) + ")");
    return std::nullopt;
}

void UserPassChecks::cancel(std::uint64_t ticket) {
    auto it = runs_.find(ticket);
    if (it == runs_.end()) return;
    unwatch(*it->second);
    log_info("auth_user_pass_verify: " + it->second->who + ": the client went before the verdict; check stopped");
    runs_.erase(it);  // kills a program still running, removes its files
}

void UserPassChecks::unwatch(Run& r) {
    if (!loop_) return;
    if (r.watching_fd) loop_->remove_fd(r.run.pidfd());
    r.watching_fd = false;
    if (r.kill_timer) loop_->cancel_timer(r.kill_timer);
    if (r.poll_timer) loop_->cancel_timer(r.poll_timer);
    r.kill_timer = r.poll_timer = 0;
}

void UserPassChecks::on_exit(std::uint64_t ticket) {
    auto it = runs_.find(ticket);
    if (it == runs_.end()) return;
    Run& r = *it->second;
    switch (r.run.reap()) {
        case auth::VerifyRun::State::running: return;  // not yet (a spurious wake)
        case auth::VerifyRun::State::done: return finish(ticket, r.run.result());
        case auth::VerifyRun::State::deferred: break;
    }
    // Exit status 2: the verdict comes in auth_control_file; the program's own timeout is over.
    r.deferred = true;
    if (r.watching_fd) loop_->remove_fd(r.run.pidfd());
    r.watching_fd = false;
    if (r.kill_timer) loop_->cancel_timer(r.kill_timer);
    r.kill_timer = 0;
    if (r.poll_timer) loop_->cancel_timer(r.poll_timer);
    r.poll_every = std::chrono::milliseconds(100);
    r.poll_timer = loop_->add_timer(r.poll_every, [this, ticket] { poll(ticket); });
    log_info("auth_user_pass_verify: " + r.who + ": deferred (exit status 2); waiting for " + r.run.control_file());
}

void UserPassChecks::poll(std::uint64_t ticket) {
    auto it = runs_.find(ticket);
    if (it == runs_.end()) return;
    Run& r = *it->second;
    r.poll_timer = 0;
    if (!r.deferred) {
        // No pidfd: reap on a timer (re-armed first; the exit or the deferral replaces it).
        r.poll_timer = loop_->add_timer(std::chrono::milliseconds(50), [this, ticket] { poll(ticket); });
        return on_exit(ticket);
    }
    if (auto v = r.run.poll_control()) return finish(ticket, *v);
    r.poll_every = std::min<std::chrono::milliseconds>(r.poll_every * 2, std::chrono::seconds(1));
    r.poll_timer = loop_->add_timer(r.poll_every, [this, ticket] { poll(ticket); });
}

void UserPassChecks::on_timeout(std::uint64_t ticket) {
    auto it = runs_.find(ticket);
    if (it == runs_.end()) return;
    it->second->kill_timer = 0;
    const auth::VerifyResult res = it->second->run.kill_timed_out(verifier_.options().timeout_s);
    finish(ticket, res);
}

void UserPassChecks::finish(std::uint64_t ticket, const auth::VerifyResult& result) {
    auto it = runs_.find(ticket);
    if (it == runs_.end()) return;
    std::unique_ptr<Run> r = std::move(it->second);
    runs_.erase(it);
    unwatch(*r);
    const session::UserPassVerdict v = verdict_of(result);
    log_info("auth_user_pass_verify: " + r->who + ": " + (v.ok ? "accepted" : "refused: " + v.why));
    r.reset();  // files removed before the session goes on
    if (deliver_) deliver_(ticket, v);  // may start or cancel other checks: nothing of runs_ is held here
}

}  // namespace wirebridge::app
