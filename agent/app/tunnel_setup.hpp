// From a validated Config to what the session and the OS need: session settings, TLS, pool, addresses.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "app/user_pass_checks.hpp"
#include "common/result.hpp"
#include "config/config.hpp"
#include "io/socket_address.hpp"
#include "io/tap_device.hpp"
#include "session/config.hpp"
#include "session/ifconfig_pool.hpp"
#include "session/server_dispatcher.hpp"

namespace wirebridge::app {

// Reads the key files and builds the TLS context: the errors name the file.
Result<session::SessionConfig> make_session_config(const config::Config& c);
// The server's pool (its own tunnel.address is never handed out); none without tunnel.pool. With
// tunnel.pool.persist the file is read, and written once to prove it can be.
Result<std::optional<session::Ipv4Pool>> make_pool(const config::Config& c);
// The server's pool persist file and auth_user_pass_verify program: the checks (null without
// one) must be attached to the runner's loop before it runs (app/user_pass_checks.hpp).
std::shared_ptr<UserPassChecks> configure_server(const config::Config& c, session::ServerConfig& sc);
// Opens the TAP named tunnel.device, brings it up and applies tunnel.address if given.
Result<io::TapDevice> open_tap(const config::Config& c);
Result<io::SocketAddress> to_socket_address(const config::Endpoint& e);

}  // namespace wirebridge::app
