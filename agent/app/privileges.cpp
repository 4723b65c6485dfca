// Privilege drop: setgroups/setresgid/setresuid with capabilities kept through raw capget/capset and prctl.
#include "app/privileges.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>

namespace wirebridge::app {

namespace {

constexpr std::array<const char*, 41> cap_names{
    "cap_chown",           "cap_dac_override",   "cap_dac_read_search", "cap_fowner",
    "cap_fsetid",          "cap_kill",           "cap_setgid",          "cap_setuid",
    "cap_setpcap",         "cap_linux_immutable", "cap_net_bind_service", "cap_net_broadcast",
    "cap_net_admin",       "cap_net_raw",        "cap_ipc_lock",        "cap_ipc_owner",
    "cap_sys_module",      "cap_sys_rawio",      "cap_sys_chroot",      "cap_sys_ptrace",
    "cap_sys_pacct",       "cap_sys_admin",      "cap_sys_boot",        "cap_sys_nice",
    "cap_sys_resource",    "cap_sys_time",       "cap_sys_tty_config",  "cap_mknod",
    "cap_lease",           "cap_audit_write",    "cap_audit_control",   "cap_setfcap",
    "cap_mac_override",    "cap_mac_admin",      "cap_syslog",          "cap_wake_alarm",
    "cap_block_suspend",   "cap_audit_read",     "cap_perfmon",         "cap_bpf",
    "cap_checkpoint_restore"};

struct Account {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;  // supplementary, the primary group included
};

Result<Account> lookup_user(const std::string& user) {
    if (user.empty()) return fail("user: the user name is empty");
    long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buf(hint > 0 ? static_cast<std::size_t>(hint) : 4096);
    passwd pw{};
    passwd* found = nullptr;
    for (;;) {
        int rc = getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
        if (rc == ERANGE && buf.size() < (1u << 20)) {
            buf.resize(buf.size() * 2);
            continue;
        }
        if (rc != 0) return fail_errno("user '" + user + "': cannot look it up", rc);
        break;
    }
    if (!found) return fail("user '" + user + "': no such user (see /etc/passwd)", ENOENT);
    Account a{user, pw.pw_uid, pw.pw_gid, {}};
    int n = 16;
    for (int tries = 0; tries < 8; ++tries) {
        a.groups.resize(static_cast<std::size_t>(n));
        int want = n;
        if (getgrouplist(user.c_str(), a.gid, a.groups.data(), &want) >= 0) {
            a.groups.resize(static_cast<std::size_t>(want));
            return a;
        }
        n = want > n ? want : n * 2;
    }
    return fail("user '" + user + "': cannot list its groups");
}

// The highest capability number the running kernel knows (cap_last_cap): PR_CAPBSET_READ
// answers EINVAL past it.
int last_cap() {
    static const int last = [] {
        int c = 0;
        while (c < 63 && prctl(PR_CAPBSET_READ, c + 1, 0, 0, 0) >= 0) ++c;
        return c;
    }();
    return last;
}

struct CapSets {
    std::uint64_t effective = 0;
    std::uint64_t permitted = 0;
    std::uint64_t inheritable = 0;
};

Result<CapSets> get_caps() {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    std::array<__user_cap_data_struct, _LINUX_CAPABILITY_U32S_3> data{};
    if (syscall(SYS_capget, &hdr, data.data()) != 0) return fail_errno("capget");
    auto join = [](std::uint32_t lo, std::uint32_t hi) { return std::uint64_t{lo} | (std::uint64_t{hi} << 32); };
    return CapSets{join(data[0].effective, data[1].effective), join(data[0].permitted, data[1].permitted),
                   join(data[0].inheritable, data[1].inheritable)};
}

Result<void> set_caps(const CapSets& s) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    std::array<__user_cap_data_struct, _LINUX_CAPABILITY_U32S_3> data{};
    data[0] = {static_cast<std::uint32_t>(s.effective), static_cast<std::uint32_t>(s.permitted),
               static_cast<std::uint32_t>(s.inheritable)};
    data[1] = {static_cast<std::uint32_t>(s.effective >> 32), static_cast<std::uint32_t>(s.permitted >> 32),
               static_cast<std::uint32_t>(s.inheritable >> 32)};
    if (syscall(SYS_capset, &hdr, data.data()) != 0) return fail_errno("capset");
    return {};
}

std::string cap_list(std::uint64_t mask) {
    if (mask == 0) return "none";
    const int last = last_cap();
    const std::uint64_t all = last >= 63 ? ~std::uint64_t{0} : (std::uint64_t{1} << (last + 1)) - 1;
    if ((mask & all) == all) return "all";
    std::string out;
    for (int c = 0; c < 64; ++c) {
        if (!(mask & (std::uint64_t{1} << c))) continue;
        if (!out.empty()) out += ',';
        out += capability_name(c);
    }
    return out;
}

// Threads of this process, from /proc/self/status (0 when it cannot be read).
int thread_count() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
    return 0;
}

std::string user_name(uid_t uid) {
    long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buf(hint > 0 ? static_cast<std::size_t>(hint) : 4096);
    passwd pw{};
    passwd* found = nullptr;
    if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found) return pw.pw_name;
    return "?";
}

std::string group_name(gid_t gid) {
    long hint = sysconf(_SC_GETGR_R_SIZE_MAX);
    std::vector<char> buf(hint > 0 ? static_cast<std::size_t>(hint) : 4096);
    group gr{};
    group* found = nullptr;
    if (getgrgid_r(gid, &gr, buf.data(), buf.size(), &found) == 0 && found) return gr.gr_name;
    return "?";
}

}  // namespace

std::string capability_name(int cap) {
    if (cap >= 0 && static_cast<std::size_t>(cap) < cap_names.size()) return cap_names[static_cast<std::size_t>(cap)];
    return "cap_" + std::to_string(cap);
}

RuntimeCapabilities runtime_capabilities(const config::Config& cfg) {
    RuntimeCapabilities caps;
    caps.daemon = {CAP_NET_ADMIN};
    if (cfg.tunnel.local && cfg.tunnel.local->port != 0 && cfg.tunnel.local->port < 1024)
        caps.daemon.push_back(CAP_NET_BIND_SERVICE);
    if (cfg.interest) caps.helpers = {CAP_NET_ADMIN, CAP_NET_RAW};  // iptables-restore (nl::run_tool)
    return caps;
}

Result<void> drop_privileges(const std::string& user, std::span<const int> keep_caps, std::span<const int> helper_caps) {
    // Everything that can be refused is refused before the first change.
    const int last = last_cap();
    std::uint64_t keep = 0, helpers = 0;
    for (auto [list, mask] : {std::pair{keep_caps, &keep}, std::pair{helper_caps, &helpers}}) {
        for (int c : list) {
            if (c < 0 || c > last)
                return fail("cannot keep capability " + std::to_string(c) + ": this kernel's highest is " +
                            std::to_string(last), EINVAL);
            *mask |= std::uint64_t{1} << c;
        }
    }
    const std::uint64_t held = keep | helpers;
    const int threads = thread_count();
    if (threads != 1)
        return fail("privileges must be dropped while the process has one thread (it has " +
                    std::to_string(threads) + "): capabilities are per thread");
    auto account = lookup_user(user);
    if (!account) return fail(account.error());
    auto now = get_caps();
    if (!now) return fail(now.error());
    if (std::uint64_t missing = held & ~now->permitted)
        return fail("cannot keep " + cap_list(missing) + ": the process does not hold it now (started without "
                    "root or with a smaller CapabilityBoundingSet?)", EPERM);

    // Bounding set first, while CAP_SETPCAP is still effective: nothing exec'd later can regain
    // what is dropped here, even through a file capability or a setuid binary.
    for (int c = 0; c <= last; ++c) {
        if (held & (std::uint64_t{1} << c)) continue;
        if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 1) continue;
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0)
            return fail_errno("cannot drop " + capability_name(c) + " from the bounding set");
    }
    // Without KEEPCAPS the kernel clears the permitted set when the last uid 0 goes away.
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return fail_errno("prctl(PR_SET_KEEPCAPS)");
    if (setgroups(account->groups.size(), account->groups.data()) != 0)
        return fail_errno("setgroups for user '" + user + "'");
    if (setresgid(account->gid, account->gid, account->gid) != 0)
        return fail_errno("setresgid(" + std::to_string(account->gid) + ")");
    if (setresuid(account->uid, account->uid, account->uid) != 0)
        return fail_errno("setresuid(" + std::to_string(account->uid) + ")");
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return fail_errno("prctl(PR_SET_KEEPCAPS, 0)");

    // The helpers' capabilities inheritable (not effective): the kernel only lets a capability be
    // ambient when it is permitted and inheritable, and only ambient ones survive execve() for a
    // non-root program; nl::run_tool raises them just around its spawn. Nothing ambient now.
    if (auto r = set_caps({keep, held, helpers}); !r) return r;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) return fail_errno("prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return fail_errno("prctl(PR_SET_NO_NEW_PRIVS)");
    // The uid change already did this (fs.suid_dumpable); said again so it does not depend on it.
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return fail_errno("prctl(PR_SET_DUMPABLE)");

    // Trust, but verify: the sets are what was asked, and root cannot be had back.
    uid_t ru = 0, eu = 0, su = 0;
    gid_t rg = 0, eg = 0, sg = 0;
    if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0) return fail_errno("getresuid");
    if (ru != account->uid || eu != account->uid || su != account->uid || rg != account->gid ||
        eg != account->gid || sg != account->gid)
        return fail("after the drop the process is not uid/gid " + std::to_string(account->uid) + "/" +
                    std::to_string(account->gid) + " everywhere");
    auto after = get_caps();
    if (!after) return fail(after.error());
    if (after->effective != keep || after->permitted != held || after->inheritable != helpers)
        return fail("after the drop the capabilities are " + cap_list(after->effective) + " (permitted " +
                    cap_list(after->permitted) + "), not " + cap_list(keep) + " (permitted " + cap_list(held) + ")");
    if (setuid(0) == 0) {
        return fail(account->uid == 0 ? "user '" + user + "' is root (uid 0): that is no privilege drop"
                                      : "after dropping to '" + user + "' setuid(0) still succeeds (kept " +
                                            cap_list(held) + ")",
                    EPERM);
    }
    return {};
}

Result<void> hand_over_path(const std::string& path, const std::string& user) {
    auto account = lookup_user(user);
    if (!account) return fail(account.error());
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) return fail_errno("cannot hand " + path + " over to '" + user + "'");
    if (S_ISLNK(st.st_mode))
        return fail("will not hand " + path + " over to '" + user + "': it is a symbolic link", ELOOP);
    if (lchown(path.c_str(), account->uid, account->gid) != 0)
        return fail_errno("cannot hand " + path + " over to '" + user + "'");
    return {};
}

std::string describe_credentials() {
    uid_t ru = 0, eu = 0, su = 0;
    gid_t rg = 0, eg = 0, sg = 0;
    getresuid(&ru, &eu, &su);
    getresgid(&rg, &eg, &sg);
    std::string out = "uid=" + std::to_string(eu) + "(" + user_name(eu) + ") gid=" + std::to_string(eg) + "(" +
                      group_name(eg) + ")";
    auto caps = get_caps();
    if (!caps) return out + " caps=? (" + caps.error().message + ")";
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(caps->effective));
    out += " caps=" + cap_list(caps->effective) + " (CapEff=" + hex + ")";
    if (caps->inheritable) out += " helpers=" + cap_list(caps->inheritable & caps->permitted);
    return out;
}

}  // namespace wirebridge::app
