// auth-user-pass file and auth-user-pass-verify program.
#include "auth/user_pass.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

namespace wirebridge::auth {

namespace {

void wipe(std::string& s) {
    volatile char* p = s.data();
    for (size_t i = 0; i < s.size(); ++i) p[i] = 0;
    s.clear();
}

// What OpenVPN does to strings it puts in a script's environment: control characters become '_'.
std::string printable(std::string s) {
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '_';
    return s;
}

bool valid_env_name(const std::string& n) {
    if (n.empty() || n.size() > 64) return false;
    for (char c : n)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
    return true;
}

bool write_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
        const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        off += static_cast<size_t>(n);
    }
    return true;
}

// A private temporary file (0600) in dir; "" on failure.
std::string temp_file(const std::string& dir, const char* what, int* fd_out) {
    std::string path = dir + "/wirebridge-" + what + "-XXXXXX";
    const int fd = ::mkostemp(path.data(), O_CLOEXEC);
    if (fd < 0) return {};
    *fd_out = fd;
    return path;
}

// Reads the first line of a reason file (printable, at most 200 bytes); "" if none.
std::string reason_line(const std::string& path) {
    if (path.empty()) return {};
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line)) return {};
    return printable(line.substr(0, 200));
}

}  // namespace

UserPass::~UserPass() { wipe(password); }
VerifyRequest::~VerifyRequest() { wipe(password); }

Result<UserPass> read_user_pass_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) return fail("tunnel.auth_user_pass: cannot read '" + path + "': " + std::strerror(errno), EACCES);
    UserPass up;
    std::getline(in, up.username);
    std::getline(in, up.password);
    for (std::string* s : {&up.username, &up.password})
        if (!s->empty() && s->back() == '\r') s->pop_back();
    if (up.username.empty())
        return fail("tunnel.auth_user_pass: '" + path + "' has no username on its first line", EINVAL);
    if (up.password.empty())
        return fail("tunnel.auth_user_pass: '" + path + "' has no password on its second line (wirebridge never prompts)", EINVAL);
    // OpenVPN's USER_PASS_LEN is 128 (and 2.6 sends at most that).
    if (up.username.size() > 127 || up.password.size() > 127)
        return fail("tunnel.auth_user_pass: '" + path + "': username and password must be at most 127 bytes each", EINVAL);
    return up;
}

std::vector<std::string> UserPassVerifier::environment(const VerifyRequest& r) const {
    std::vector<std::string> env;
    env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    env.push_back("script_type=user-pass-verify");
    env.push_back("username=" + printable(r.username));
    env.push_back("common_name=" + printable(r.common_name));
    env.push_back(std::string(r.ipv6 ? "untrusted_ip6=" : "untrusted_ip=") + r.untrusted_ip);
    env.push_back("untrusted_port=" + std::to_string(r.untrusted_port));
    // The client's IV_/UV_ peer-info variables, as OpenVPN exports them to scripts.
    std::istringstream lines(r.peer_info);
    for (std::string line; std::getline(lines, line);) {
        const size_t eq = line.find('=');
        if (eq == std::string::npos) continue;
        const std::string name = line.substr(0, eq);
        if ((name.rfind("IV_", 0) == 0 || name.rfind("UV_", 0) == 0) && valid_env_name(name))
            env.push_back(name + "=" + printable(line.substr(eq + 1)));
    }
    return env;
}

VerifyRun::VerifyRun(VerifyRun&& o) noexcept
    : program_(std::move(o.program_)),
      pid_(std::exchange(o.pid_, -1)),
      pidfd_(std::exchange(o.pidfd_, -1)),
      state_(o.state_),
      up_file_(std::move(o.up_file_)),
      reason_file_(std::move(o.reason_file_)),
      control_file_(std::move(o.control_file_)),
      result_(std::move(o.result_)) {
    o.up_file_.clear();
    o.reason_file_.clear();
    o.control_file_.clear();
}

VerifyRun::~VerifyRun() {
    kill_and_reap();
    remove_files();
    if (pidfd_ >= 0) ::close(pidfd_);
}

void VerifyRun::kill_and_reap() {
    if (pid_ > 0) {
        // SIGKILL cannot be caught: waiting for it is short (the program is our child). Its
        // process group goes too: what a shell script started (a sleep, a curl) dies with it.
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }
}

void VerifyRun::remove_files() {
    for (std::string* f : {&up_file_, &reason_file_, &control_file_}) {
        if (!f->empty()) ::unlink(f->c_str());
        f->clear();
    }
}

void VerifyRun::finish(bool ok, std::string why) {
    state_ = State::done;
    result_.ok = ok;
    result_.why = std::move(why);
    if (!ok) result_.client_reason = reason_line(reason_file_);
    remove_files();
}

VerifyRun::State VerifyRun::reap() {
    if (state_ != State::running) return state_;
    int status = 0;
    pid_t r;
    while ((r = ::waitpid(pid_, &status, WNOHANG)) < 0 && errno == EINTR) {
    }
    if (r == 0) return State::running;
    pid_ = -1;
    if (r < 0) {
        finish(false, program_ + ": cannot wait for it: " + std::strerror(errno));
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        finish(true, {});
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
        // Deferred: the via-file goes now (as OpenVPN), the control and reason files stay.
        state_ = State::deferred;
        if (!up_file_.empty()) ::unlink(up_file_.c_str());
        up_file_.clear();
        return poll_control() ? State::done : State::deferred;
    } else if (WIFEXITED(status)) {
        finish(false, program_ + " exited with status " + std::to_string(WEXITSTATUS(status)));
    } else {
        finish(false, program_ + " was killed by signal " + std::to_string(WTERMSIG(status)));
    }
    return state_;
}

std::optional<VerifyResult> VerifyRun::poll_control() {
    if (state_ == State::done) return result_;
    if (state_ != State::deferred) return std::nullopt;
    const int fd = ::open(control_file_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return std::nullopt;
    char c = 0;
    const ssize_t n = ::read(fd, &c, 1);
    ::close(fd);
    // As OpenVPN's key_state_test_auth_control_file: the first byte, '1' or '0'; anything else waits.
    if (n != 1 || (c != '1' && c != '0')) return std::nullopt;
    finish(c == '1', c == '1' ? std::string() : program_ + " deferred, then wrote 0 (refused) into auth_control_file");
    return result_;
}

VerifyResult VerifyRun::kill_timed_out(unsigned timeout_s) {
    kill_and_reap();
    finish(false, program_ + " did not exit within " + std::to_string(timeout_s) + " s (killed)");
    return result_;
}

Result<VerifyRun> UserPassVerifier::start(const VerifyRequest& r) const {
    if (o_.command.empty()) return fail("no command configured");
    VerifyRun run;
    run.program_ = o_.command[0];
    std::vector<std::string> env = environment(r);
    std::vector<std::string> args = o_.command;
    int fd = -1;
    if (o_.via_file) {
        run.up_file_ = temp_file(o_.tmp_dir, "up", &fd);
        if (run.up_file_.empty()) return fail("cannot create the via-file in " + o_.tmp_dir + ": " + std::strerror(errno));
        std::string content = r.username + "\n" + r.password + "\n";
        const bool ok = write_all(fd, content);
        wipe(content);
        ::close(fd);
        if (!ok) return fail("cannot write the via-file " + run.up_file_);
        args.push_back(run.up_file_);
    } else {
        env.push_back("password=" + r.password);
    }
    // As OpenVPN's key_state_gen_auth_control_files: both made (empty) before the program runs.
    run.reason_file_ = temp_file(o_.tmp_dir, "reason", &fd);
    if (run.reason_file_.empty()) return fail("cannot create auth_failed_reason_file in " + o_.tmp_dir + ": " + std::strerror(errno));
    ::close(fd);
    run.control_file_ = temp_file(o_.tmp_dir, "acf", &fd);
    if (run.control_file_.empty()) return fail("cannot create auth_control_file in " + o_.tmp_dir + ": " + std::strerror(errno));
    ::close(fd);
    env.push_back("auth_failed_reason_file=" + run.reason_file_);
    env.push_back("auth_control_file=" + run.control_file_);

    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);      // the agent blocks signals for its signalfd
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);            // its own process group, killed whole at the timeout
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    pid_t pid = -1;
    const int err = posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    for (auto& e : env)
        if (e.rfind("password=", 0) == 0) wipe(e);
    if (err != 0) return fail("cannot run " + o_.command[0] + ": " + std::strerror(err), err);
    run.pid_ = pid;
    run.pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (run.pidfd_ >= 0) ::fcntl(run.pidfd_, F_SETFD, FD_CLOEXEC);
    return run;
}

}  // namespace wirebridge::auth
