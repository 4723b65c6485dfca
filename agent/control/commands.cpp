// The control socket's command table.
#include "control/commands.hpp"

#include "control/prometheus.hpp"

namespace wirebridge::control {

std::string answer_command(const std::string& command, const CommandSources& sources) {
    if (command == "status") return to_text(sources.status());
    if (command == "status json") return to_json(sources.status());
    if (command == "status prometheus") return to_prometheus(sources.status());
    if (command == "flows") return sources.flows_text();
    if (command == "flows json") return sources.flows_json();
    return "error: unknown command '" + command + "' (status, status json, status prometheus, flows, flows json, ping)\n";
}

}  // namespace wirebridge::control
