// wirebridge: the command-line entry point (run, check, genkey, --help, --version).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "app/cli.hpp"
#include "app/client_runner.hpp"
#include "app/log.hpp"
#include "app/runner_common.hpp"
#include "app/server_runner.hpp"
#include "app/tunnel_setup.hpp"
#include "config/loader.hpp"
#include "crypto/static_key.hpp"

#ifndef WIREBRIDGE_VERSION
#define WIREBRIDGE_VERSION "0.0.0"
#endif

using namespace wirebridge;

namespace {

int cmd_check(const std::string& file) {
    const auto r = config::load_config(file);
    if (!r.ok()) {
        for (const auto& e : r.errors) std::cerr << e.to_string() << "\n";
        std::cerr << file << ": " << r.errors.size() << (r.errors.size() == 1 ? " error" : " errors") << "\n";
        return 1;
    }
    std::cout << file << ": OK: " << r.config->summary() << "\n";
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

int cmd_run(const std::string& file) {
    const auto loaded = config::load_config(file);
    if (!loaded.ok()) {
        for (const auto& e : loaded.errors) std::cerr << e.to_string() << "\n";
        return 1;
    }
    const config::Config& cfg = *loaded.config;
    app::set_log_level(cfg.log.level);
    app::log_info("wirebridge " WIREBRIDGE_VERSION " starting: " + cfg.summary());
    if (cfg.bridge || (cfg.fastpath.enabled) || cfg.interest)
        app::log_warn("bridge, fastpath and interest sections are not applied by this version; running the tunnel only");
    auto scfg = app::make_session_config(cfg);
    if (!scfg) {
        app::log_error(scfg.error().message);
        return 1;
    }
    auto loop = io::EventLoop::create();
    if (!loop) {
        app::log_error(loop.error().message);
        return 1;
    }
    std::optional<session::Ipv4Pool> pool;
    if (cfg.tunnel.role == config::Role::server) {
        auto p = app::make_pool(cfg);
        if (!p) {
            app::log_error(p.error().message);
            return 1;
        }
        pool = std::move(*p);
    }
    auto tap = app::open_tap(cfg);
    if (!tap) {
        app::log_error(tap.error().message);
        return 1;
    }
    if (cfg.tunnel.role == config::Role::client) {
        app::ClientRunner runner(cfg, std::move(*scfg), std::move(*loop), std::move(*tap));
        return runner.run();
    }
    session::ServerConfig sc;
    sc.session = std::move(*scfg);
    sc.pool = std::move(pool);
    auto d = session::ServerDispatcher::create(std::move(sc), app::now_ms());
    if (!d) {
        app::log_error(d.error().message);
        return 1;
    }
    app::ServerRunner runner(cfg, std::move(*d), std::move(*loop), std::move(*tap));
    return runner.run();
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
                std::cout << app::usage_text();
                return 0;
            case app::Command::Kind::version:
                std::cout << "wirebridge " WIREBRIDGE_VERSION "\n";
                return 0;
            case app::Command::Kind::check: return cmd_check(cli.command.config_file);
            case app::Command::Kind::genkey: return cmd_genkey(cli.command.key_kind, cli.command.key_file);
            case app::Command::Kind::run: return cmd_run(cli.command.config_file);
        }
    } catch (const std::exception& e) {
        std::cerr << "wirebridge: " << e.what() << "\n";
        return 1;
    }
    return 1;
}
