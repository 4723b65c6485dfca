// HostSetup: modprobe by absolute path, /proc/sys values read, written and written back.
#include "app/host_setup.hpp"

#include <sys/stat.h>
#include <sys/utsname.h>

#include <fstream>
#include <sstream>

#include "common/log.hpp"
#include "nl/iptables_rules.hpp"

namespace wirebridge::app {

namespace {

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

Result<std::string> read_value(const std::string& file) {
    std::ifstream in(file);
    if (!in) return fail("cannot read " + file);
    std::string v;
    std::getline(in, v);
    return v;
}

Result<void> write_value(const std::string& file, const std::string& value) {
    std::ofstream out(file);
    out << value << "\n";
    out.flush();
    if (!out) return fail("cannot write " + value + " to " + file);
    return {};
}

std::string kernel_release() {
    utsname u{};
    return ::uname(&u) == 0 ? u.release : "this kernel";
}

}  // namespace

std::vector<std::string> wanted_modules(const config::Config& cfg) {
    if (!cfg.fastpath.enabled) return {};
    return {"br_netfilter", "xt_GWMARK"};
}

std::vector<SysctlSetting> wanted_sysctls(const config::Config& cfg) {
    std::vector<SysctlSetting> out;
    if (cfg.fastpath.enabled && cfg.bridge) {
        out.push_back({"net/bridge/bridge-nf-call-iptables", "1", "bridged IPv4 frames pass iptables (xt_GWMARK learns their MACs)"});
        out.push_back({"net/bridge/bridge-nf-call-ip6tables", "1", "bridged IPv6 frames pass ip6tables"});
    }
    // Selected traffic taken off the bridge is routed into the TAP by the box.
    if (cfg.interest || cfg.fastpath.enabled) {
        out.push_back({"net/ipv4/ip_forward", "1", "selected flows are routed into " + cfg.tunnel.device});
        out.push_back({"net/ipv6/conf/all/forwarding", "1", "selected IPv6 flows are routed into " + cfg.tunnel.device});
        // The box has no route to the remote site's sources nor, with rp_filter, would it accept
        // replies coming back out of the TAP; the LAN's side is the bridge.
        for (const std::string& dev : {cfg.bridge ? cfg.bridge->name : std::string(), cfg.tunnel.device})
            if (!dev.empty())
                out.push_back({"net/ipv4/conf/" + dev + "/rp_filter", "0", "the box has no routes to check sources against"});
    }
    // The box's own tunnel (bridge.gateway): the hub's packets come in on the bridge from an
    // address main has no route to; rp_filter (strict or loose) would drop them.
    if (cfg.bridge && cfg.bridge->gateway && !(cfg.interest || cfg.fastpath.enabled))
        out.push_back({"net/ipv4/conf/" + cfg.bridge->name + "/rp_filter", "0",
                       "the hub's replies come in from an address the main table has no route to"});
    return out;
}

Result<std::vector<std::string>> load_modules(const config::Config& cfg, const std::string& proc_sys,
                                              const std::string& modprobe) {
    std::vector<std::string> notes;
    for (const std::string& m : wanted_modules(cfg)) {
        // Loaded, or (br_netfilter) built in: then it has no /sys/module entry but its sysctls.
        // xt_GWMARK counts as loaded when its /proc files are there (a VM without sysfs).
        if (exists("/sys/module/" + m) || (m == "br_netfilter" && exists(proc_sys + "/net/bridge")) ||
            (m == "xt_GWMARK" && exists("/proc/net/gwmark/stats")))
            continue;
        // modprobe exits 0 for a module built into the kernel too.
        auto r = nl::run_tool({modprobe, m}, {});
        if (r) {
            notes.push_back("loaded kernel module " + m);
            continue;
        }
        const std::string why = r.error().message;
        if (m == "xt_GWMARK") {
            const std::string what = "the xt_GWMARK module could not be loaded for kernel " + kernel_release() + " (" + why +
                                     "): install dkms and linux-headers-" + kernel_release() +
                                     ", then reinstall the wirebridge package (DKMS builds xt_GWMARK)";
            if (cfg.fastpath.require_module)
                return fail(what + "; or set fastpath.require_module: false to run without the fast path");
            log_warn("fastpath: " + what + "; running without the fast path (fastpath.require_module: false)");
            continue;
        }
        if (cfg.fastpath.require_module) return fail("kernel module " + m + " could not be loaded: " + why);
        log_warn("kernel module " + m + " could not be loaded: " + why);
    }
    return notes;
}

Result<void> HostSetup::apply(const config::Config& cfg, const std::string& proc_sys, const std::string& modprobe) {
    auto loaded = load_modules(cfg, proc_sys, modprobe);
    if (!loaded) return fail(loaded.error());
    notes_.insert(notes_.end(), loaded->begin(), loaded->end());
    for (const SysctlSetting& s : wanted_sysctls(cfg)) {
        const std::string file = proc_sys + "/" + s.path;
        if (!exists(file)) {
            notes_.push_back(s.path + " does not exist here; not set (" + s.why + ")");
            continue;
        }
        auto old = read_value(file);
        if (!old) return fail(old.error());
        if (*old == s.value) continue;
        if (auto w = write_value(file, s.value); !w) {
            restore();
            return fail(w.error());
        }
        changed_.push_back({file, *old});
        notes_.push_back(s.path + " = " + s.value + " (was " + *old + "): " + s.why);
    }
    return {};
}

void HostSetup::restore() {
    for (auto it = changed_.rbegin(); it != changed_.rend(); ++it) {
        // A device that went away took its settings with it.
        if (!exists(it->file)) continue;
        if (auto r = write_value(it->file, it->old_value); !r) log_warn("host: " + r.error().message);
        else log_info("host: " + it->file + " set back to " + it->old_value);
    }
    changed_.clear();
}

}  // namespace wirebridge::app
