// Logging to stderr with a level from the config: one line per event, "LEVEL message".
#pragma once

#include <string>

#include "config/config.hpp"

namespace wirebridge::app {

using config::LogLevel;

void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);
void log(LogLevel level, const std::string& message);

inline void log_error(const std::string& m) { log(LogLevel::error, m); }
inline void log_warn(const std::string& m) { log(LogLevel::warn, m); }
inline void log_info(const std::string& m) { log(LogLevel::info, m); }
inline void log_debug(const std::string& m) {
    if (log_enabled(LogLevel::debug)) log(LogLevel::debug, m);
}

}  // namespace wirebridge::app
