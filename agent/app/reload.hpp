// Reload planning: what a new configuration (SIGHUP) changes and how a running runner can take it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"
#include "datapath/l2_switch.hpp"

namespace wirebridge::app {

// What changes between the running configuration and the next one, sorted by how it applies.
struct ReloadPlan {
    // Keys that cannot change while running ("tunnel.proto (udp -> tcp)"). Any of them: the whole
    // reload is refused and the running configuration stays in force.
    std::vector<std::string> refused;
    // Every key that changes, with old -> new, for the summary.
    std::vector<std::string> changed;
    bool log_level = false;  // applies at once
    bool site = false;       // applies at once (status)
    bool switch_settings = false;  // server: the virtual switch, at once, nobody is dropped
    bool duplicate_cn = false;     // server: for clients that connect from now on; nobody is dropped
    bool session = false;    // anything a session is built from (TLS files included): server: new
                             // clients; client: the next connection
    bool keepalive = false;  // client: applies to the running session too
    bool reneg = false;      // client: from the next connection
    bool reconnect = false;  // client: remote/proto/local/buffers/TLS files/ciphers: reconnect with them
    bool routeless = false;  // interest rules or fastpath marks changed (both configs have an
                             // interest section): for Routeless::reload, which main calls

    bool ok() const { return refused.empty(); }
    // One line: "client_to_client false -> true, mac_age 300 -> 60" or "nothing changed".
    std::string summary() const;
    // One line for a refused reload: what cannot change and that the old config stays.
    std::string refusal() const;
};

// Stat identity (device, inode, size, mtime) of the TLS and wrap files a tunnel section names,
// so a certificate renewed under the same path counts as a change; no key material is kept.
std::string tls_files_stamp(const config::TunnelConfig& t);

// `running_stamp`/`next_stamp` come from tls_files_stamp() (taken when each config was loaded).
ReloadPlan plan_reload(const config::Config& running, const config::Config& next, const std::string& running_stamp,
                       const std::string& next_stamp);

// The switch settings of a server's tunnel section, and one client's overrides by common name.
datapath::SwitchSettings switch_settings(const config::TunnelConfig& t);
// The same with the switch's limits (limits.mac_move_limit, limits.allow_tagged_frames).
datapath::SwitchSettings switch_settings(const config::Config& c);
datapath::PortSettings port_settings(const config::TunnelConfig& t, const std::string& common_name);

// What SIGHUP does: loads `file` again; if it has errors, logs each as file:line:column and keeps
// the running configuration (returns false); else hands it to `apply` (a runner's reload(), which
// logs its own summary or refusal) and returns whether it was taken.
bool reload_from_file(const std::string& file, const std::function<Result<std::string>(const config::Config&)>& apply);

// Makes SIGHUP reload `file` into `runner` (a ServerRunner or ClientRunner). main: one call after
// constructing the runner.
template <typename Runner>
void install_reload_handler(Runner& runner, const std::string& file) {
    runner.set_reload_handler([&runner, file] {
        reload_from_file(file, [&runner](const config::Config& next) { return runner.reload(next); });
    });
}

}  // namespace wirebridge::app
