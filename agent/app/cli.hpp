// Command line of `wirebridge`: parsed into a Command, or a usage error (exit status 2).
#pragma once

#include <string>
#include <vector>

namespace wirebridge::app {

struct Command {
    enum class Kind { help, version, run, check, genkey, status, flows, cleanup, modules, import_ovpn } kind = Kind::help;
    std::string config_file;  // run, check, cleanup; status and flows: where to find control.socket
    std::string socket;       // status, flows: the control socket, if given directly
    std::string instance;     // status, flows: NAME of /etc/wirebridge/NAME.yaml or /run/wirebridge/NAME/
    bool json = false;        // status --json
    bool prometheus = false;  // status --prometheus (text exposition format)
    std::string key_kind;     // genkey: tls-crypt | tls-auth
    std::string key_file;     // genkey
    std::string help_topic;   // help: the command whose help to show ("" for the overview)
    std::string import_file;  // import: the OpenVPN config; config_file: the YAML to write ("" = FILE's stem + .yaml)
    std::string site;         // import: the site name ("" = FILE's stem)
};

struct CliResult {
    bool ok = false;
    Command command;
    std::string error;  // a usage error, for stderr
};

CliResult parse_cli(const std::vector<std::string>& args);  // args without argv[0]
std::string usage_text();
// The help of one command (run, check, status, flows, genkey), "" for any other word.
std::string command_help(const std::string& command);

}  // namespace wirebridge::app
