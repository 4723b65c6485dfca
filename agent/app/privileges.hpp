// Dropping root after set-up: to the config's `user`, keeping only the capabilities the running daemon needs.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"

namespace wirebridge::app {

// What the daemon still needs once set-up is done, from <linux/capability.h>.
//   daemon (effective and permitted):
//     CAP_NET_ADMIN         bridge undo and routes over rtnetlink, TAP queues (re)attached,
//                           conntrack marks, NFQUEUE verdicts, SO_MARK (bridge.gateway)
//     CAP_NET_BIND_SERVICE  only when tunnel.local is a port below 1024 (sockets re-made on reload)
//   helpers (permitted and inheritable, not effective; ambient only while nl::run_tool spawns):
//     CAP_NET_ADMIN, CAP_NET_RAW  only with `interest:`: the iptables-restore that removes or
//                           rewrites the agent's rules (the legacy backend opens a raw socket)
// Nothing is ambient otherwise: a program the daemon runs (auth_user_pass_verify) gets none.
struct RuntimeCapabilities {
    std::vector<int> daemon;
    std::vector<int> helpers;
};
RuntimeCapabilities runtime_capabilities(const config::Config& cfg);

// Becomes `user` (its uid, primary gid and supplementary groups) for good, with exactly
// `keep_caps` effective, `keep_caps` + `helper_caps` permitted and as the bounding set,
// `helper_caps` inheritable and nothing ambient: a program the daemon execs gets no capability
// unless nl::run_tool raises the helper ones as ambient around its spawn (ambient needs them
// permitted and inheritable). Sets no_new_privs and leaves the process non-dumpable (no ptrace or
// core by the same user).
//
// Must be called while the process has one thread: capabilities are per thread, and a thread
// left with root's would undo the point. Refused (nothing changed) when the user is unknown, a
// capability is out of range or not held now, or there is more than one thread. After the
// change it checks the result, and that setuid(0) fails: if anything is off it returns an
// error and the process' credentials are then not to be trusted; the caller must exit.
//
// Raw capget/capset and prctl (<linux/capability.h>, <linux/prctl.h>), no libcap.
Result<void> drop_privileges(const std::string& user, std::span<const int> keep_caps,
                             std::span<const int> helper_caps = {});

// Gives `path` (the control socket's folder, the socket) to `user` and its primary group, so
// the daemon can still create and remove the socket after the drop. A symlink is refused.
Result<void> hand_over_path(const std::string& path, const std::string& user);

// One line for the log and status, e.g.
//   "uid=65534(nobody) gid=65534(nogroup) caps=cap_net_admin,cap_net_raw (CapEff=0000000000003000)"
std::string describe_credentials();

// "cap_net_admin" for CAP_NET_ADMIN; "cap_N" for a number this build has no name for.
std::string capability_name(int cap);

}  // namespace wirebridge::app
