// auth-user-pass file and auth-user-pass-verify program.
#include "auth/user_pass.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

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

int64_t now_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

// Waits for pid at most timeout_ms; kills it after. Returns the wait status, or -1 on timeout.
int wait_bounded(pid_t pid, int64_t timeout_ms) {
    const int64_t end = now_ms() + timeout_ms;
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            if (pidfd >= 0) ::close(pidfd);
            return status;
        }
        if (r < 0 && errno != EINTR) break;
        const int64_t left = end - now_ms();
        if (left <= 0) break;
        if (pidfd >= 0) {
            pollfd p{pidfd, POLLIN, 0};
            ::poll(&p, 1, static_cast<int>(left));
        } else {
            ::usleep(static_cast<useconds_t>(std::min<int64_t>(left, 10) * 1000));
        }
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (pidfd >= 0) ::close(pidfd);
    return -1;
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

VerifyResult UserPassVerifier::verify(const VerifyRequest& r) const {
    VerifyResult res;
    if (o_.command.empty()) {
        res.why = "no command configured";
        return res;
    }
    std::vector<std::string> env = environment(r);
    std::vector<std::string> args = o_.command;
    std::string up_file, reason_file;
    int fd = -1;
    if (o_.via_file) {
        up_file = temp_file(o_.tmp_dir, "up", &fd);
        if (up_file.empty()) {
            res.why = "cannot create the via-file in " + o_.tmp_dir + ": " + std::strerror(errno);
            return res;
        }
        std::string content = r.username + "\n" + r.password + "\n";
        const bool ok = write_all(fd, content);
        wipe(content);
        ::close(fd);
        if (!ok) {
            ::unlink(up_file.c_str());
            res.why = "cannot write the via-file " + up_file;
            return res;
        }
        args.push_back(up_file);
    } else {
        env.push_back("password=" + r.password);
    }
    reason_file = temp_file(o_.tmp_dir, "reason", &fd);
    if (!reason_file.empty()) {
        ::close(fd);
        env.push_back("auth_failed_reason_file=" + reason_file);
    }

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
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    const int err = posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    for (auto& e : env)
        if (e.rfind("password=", 0) == 0) wipe(e);

    if (err != 0) {
        res.why = "cannot run " + o_.command[0] + ": " + std::strerror(err);
    } else {
        const int status = wait_bounded(pid, int64_t{o_.timeout_s} * 1000);
        if (status < 0) {
            res.why = o_.command[0] + " did not exit within " + std::to_string(o_.timeout_s) + " s (killed)";
        } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            res.ok = true;
        } else if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
            res.why = o_.command[0] + " exited with status 2 (deferred authentication, which wirebridge does not support)";
        } else if (WIFEXITED(status)) {
            res.why = o_.command[0] + " exited with status " + std::to_string(WEXITSTATUS(status));
        } else {
            res.why = o_.command[0] + " was killed by signal " + std::to_string(WTERMSIG(status));
        }
    }
    if (!up_file.empty()) ::unlink(up_file.c_str());
    if (!reason_file.empty()) {
        if (!res.ok) {
            std::ifstream in(reason_file);
            std::string line;
            if (in && std::getline(in, line)) {
                line = printable(line.substr(0, 200));
                res.client_reason = line;
            }
        }
        ::unlink(reason_file.c_str());
    }
    return res;
}

}  // namespace wirebridge::auth
