// Username/password authentication, as OpenVPN's `auth-user-pass FILE` (client) and
// `auth-user-pass-verify CMD via-file|via-env` (server).
//
//   auto up = auth::read_user_pass_file("/etc/wirebridge/site.pass");   // Result<UserPass>
//
//   auth::UserPassVerifier v({.command = {"/usr/local/bin/check", "arg"}, .via_file = true, .timeout_s = 10});
//   auto run = v.start(request);          // Result<VerifyRun>: the program runs, nothing blocks
//   watch run->pidfd() (readable when the program exits), then:
//   switch (run->reap()) { running: wait more; done: run->result(); deferred: poll_control() later }
//
// The program is started directly (posix_spawn, no shell), with stdin on /dev/null and an
// environment of its own, the variables OpenVPN 2.6 sets for this script: script_type=user-pass-verify,
// username, common_name, untrusted_ip (untrusted_ip6) and untrusted_port, password (via-env only),
// auth_control_file, auth_failed_reason_file, the client's IV_/UV_ peer-info variables, and a fixed
// PATH. via-file: its last argument is a 0600 file holding "username\npassword\n", removed once it
// exits. Exit status 0 admits the client; 2 defers the verdict (OpenVPN's deferred authentication:
// the first byte of auth_control_file, written later by whatever the program left behind, says
// '1' admitted or '0' refused; the owner bounds the wait); any other status or a signal refuses it.
// What was written into auth_failed_reason_file (first line, at most 200 bytes) is sent to a refused
// client as AUTH_FAILED,REASON, as OpenVPN does. The files are removed when the run ends.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace wirebridge::auth {

struct UserPass {
    std::string username;
    std::string password;
    UserPass() = default;
    UserPass(const UserPass&) = default;
    UserPass& operator=(const UserPass&) = default;
    ~UserPass();  // wipes the password
};

// The file's first line is the username, the second the password (OpenVPN's auth-user-pass FILE).
// A file without a password line is refused: wirebridge never prompts.
Result<UserPass> read_user_pass_file(const std::string& path);

struct VerifyRequest {
    std::string username;
    std::string password;
    std::string common_name;   // the client certificate's CN
    std::string untrusted_ip;  // the client's transport address
    uint16_t untrusted_port = 0;
    bool ipv6 = false;
    std::string peer_info;     // the client's peer-info lines (IV_VER=..., one per line)
    ~VerifyRequest();
};

struct VerifyResult {
    bool ok = false;
    std::string why;            // for the hub's log: "exit status 1", "did not exit within 10 s", ...
    std::string client_reason;  // from auth_failed_reason_file: sent as AUTH_FAILED,REASON
};

struct VerifyOptions {
    std::vector<std::string> command;  // argv; command[0] an absolute path
    bool via_file = true;              // false: via-env ($password)
    unsigned timeout_s = 10;           // the program must exit within this (the owner kills it after)
    std::string tmp_dir = "/tmp";      // where the via-file, control and reason files are made
};

// One run of the program, in a process group of its own. Destroying it kills a program still
// running (SIGKILL to its group, reaped) and removes its files; what a program that exited left
// running (a deferred verdict's job) is never signalled.
class VerifyRun {
public:
    enum class State { running, done, deferred };
    VerifyRun(VerifyRun&& o) noexcept;
    VerifyRun& operator=(VerifyRun&&) = delete;
    VerifyRun(const VerifyRun&) = delete;
    ~VerifyRun();

    // Readable (POLLIN) once the program has exited (open until the run is destroyed); -1 if the
    // kernel has no pidfd (call reap() on a timer).
    int pidfd() const { return pidfd_; }
    pid_t pid() const { return pid_; }
    // Never blocks. running: not exited yet; done: result() holds the verdict; deferred: it exited
    // with status 2, poll_control() gives the verdict once auth_control_file holds one.
    State reap();
    // Deferred: '1' or '0' as the first byte of auth_control_file gives the verdict (the reason file
    // read for a refusal); nullopt while it holds neither.
    std::optional<VerifyResult> poll_control();
    // The program did not exit in time: it is killed, and this is the refusal.
    VerifyResult kill_timed_out(unsigned timeout_s);
    const VerifyResult& result() const { return result_; }
    // The verdict files (for tests and the log).
    const std::string& control_file() const { return control_file_; }

private:
    friend class UserPassVerifier;
    VerifyRun() = default;
    void kill_and_reap();
    void finish(bool ok, std::string why);  // result_, the reason file read when refused, files removed
    void remove_files();

    std::string program_;
    pid_t pid_ = -1;
    int pidfd_ = -1;
    State state_ = State::running;
    std::string up_file_, reason_file_, control_file_;
    VerifyResult result_;
};

class UserPassVerifier {
public:
    explicit UserPassVerifier(VerifyOptions o) : o_(std::move(o)) {}
    // Starts the program for r; an error (no program, no temporary file) is a refusal's `why`.
    Result<VerifyRun> start(const VerifyRequest& r) const;
    const VerifyOptions& options() const { return o_; }

    // The environment start() gives the program (without the files' paths), for tests.
    std::vector<std::string> environment(const VerifyRequest& r) const;

private:
    VerifyOptions o_;
};

}  // namespace wirebridge::auth
