// The fast path's flow table as JSON (docs/CONTROL.md, `flows json`).
#include "app/flows_json.hpp"

#include "control/status.hpp"

namespace wirebridge::app {

std::string flows_json(const Result<std::vector<nl::GwmarkFlow>>& flows) {
    using control::json_quote;
    if (!flows) return "{\"error\":" + json_quote(flows.error().message) + "}\n";
    std::string out = "{\"flows\":[";
    bool first = true;
    for (const auto& f : *flows) {
        out += (first ? "" : ",");
        first = false;
        out += "{\"family\":" + json_quote(f.family) + ",\"proto\":" + json_quote(f.proto) +
               ",\"src\":" + json_quote(f.src) + ",\"sport\":" + std::to_string(f.sport) +
               ",\"dst\":" + json_quote(f.dst) + ",\"dport\":" + std::to_string(f.dport) +
               ",\"reply_to\":" + json_quote(f.reply_to) + ",\"gateway\":" + json_quote(f.gateway) +
               ",\"device\":" + json_quote(f.device) + ",\"age_seconds\":" + std::to_string(f.age) + "}";
    }
    return out + "]}\n";
}

}  // namespace wirebridge::app
