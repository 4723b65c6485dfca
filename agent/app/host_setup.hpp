// HostSetup: what the box's kernel needs for the appliance (modules, sysctls), set at start,
// said in the log, and given back on stop.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"

namespace wirebridge::app {

// One /proc/sys value the agent wants, and why (for the log).
struct SysctlSetting {
    std::string path;   // under /proc/sys, e.g. "net/ipv4/ip_forward"
    std::string value;  // what to write
    std::string why;
    bool operator==(const SysctlSetting&) const = default;
};

// The kernel modules the config needs (fastpath: br_netfilter and xt_GWMARK), in load order.
std::vector<std::string> wanted_modules(const config::Config& cfg);
// The sysctls the config needs (docs/INLINE.md): bridge-nf-call-ip(6)tables with the fast path,
// forwarding when the box routes selected traffic into the TAP, rp_filter off on the bridge and
// the TAP (replies from the remote site have sources the box has no route to).
std::vector<SysctlSetting> wanted_sysctls(const config::Config& cfg);

// Loads wanted_modules(cfg) that are not loaded yet (modprobe by absolute path). A missing
// xt_GWMARK with fastpath.require_module is an error naming the package; otherwise a module
// that cannot be loaded is a warning in the log. Returns what it did, for the log: "loaded
// kernel module xt_GWMARK". Also `wirebridge modules` (the unit's privileged ExecStartPre).
Result<std::vector<std::string>> load_modules(const config::Config& cfg, const std::string& proc_sys = "/proc/sys",
                                              const std::string& modprobe = "/usr/sbin/modprobe");

class HostSetup {
public:
    // `proc_sys` and `modprobe` are for tests. Loads modules first (a missing xt_GWMARK with
    // fastpath.require_module is an error naming the package), then sets what differs.
    Result<void> apply(const config::Config& cfg, const std::string& proc_sys = "/proc/sys",
                       const std::string& modprobe = "/usr/sbin/modprobe");
    // Writes back what apply() changed, last first. Idempotent.
    void restore();
    // What apply() did, for the log: "net/ipv4/ip_forward = 1 (was 0): ...".
    const std::vector<std::string>& notes() const { return notes_; }

private:
    struct Changed {
        std::string file, old_value;
    };
    std::vector<Changed> changed_;
    std::vector<std::string> notes_;
};

}  // namespace wirebridge::app
