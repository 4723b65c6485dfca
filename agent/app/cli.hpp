// Command line of `wirebridge`: parsed into a Command, or a usage error (exit status 2).
#pragma once

#include <string>
#include <vector>

namespace wirebridge::app {

struct Command {
    enum class Kind { help, version, run, check, genkey, status, flows, cleanup } kind = Kind::help;
    std::string config_file;  // run, check, cleanup; status and flows: where to find control.socket
    std::string socket;       // status, flows: the control socket, if given directly
    bool json = false;        // status --json
    std::string key_kind;     // genkey: tls-crypt | tls-auth
    std::string key_file;     // genkey
};

struct CliResult {
    bool ok = false;
    Command command;
    std::string error;  // a usage error, for stderr
};

CliResult parse_cli(const std::vector<std::string>& args);  // args without argv[0]
std::string usage_text();

}  // namespace wirebridge::app
