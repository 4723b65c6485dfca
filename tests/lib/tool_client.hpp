// The client set-up the test tools share (tests/netns/halfopen.cpp, tests/stress/stormsite.cpp): a
// client configuration read as the agent reads it, the session configuration the agent makes of it
// (TLS context, tls-crypt/tls-auth wrap, ciphers), and UDP sockets connected to its first remote.
#pragma once

#include <cstdio>
#include <memory>
#include <optional>

#include "app/tunnel_setup.hpp"
#include "config/loader.hpp"
#include "io/clock.hpp"
#include "io/udp_socket.hpp"
#include "session/session.hpp"

namespace wirebridge::test_tool {

struct ToolClient {
    const char* tool;  // the tool's name, the prefix of its messages
    session::SessionConfig session_config;
    io::SocketAddress remote;

    // A UDP socket on an ephemeral port, connected to the remote; nothing when that fails.
    std::optional<io::UdpSocket> connected_socket() const {
        auto any = io::SocketAddress::from_numeric("0.0.0.0", 0);
        if (!any) return std::nullopt;
        auto s = io::UdpSocket::open(*any);
        if (!s || !s->connect(remote)) return std::nullopt;
        return std::move(*s);
    }
    // A new client session of the configuration; nothing (the reason printed) when it fails.
    std::unique_ptr<session::Session> new_session() const {
        auto s = session::Session::create(session_config, io::now_ms());
        if (!s) {
            std::fprintf(stderr, "%s: %s\n", tool, s.error().message.c_str());
            return nullptr;
        }
        return std::move(*s);
    }
};

// load_tool_client TOOL PATH: the client configuration at PATH made ready for a tool; nothing (every
// error printed, prefixed by TOOL) when the file, its session configuration or its first remote is
// not usable.
inline std::optional<ToolClient> load_tool_client(const char* tool, const char* path) {
    const auto loaded = config::load_config(path);
    if (!loaded.ok()) {
        for (const auto& e : loaded.errors) std::fprintf(stderr, "%s: %s\n", tool, e.to_string().c_str());
        return std::nullopt;
    }
    const config::Config& cfg = *loaded.config;
    if (cfg.tunnel.remote.empty()) {
        std::fprintf(stderr, "%s: %s names no tunnel.remote\n", tool, path);
        return std::nullopt;
    }
    auto scfg = app::make_session_config(cfg);
    if (!scfg) {
        std::fprintf(stderr, "%s: %s\n", tool, scfg.error().message.c_str());
        return std::nullopt;
    }
    auto remote = io::SocketAddress::from_numeric(cfg.tunnel.remote.front().host, cfg.tunnel.remote.front().port);
    if (!remote) {
        std::fprintf(stderr, "%s: %s\n", tool, remote.error().message.c_str());
        return std::nullopt;
    }
    return ToolClient{tool, std::move(*scfg), *remote};
}

}  // namespace wirebridge::test_tool
