// wirebridge: the command-line entry point (run, check, genkey, --help, --version).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "app/check.hpp"
#include "app/cli.hpp"
#include "app/client_runner.hpp"
#include "app/control_path.hpp"
#include "app/flows_json.hpp"
#include "app/host_setup.hpp"
#include "app/import_ovpn.hpp"
#include "common/log.hpp"
#include "app/privileges.hpp"
#include "app/reload.hpp"
#include "routeless/routeless.hpp"
#include "app/runner_common.hpp"
#include "app/server_runner.hpp"
#include "app/service_notify.hpp"
#include "app/tunnel_setup.hpp"
#include "app/uplink.hpp"
#include "app/version.hpp"
#include "config/loader.hpp"
#include "control/commands.hpp"
#include "control/control_server.hpp"
#include "control/metrics_server.hpp"
#include "control/prometheus.hpp"
#include "control/status.hpp"
#include "nl/bridge_setup.hpp"
#include "nl/gwmark_proc.hpp"
#include "xt_GWMARK.h"
#include "crypto/static_key.hpp"

#ifndef WIREBRIDGE_VERSION
#define WIREBRIDGE_VERSION "0.0.0"
#endif

using namespace wirebridge;

namespace {

int cmd_check(const std::string& file) { return app::check_config(file, std::cout, std::cerr, ::time(nullptr)); }

// The unit's ExecStopPost: what a killed run left (docs/INLINE.md). Nothing there is not an error.
int cmd_cleanup(const std::string& file) {
    const auto loaded = config::load_config(file);
    if (!loaded.ok()) {
        for (const auto& e : loaded.errors) std::cerr << e.to_string() << "\n";
        return 1;
    }
    auto r = routeless::Routeless::cleanup(*loaded.config);
    if (!r) {
        std::cerr << "wirebridge cleanup: " << r.error().message << "\n";
        return 1;
    }
    for (const auto& line : *r) std::cerr << "wirebridge cleanup: " << line << "\n";
    if (auto plan = app::uplink_plan(*loaded.config); plan) {
        auto n = nl::remove_uplink_rules(*plan);
        if (!n) {
            std::cerr << "wirebridge cleanup: uplink rule: " << n.error().message << "\n";
            return 1;
        }
        if (*n) std::cerr << "wirebridge cleanup: removed the uplink rule at priority " << plan->priority << "\n";
    }
    return 0;
}

// The unit's privileged ExecStartPre (`+`): under ProtectKernelModules the agent cannot load
// what its config needs itself (docs/INLINE.md, "Host set-up").
int cmd_modules(const std::string& file) {
    const auto loaded = config::load_config(file);
    if (!loaded.ok()) {
        for (const auto& e : loaded.errors) std::cerr << e.to_string() << "\n";
        return 1;
    }
    const auto want = app::wanted_modules(*loaded.config);
    auto r = app::load_modules(*loaded.config);
    if (!r) {
        std::cerr << "wirebridge modules: " << r.error().message << "\n";
        return 1;
    }
    for (const auto& line : *r) std::cerr << "wirebridge modules: " << line << "\n";
    std::string list;
    for (const auto& m : want) list += (list.empty() ? "" : " ") + m;
    std::cerr << "wirebridge modules: " << (want.empty() ? std::string("this config needs none") : "needed: " + list) << "\n";
    return 0;
}

int cmd_genkey(const std::string& kind, const std::string& file) {
    struct stat st {};
    if (stat(file.c_str(), &st) == 0) {
        std::cerr << "wirebridge: " << file << " already exists; not overwriting a key\n";
        return 1;
    }
    auto r = crypto::write_static_key_file(file, crypto::StaticKey::generate());
    if (!r) {
        std::cerr << "wirebridge: " << r.error().message << "\n";
        return 1;
    }
    std::cerr << "wrote a new " << kind << " key to " << file << "\n";
    return 0;
}

// Adds what only the agent's namespace knows: the kernel fast path's counters.
void add_fastpath(control::Status& st, const config::Config& cfg) {
    auto fp = nl::read_gwmark_stats();
    if (fp) {
        st.fastpath = fp->counters;
    } else if (cfg.fastpath.enabled) {
        st.fastpath_note = fp.error().message + "; the tunnel and bridge work without it, replies are routed normally";
    }
}

// `file` (may be null): the flows file opened before the privilege drop (it is root-only).
std::string flows_text(const nl::GwmarkFlowsFile* file) {
    auto flows = file ? file->read() : nl::read_gwmark_flows();
    if (!flows) return "error: " + flows.error().message + "\n";
    std::string out = GWMARK_FLOWS_HEADER "\n";
    for (const auto& f : *flows)
        out += f.family + " " + f.proto + " " + f.src + " " + std::to_string(f.sport) + " " + f.dst + " " +
               std::to_string(f.dport) + " " + f.reply_to + " " + f.gateway + " " + f.device + " " +
               std::to_string(f.age) + "\n";
    return out;
}

// Runs on as cfg.user with only the capabilities the running daemon needs (docs/DEPLOY.md). The
// control socket (and its folder, unless that is a shared one) is handed over first, so the agent
// can still remove it on exit.
Result<void> drop_to_user(const config::Config& cfg) {
    const std::string dir = std::filesystem::path(cfg.control.socket).parent_path().string();
    if (dir != "/" && dir != "/run" && dir != "/tmp" && dir != "/var/run")
        if (auto r = app::hand_over_path(dir, *cfg.user); !r) return r;
    if (auto r = app::hand_over_path(cfg.control.socket, *cfg.user); !r) return r;
    const app::RuntimeCapabilities caps = app::runtime_capabilities(cfg);
    if (auto r = app::drop_privileges(*cfg.user, caps.daemon, caps.helpers); !r)
        return fail("privilege drop: " + r.error().message);
    log_info("privileges dropped: " + app::describe_credentials());
    return {};
}

// Serves the control socket on the runner's loop for as long as the runner runs.
// `routeless` (may be null) is the traffic-of-interest feature running on the runner's loop.
template <typename Runner>
int run_with_control(Runner& runner, const config::Config& cfg, routeless::Routeless* routeless) {
    const auto started = io::Clock::now();
    // Opened while still root: the flows file is readable by root only (0440).
    std::optional<nl::GwmarkFlowsFile> flows_file;
    if (auto f = nl::GwmarkFlowsFile::open()) flows_file.emplace(std::move(*f));
    auto status_now = [&runner, &cfg, started, routeless] {
        control::Status st = runner.status();
        st.uptime_seconds = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::seconds>(io::Clock::now() - started).count());
        add_fastpath(st, cfg);
        if (routeless) st.flows = routeless->counters();
        return st;
    };
    control::CommandSources sources;
    sources.status = status_now;
    sources.flows_text = [&flows_file] { return flows_text(flows_file ? &*flows_file : nullptr); };
    sources.flows_json = [&flows_file] {
        return app::flows_json(flows_file ? flows_file->read() : nl::read_gwmark_flows());
    };
    auto handler = [sources](const std::string& command) { return control::answer_command(command, sources); };
    auto ctl = control::ControlServer::listen(runner.loop(), cfg.control.socket, handler);
    if (!ctl) {
        log_error(ctl.error().message);
        return 1;
    }
    // control.metrics: GET /metrics, the same text as `status --prometheus` (bound as root, so a
    // port below 1024 works too).
    std::unique_ptr<control::MetricsServer> metrics;
    if (cfg.control.metrics) {
        auto addr = io::SocketAddress::from_numeric(cfg.control.metrics->host, cfg.control.metrics->port);
        if (!addr) {
            log_error("control.metrics: " + addr.error().message);
            return 1;
        }
        auto m = control::MetricsServer::listen(runner.loop(), *addr,
                                                [&status_now] { return control::to_prometheus(status_now()); });
        if (!m) {
            log_error("control.metrics: " + m.error().message);
            return 1;
        }
        metrics = std::move(*m);
        log_info("metrics: http://" + metrics->address().to_string() + "/metrics");
    }
    // Everything that needs root exists now (TAP, bridge, rules, queue, control socket), and no
    // worker thread has started yet: the one moment to drop.
    if (cfg.user)
        if (auto r = drop_to_user(cfg); !r) {
            log_error(r.error().message);
            return 1;  // credentials not to be trusted: stop (the caller still undoes the set-up)
        }
    auto& sd = app::service_notifier();  // systemd Type=notify; inactive outside systemd
    sd.start(runner.loop(), [&runner] { return app::service_status_line(runner.status()); });
    sd.ready(app::service_status_line(runner.status()));
    const int rc = runner.run();
    sd.stopping();
    return rc;
}

// Sets up the bridge of the config (and puts the TAP in it) before the tunnel runs, and undoes
// exactly that afterwards.
class ApplianceSetup {
public:
    Result<void> apply(const config::Config& cfg) {
        if (auto r = apply_bridge(cfg); !r) return r;
        // After the bridge: its rp_filter is one of the settings.
        if (auto r = host_.apply(cfg); !r) {
            undo();
            return r;
        }
        for (const auto& n : host_.notes()) log_info("host: " + n);
        if (auto r = apply_uplink(cfg); !r) {
            undo();
            return r;
        }
        return {};
    }
    // bridge.gateway: the agent's own tunnel reaches its hub through a private table chosen by
    // its socket mark; main keeps only the connected route (docs/INLINE.md).
    Result<void> apply_uplink(const config::Config& cfg) {
        if (app::uplink_mark(cfg) == 0) return {};
        auto plan = app::uplink_plan(cfg);
        if (!plan) return fail(plan.error());
        if (auto r = uplink_.apply(*plan); !r) return fail("uplink: " + r.error().message);
        if (uplink_.replaced_stale())
            log_warn("uplink: the rule at priority " + std::to_string(plan->priority) + " of an earlier run was replaced");
        uplink_plan_ = *plan;
        log_info("uplink: the tunnel's socket carries mark 0x" + hex(plan->mark) + "; rule " +
                      std::to_string(plan->priority) + " sends it to table " + std::to_string(plan->table) +
                      ": default via " + cfg.bridge->gateway->to_string() + " dev " + plan->device +
                      " (no route in main; the gateway's MAC is the kernel's neighbour entry, a failover's "
                      "gratuitous ARP or unsolicited NA moves it)");
        return {};
    }
    // Before each connection attempt: the route is back if the bridge went down and up.
    void refresh_uplink() {
        if (!uplink_plan_) return;
        if (auto r = uplink_.apply(*uplink_plan_); !r) log_warn("uplink: " + r.error().message);
    }
    Result<void> apply_bridge(const config::Config& cfg) {
        if (!cfg.bridge) {
            if (cfg.tunnel.join_bridge) log_warn("tunnel.join_bridge is set but there is no bridge section");
            return {};
        }
        auto rtnl = nl::Rtnetlink::open();
        if (!rtnl) return fail(rtnl.error());
        rtnl_.emplace(std::move(*rtnl));
        setup_.emplace(*rtnl_);
        nl::BridgePlan plan{cfg.bridge->name, cfg.bridge->ports, std::nullopt};
        if (cfg.tunnel.join_bridge) plan.ports.push_back(cfg.tunnel.device);
        if (cfg.bridge->address) {
            auto a = nl::IfAddress::parse(cfg.bridge->address->to_string());
            if (!a) return fail("bridge.address: " + a.error().message);
            plan.address = *a;
        }
        if (auto r = setup_->apply(plan); !r) return r;
        for (const auto& c : setup_->changes()) log_info("bridge: " + c);
        return {};
    }
    // A failed start: back to what was there before (a bridge of an earlier run stays).
    void undo() {
        remove_uplink();
        host_.restore();
        if (!setup_) return;
        if (auto r = setup_->undo(); !r) log_warn("bridge clean-up: " + r.error().message);
    }
    // A stop: the wire stays (bridge, ports, address) unless bridge.remove_on_stop says otherwise.
    // The TAP leaves the bridge by itself when its last descriptor closes.
    void stop(const config::Config& cfg) {
        remove_uplink();
        host_.restore();
        if (!setup_) return;
        if (cfg.bridge && cfg.bridge->remove_on_stop) return undo();
        log_info("bridge: " + cfg.bridge->name + " and its ports stay (bridge.remove_on_stop is false)");
    }

private:
    void remove_uplink() {
        if (!uplink_plan_) return;
        uplink_plan_.reset();
        if (auto r = uplink_.remove(); !r) log_warn("uplink: " + r.error().message);
        else log_info("uplink: rule and table removed");
    }
    static std::string hex(std::uint32_t v) {
        char t[16];
        std::snprintf(t, sizeof t, "%x", v);
        return t;
    }

    nl::UplinkRoute uplink_;
    std::optional<nl::UplinkPlan> uplink_plan_;
    std::optional<nl::Rtnetlink> rtnl_;
    std::optional<nl::BridgeSetup> setup_;
    app::HostSetup host_;
};

int cmd_control(const app::Command& c) {
    const auto found = app::find_control_socket(c);
    if (!found) {
        std::cerr << "wirebridge: " << found.error().message << "\n";
        return 1;
    }
    const std::string& path = *found;
    std::string command = c.kind == app::Command::Kind::flows ? (c.json ? "flows json" : "flows")
                          : c.prometheus                      ? "status prometheus"
                          : c.json                            ? "status json"
                                                              : "status";
    auto answer = control::control_request(path, command);
    if (!answer) {
        std::cerr << "wirebridge: " << answer.error().message << "\n";
        return 1;
    }
    std::cout << *answer;
    return answer->rfind("error:", 0) == 0 ? 1 : 0;
}

// SIGHUP: the runner takes what it can (app/reload.hpp); the interest rules and fastpath marks
// then go to Routeless, which replaces its rules atomically and re-decides changed flows.
template <typename Runner>
void install_sighup(Runner& runner, const std::string& file, routeless::Routeless* routeless) {
    runner.set_reload_handler([&runner, file, routeless] {
        app::service_notifier().reloading();
        app::reload_from_file(file, [&runner, routeless](const config::Config& next) -> Result<std::string> {
            auto r = runner.reload(next);
            if (!r || routeless == nullptr || !next.interest) return r;
            if (auto q = routeless->reload(next); !q) log_warn("routeless reload: " + q.error().message);
            return r;
        });
        app::service_notifier().ready(app::service_status_line(runner.status()));
    });
}

// Routeless mode (the interest section): rules, queue and conntrack on the runner's loop.
// nullptr when the config has no interest section; an error has been logged.
//
// SIGHUP: install_sighup() hands a reloaded config to the runner, then to routeless->reload().
// Privilege drop: removing the rules at exit runs iptables-restore, which needs CAP_NET_ADMIN
// (and CAP_NET_RAW for the legacy backend) kept in the ambient set across exec.
Result<std::unique_ptr<routeless::Routeless>> start_routeless(const config::Config& cfg, io::EventLoop& loop) {
    if (!cfg.interest) return std::unique_ptr<routeless::Routeless>();
    auto r = routeless::Routeless::start(cfg, loop);
    if (!r) {
        log_error(r.error().message);
        return fail(r.error());
    }
    return std::move(*r);
}

int cmd_run(const std::string& file) {
    app::service_notifier();  // takes NOTIFY_SOCKET out of the environment before anything runs
    const auto loaded = config::load_config(file);
    if (!loaded.ok()) {
        for (const auto& e : loaded.errors) std::cerr << e.to_string() << "\n";
        return 1;
    }
    const config::Config& cfg = *loaded.config;
    set_log_level(cfg.log.level);
    log_info("wirebridge " WIREBRIDGE_VERSION " starting: " + cfg.summary());
    // With an interest section, Routeless says what the missing module means for it.
    if (!cfg.interest && cfg.fastpath.enabled && !nl::read_gwmark_stats())
        log_warn("fastpath: the xt_GWMARK module is not loaded; replies take the normal routed path");
    auto scfg = app::make_session_config(cfg);
    if (!scfg) {
        log_error(scfg.error().message);
        return 1;
    }
    auto loop = io::EventLoop::create();
    if (!loop) {
        log_error(loop.error().message);
        return 1;
    }
    std::optional<session::Ipv4Pool> pool;
    if (cfg.tunnel.role == config::Role::server) {
        auto p = app::make_pool(cfg);
        if (!p) {
            log_error(p.error().message);
            return 1;
        }
        pool = std::move(*p);
    }
    auto tap = app::open_tap(cfg);
    if (!tap) {
        log_error(tap.error().message);
        return 1;
    }
    ApplianceSetup appliance;
    if (auto r = appliance.apply(cfg); !r) {
        log_error(r.error().message);
        return 1;
    }
    if (cfg.tunnel.role == config::Role::client) {
        app::ClientRunner runner(cfg, std::move(*scfg), std::move(*loop), std::move(*tap));
        runner.set_before_connect([&appliance] { appliance.refresh_uplink(); });
        auto routeless = start_routeless(cfg, runner.loop());
        if (!routeless) {
            appliance.undo();
            return 1;
        }
        install_sighup(runner, file, routeless->get());
        int rc = run_with_control(runner, cfg, routeless->get());
        if (*routeless) (*routeless)->stop();  // rules out before the devices they name go
        appliance.stop(cfg);  // while the TAP still exists
        return rc;
    }
    session::ServerConfig sc;
    sc.session = std::move(*scfg);
    sc.pool = std::move(pool);
    sc.duplicate_cn = cfg.tunnel.duplicate_cn;
    const std::shared_ptr<app::UserPassChecks> checks = app::configure_server(cfg, sc);
    sc.limits.max_clients = cfg.limits.max_clients;
    sc.limits.max_half_open = cfg.limits.max_half_open;
    sc.limits.max_half_open_per_source = cfg.limits.max_half_open_per_source;
    sc.limits.reset_rate = cfg.limits.reset_rate;
    sc.limits.reset_burst = cfg.limits.reset_burst;
    sc.limits.reset_rate_per_source = cfg.limits.reset_rate_per_source;
    sc.limits.reset_burst_per_source = cfg.limits.reset_burst_per_source;
    auto d = session::ServerDispatcher::create(std::move(sc), app::now_ms());
    if (!d) {
        log_error(d.error().message);
        appliance.undo();
        return 1;
    }
    app::ServerRunner runner(cfg, std::move(*d), std::move(*loop), std::move(*tap));
    if (checks)
        checks->attach(runner.loop(), [&runner](std::uint64_t ticket, session::UserPassVerdict v) {
            runner.user_pass_verdict(ticket, std::move(v));
        });
    auto routeless = start_routeless(cfg, runner.loop());
    if (!routeless) {
        if (checks) checks->detach();
        appliance.undo();
        return 1;
    }
    install_sighup(runner, file, routeless->get());
    int rc = run_with_control(runner, cfg, routeless->get());
    if (checks) checks->detach();  // programs still running are killed while the loop is there
    if (*routeless) (*routeless)->stop();
    appliance.stop(cfg);
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    const app::CliResult cli = app::parse_cli(args);
    if (!cli.ok) {
        std::cerr << cli.error << "\n" << app::usage_text();
        return 2;
    }
    try {
        switch (cli.command.kind) {
            case app::Command::Kind::help:
                std::cout << (cli.command.help_topic.empty() ? app::usage_text()
                                                             : app::command_help(cli.command.help_topic));
                return 0;
            case app::Command::Kind::version:
                std::cout << app::version_text();
                return 0;
            case app::Command::Kind::check: return cmd_check(cli.command.config_file);
            case app::Command::Kind::genkey: return cmd_genkey(cli.command.key_kind, cli.command.key_file);
            case app::Command::Kind::import_ovpn:
                return app::import_ovpn_command(cli.command.import_file, cli.command.config_file, cli.command.site, std::cout, std::cerr);
            case app::Command::Kind::run: return cmd_run(cli.command.config_file);
            case app::Command::Kind::cleanup: return cmd_cleanup(cli.command.config_file);
            case app::Command::Kind::modules: return cmd_modules(cli.command.config_file);
            case app::Command::Kind::status:
            case app::Command::Kind::flows: return cmd_control(cli.command);
        }
    } catch (const std::exception& e) {
        std::cerr << "wirebridge: " << e.what() << "\n";
        return 1;
    }
    return 1;
}
