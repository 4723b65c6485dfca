// IptablesRules: ruleset text from a plan, and iptables-save/-restore run directly (no shell).
#include "nl/iptables_rules.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cstdint>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <functional>
#include <sstream>

extern char** environ;

namespace wirebridge::nl {

namespace {

// xt chain names hold at most 28 characters.
constexpr size_t kChainMax = 28;
const std::string kOutSuffix = "-OUT";

std::string hex(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "0x%x", v);
    return buf;
}

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        out.push_back(line);
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    return out;
}

bool ends_with(std::string_view s, std::string_view tail) {
    return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

// "-A X ... -j CHAIN": a rule of someone's chain that jumps into one of ours.
bool jumps_to(std::string_view line, const std::string& chain) {
    return line.rfind("-A ", 0) == 0 && ends_with(line, " -j " + chain);
}

bool declares(std::string_view saved, const std::string& chain) {
    for (std::string_view line : lines_of(saved))
        if (line.rfind(":" + chain + " ", 0) == 0) return true;
    return false;
}

// Deletions of every jump into chain (restore's -D takes the rule text as save prints it).
void delete_jumps(std::ostringstream& o, std::string_view saved, const std::string& chain) {
    for (std::string_view line : lines_of(saved))
        if (jumps_to(line, chain)) o << "-D " << line.substr(3) << "\n";
}

std::string match_text(const TrafficSelector& s) {
    std::string out;
    if (s.src) out += " -s " + s.src->to_string();
    if (s.dst) out += " -d " + s.dst->to_string();
    switch (s.proto) {
    case L4Proto::tcp: out += " -p tcp"; break;
    case L4Proto::udp: out += " -p udp"; break;
    case L4Proto::icmp: out += " -p icmp"; break;
    case L4Proto::icmpv6: out += " -p ipv6-icmp"; break;
    case L4Proto::any: break;
    }
    if (s.sport) out += " --sport " + std::to_string(*s.sport);
    if (s.dport) out += " --dport " + std::to_string(*s.dport);
    return out;
}

bool needs_out_chain(const RulesetPlan& p) { return p.orig_mark.has_value(); }

// A tool that exits before reading its input must not kill us with SIGPIPE: block it for
// the write and take away the one the write raised (unless one was pending already).
ssize_t write_no_sigpipe(int fd, const char* data, size_t len) {
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t w = ::write(fd, data, len);
    const int err = errno;
    if (w < 0 && err == EPIPE && !was_pending) {
        const timespec zero{0, 0};
        sigtimedwait(&pipe_set, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = err;
    return w;
}

}  // namespace

std::string chain_for_site(const std::string& site) {
    std::string clean;
    for (char c : site.empty() ? std::string("site") : site)
        clean += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
    std::string chain = "WB-" + clean;
    const size_t room = kChainMax - kOutSuffix.size();
    if (chain.size() > room) {
        // FNV-1a of the whole name keeps cut names of different sites apart.
        uint32_t h = 2166136261u;
        for (unsigned char c : site) h = (h ^ c) * 16777619u;
        char tag[8];
        std::snprintf(tag, sizeof(tag), "%04x", h & 0xffff);
        chain = chain.substr(0, room - 5) + "-" + tag;
    }
    return chain;
}

Result<void> validate_plan(const RulesetPlan& p) {
    const DecisionMarks& m = p.marks;
    if (p.chain.empty() || p.chain.size() + kOutSuffix.size() > kChainMax)
        return fail("chain name '" + p.chain + "' is empty or too long for iptables");
    if (p.queues == 0 || p.queue + p.queues - 1 > 65535)
        return fail("queues " + std::to_string(p.queue) + " + " + std::to_string(p.queues) + " do not fit in 0-65535");
    if (m.mask == 0 || (m.tunnel & ~m.mask) || (m.bypass & ~m.mask) || m.tunnel == 0 ||
        m.bypass == 0 || m.tunnel == m.bypass)
        return fail("decision marks must be two different non-zero values inside their mask");
    auto check = [&m](const char* what, std::optional<uint32_t> v) -> Result<void> {
        if (v && (*v == 0 || (*v & m.mask)))
            return fail(std::string("fastpath.") + what + " " + hex(*v) + " must be non-zero and keep clear of the bits " +
                        hex(m.mask) + " that hold the agent's flow decisions");
        return {};
    };
    if (auto r = check("reply_mark", p.reply_mark); !r) return r;
    if (auto r = check("orig_mark", p.orig_mark); !r) return r;
    for (char c : p.tunnel_device)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
            return fail("tunnel device name '" + p.tunnel_device + "' cannot go into a rule");
    return {};
}

bool has_chains(const std::string& chain, std::string_view saved) {
    return declares(saved, chain) || declares(saved, chain + kOutSuffix);
}

std::string install_text(const RulesetPlan& p, int family, std::string_view saved) {
    const std::string c = p.chain, out = p.chain + kOutSuffix;
    const std::string mask = hex(p.marks.mask), keep = hex(~p.marks.mask);
    std::ostringstream o;
    o << "*mangle\n";
    // Declaring a chain that exists flushes it (--noflush mode): a stale run's rules go.
    o << ":" << c << " - [0:0]\n";
    if (needs_out_chain(p)) o << ":" << out << " - [0:0]\n";
    delete_jumps(o, saved, c);
    delete_jumps(o, saved, out);
    if (!needs_out_chain(p) && declares(saved, out)) o << "-F " << out << "\n-X " << out << "\n";
    o << "-I PREROUTING 1 -j " << c << "\n";
    if (needs_out_chain(p)) o << "-I OUTPUT 1 -j " << out << "\n";

    // Traffic out of the tunnel: replies get the fast-path mark, nothing of it is queued.
    if (!p.tunnel_device.empty()) {
        const std::string in = (p.tunnel_bridged ? " -m physdev --physdev-in " : " -i ") + p.tunnel_device;
        if (p.reply_mark) o << "-A " << c << in << " -j GWMARK --reply-mark " << hex(*p.reply_mark) << "/" << keep << "\n";
        o << "-A " << c << in << " -j RETURN\n";
    }
    // A repeated packet carries a fresh decision: keep it on the connection. Then every packet
    // takes its connection's decision, and decided connections are done in the kernel.
    o << "-A " << c << " -m mark ! --mark 0x0/" << mask << " -j CONNMARK --save-mark --nfmask " << mask
      << " --ctmask " << mask << "\n";
    o << "-A " << c << " -j CONNMARK --restore-mark --nfmask " << mask << " --ctmask " << mask << "\n";
    o << "-A " << c << " -m mark ! --mark 0x0/" << mask << " -j RETURN\n";
    // Bypass selectors decide in the kernel: the packet takes the bypass bits, which go to its
    // connection like an answered decision, and it leaves before any queue rule.
    bool any_bypass = false;
    for (const TrafficSelector& s : p.bypass_selectors) {
        if (!s.applies_to(family)) continue;
        o << "-A " << c << match_text(s) << " -j MARK --set-xmark " << hex(p.marks.bypass) << "/" << mask << "\n";
        any_bypass = true;
    }
    if (any_bypass) {
        o << "-A " << c << " -m mark ! --mark 0x0/" << mask << " -j CONNMARK --save-mark --nfmask " << mask
          << " --ctmask " << mask << "\n";
        o << "-A " << c << " -m mark ! --mark 0x0/" << mask << " -j RETURN\n";
    }
    // One queue, or several the kernel balances flows over (a flow always to the same one);
    // --queue-cpu-fanout picks by the CPU that took the packet, which keeps a CPU's flows
    // on one queue.
    const std::string target =
        p.queues > 1 ? " -j NFQUEUE --queue-balance " + std::to_string(p.queue) + ":" +
                           std::to_string(p.queue + p.queues - 1) + " --queue-cpu-fanout"
                     : " -j NFQUEUE --queue-num " + std::to_string(p.queue);
    for (const TrafficSelector& s : p.queue_selectors) {
        if (!s.applies_to(family)) continue;
        o << "-A " << c << match_text(s) << " -m conntrack --ctstate NEW" << target << (p.fail_open ? " --queue-bypass" : "")
          << "\n";
    }
    // Only packets of connections that carry a decision of ours: the box's own traffic (the
    // tunnel's packets to the hub, the control socket, DNS) is left alone, so it is neither
    // re-marked nor re-routed by mangle OUTPUT, nor counted by the module as a fast-path miss.
    if (p.orig_mark)
        o << "-A " << out << " -m connmark ! --mark 0x0/" << mask << " -j GWMARK --orig-mark " << hex(*p.orig_mark) << "/"
          << keep << "\n";
    o << "COMMIT\n";
    return o.str();
}

std::string remove_text(const std::string& chain, std::string_view saved) {
    std::ostringstream o;
    for (const std::string& c : {chain, chain + kOutSuffix}) {
        delete_jumps(o, saved, c);
        if (declares(saved, c)) o << "-F " << c << "\n-X " << c << "\n";
    }
    const std::string body = o.str();
    return body.empty() ? std::string() : "*mangle\n" + body + "COMMIT\n";
}

std::string resolve_tool(const std::string& name) {
    if (name.find('/') != std::string::npos) return name;
    for (const char* dir : kToolDirs) {
        std::string path = std::string(dir) + "/" + name;
        if (access(path.c_str(), X_OK) == 0) return path;
    }
    return {};
}

namespace {

// After the privilege drop (app::drop_privileges) the tool's capabilities are permitted and
// inheritable but not ambient, so nothing else the agent runs gets them: ambient only for this
// thread's spawn, cleared right after (posix_spawn's child takes the calling thread's credentials).
// As root, or with nothing inheritable, nothing is raised: root's exec gets its own.
class AmbientForSpawn {
public:
    AmbientForSpawn() {
        __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
        std::array<__user_cap_data_struct, _LINUX_CAPABILITY_U32S_3> data{};
        if (syscall(SYS_capget, &hdr, data.data()) != 0) return;
        for (int c = 0; c < 64; ++c) {
            const auto& d = data[static_cast<std::size_t>(c / 32)];
            const std::uint32_t bit = 1u << (c % 32);
            if ((d.inheritable & bit) && (d.permitted & bit) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) == 0)
                raised_ = true;
        }
    }
    ~AmbientForSpawn() {
        if (raised_) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    }
    AmbientForSpawn(const AmbientForSpawn&) = delete;
    AmbientForSpawn& operator=(const AmbientForSpawn&) = delete;

private:
    bool raised_ = false;
};

}  // namespace

Result<std::string> run_tool(const std::vector<std::string>& argv, std::string_view input, int timeout_ms) {
    if (argv.empty()) return fail("run_tool: no program");
    // Never through PATH: the agent runs as root, and a directory earlier in an inherited PATH
    // would choose what it runs with CAP_NET_ADMIN.
    const std::string program = resolve_tool(argv[0]);
    if (program.empty())
        return fail("cannot run " + argv[0] + ": not found in /usr/sbin, /usr/bin, /sbin or /bin", ENOENT);
    int in_pipe[2], out_pipe[2];
    if (pipe2(in_pipe, O_CLOEXEC) < 0) return fail_errno("pipe");
    if (pipe2(out_pipe, O_CLOEXEC) < 0) {
        ::close(in_pipe[0]);
        ::close(in_pipe[1]);
        return fail_errno("pipe");
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    int err = 0;
    {
        const AmbientForSpawn ambient;
        err = posix_spawn(&pid, program.c_str(), &fa, nullptr, args.data(), environ);
    }
    posix_spawn_file_actions_destroy(&fa);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    if (err != 0) {
        ::close(in_pipe[1]);
        ::close(out_pipe[0]);
        return fail_errno("cannot run " + argv[0], err);
    }
    int in_fd = in_pipe[1], out_fd = out_pipe[0];
    fcntl(in_fd, F_SETFL, O_NONBLOCK);
    if (input.empty()) {
        ::close(in_fd);
        in_fd = -1;
    }
    std::string output;
    size_t written = 0;
    bool timed_out = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (out_fd >= 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        pollfd fds[2] = {{out_fd, POLLIN, 0}, {in_fd, POLLOUT, 0}};
        int n = poll(fds, in_fd >= 0 ? 2 : 1, static_cast<int>(left.count()));
        if (n < 0 && errno != EINTR) break;
        if (in_fd >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = write_no_sigpipe(in_fd, input.data() + written, input.size() - written);
            if (w > 0) written += static_cast<size_t>(w);
            if (w < 0 && errno != EAGAIN) written = input.size();  // EPIPE: it stopped reading
            if (written == input.size()) {
                ::close(in_fd);
                in_fd = -1;
            }
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            char buf[4096];
            ssize_t r = ::read(out_fd, buf, sizeof(buf));
            if (r > 0) {
                output.append(buf, static_cast<size_t>(r));
            } else if (r == 0 || errno != EINTR) {
                ::close(out_fd);
                out_fd = -1;
            }
        }
    }
    if (in_fd >= 0) ::close(in_fd);
    if (out_fd >= 0) ::close(out_fd);
    if (timed_out) kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) return fail(argv[0] + " did not finish within " + std::to_string(timeout_ms) + " ms", ETIMEDOUT);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::string why = WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status)) : "killed by a signal";
        std::string first;
        for (std::string_view line : lines_of(output))
            if (!line.empty() && line.rfind("Try `", 0) != 0) first += (first.empty() ? "" : "; ") + std::string(line);
        return fail(argv[0] + " failed (" + why + ")" + (first.empty() ? "" : ": " + first), EIO);
    }
    return output;
}

IptablesRules::~IptablesRules() {
    if (installed()) (void)remove();
}

Result<std::string> IptablesRules::save(int family) {
    const std::string& tool = family == AF_INET ? tools_.save4 : tools_.save6;
    return run_tool({tool, "-t", "mangle"}, {});
}

Result<void> IptablesRules::restore(int family, const std::string& text) {
    if (text.empty()) return {};
    const std::string& tool = family == AF_INET ? tools_.restore4 : tools_.restore6;
    auto r = run_tool({tool, "--noflush", "--wait=10"}, text);
    if (!r) return fail(r.error());
    return {};
}

Result<void> IptablesRules::apply(const RulesetPlan& plan) {
    if (auto r = validate_plan(plan); !r) return r;
    if (installed() && chain_ != plan.chain)
        if (auto r = remove(); !r) return r;
    replaced_stale_ = false;
    std::vector<int> done;
    for (int family : {AF_INET, AF_INET6}) {
        const char* name = family == AF_INET ? "IPv4" : "IPv6";
        auto saved = save(family);
        Result<void> r;
        if (!saved) {
            r = fail(saved.error());
        } else {
            if (!installed() && has_chains(plan.chain, *saved)) replaced_stale_ = true;
            r = restore(family, install_text(plan, family, *saved));
        }
        if (!r) {
            // Half-way: take out what this call put in, so nothing of ours is left behind.
            for (int f : done)
                if (auto s = save(f)) (void)restore(f, remove_text(plan.chain, *s));
            chain_.clear();
            return fail(std::string(name) + " rules: " + r.error().message, r.error().code);
        }
        done.push_back(family);
    }
    chain_ = plan.chain;
    return {};
}

Result<void> IptablesRules::remove() {
    if (!installed()) return {};
    Result<void> result;
    for (int family : {AF_INET, AF_INET6}) {
        auto saved = save(family);
        Result<void> r = saved ? restore(family, remove_text(chain_, *saved)) : Result<void>(fail(saved.error()));
        if (!r && result) result = fail(std::string(family == AF_INET ? "IPv4" : "IPv6") + " rule removal: " + r.error().message);
    }
    chain_.clear();
    return result;
}

Result<bool> IptablesRules::remove_stale(const std::string& chain) {
    bool found = false;
    for (int family : {AF_INET, AF_INET6}) {
        auto saved = save(family);
        if (!saved) return fail(saved.error());
        if (!has_chains(chain, *saved)) continue;
        found = true;
        if (auto r = restore(family, remove_text(chain, *saved)); !r) return fail(r.error());
    }
    return found;
}

}  // namespace wirebridge::nl
