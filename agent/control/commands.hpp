// The control socket's command table: which command lines exist and what each answers.
#pragma once

#include <functional>
#include <string>

#include "control/status.hpp"

namespace wirebridge::control {

// What the answers are made of; the agent's main wires them (each is called only for its command).
struct CommandSources {
    std::function<Status()> status;           // "status", "status json", "status prometheus"
    std::function<std::string()> flows_text;  // "flows": the fast path's flows, one per line
    std::function<std::string()> flows_json;  // "flows json"
};

// The answer to one command line ("ping" is answered by ControlServer itself); an unknown
// command answers "error: unknown command '...' (the list)".
std::string answer_command(const std::string& command, const CommandSources& sources);

}  // namespace wirebridge::control
