// `wirebridge flows --json`: the kernel fast path's cached flows as one JSON object.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"
#include "nl/gwmark_proc.hpp"

namespace wirebridge::app {

// {"flows":[{"family":"ipv4","proto":"tcp","src":...,"sport":..,"dst":...,"dport":..,
//   "reply_to":"MAC","gateway":"MAC","device":"lan0","age_seconds":3}, ...]}
// or {"error":"..."} when the flows cannot be read (the module is not loaded).
std::string flows_json(const Result<std::vector<nl::GwmarkFlow>>& flows);

}  // namespace wirebridge::app
