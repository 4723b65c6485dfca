// `wirebridge check -c FILE`: the config as `run` reads it, and the TLS context and keys built
// exactly as `run` builds them, so a file check accepts is one run does not refuse.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace wirebridge::app {

// 0: usable (warnings, if any, on `err` as "FILE: warning: ..."), the summary on `out`;
// 1: every error on `err` as FILE:LINE:COLUMN or FILE: sentence. `now`: seconds since the epoch.
int check_config(const std::string& file, std::ostream& out, std::ostream& err, std::int64_t now);

}  // namespace wirebridge::app
