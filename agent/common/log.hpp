// Logging to stderr with a level from the config: one line per event, "LEVEL message", with
// syslog priorities when stderr is the journal.
#pragma once

#include <chrono>
#include <string>

namespace wirebridge {

// The levels of the config's log.level (config::LogLevel is this type).
enum class LogLevel { error, warn, info, debug };
const char* to_string(LogLevel l);  // "error", "warn", "info", "debug"

void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);
void log(LogLevel level, const std::string& message);
// Journal format on or off, instead of looking at JOURNAL_STREAM on the first line (tests).
void set_log_journal(bool journal);
// The line log() writes: "<N>message" for the journal, else "HH:MM:SS.mmm LEVEL message" (UTC).
std::string format_log_line(LogLevel level, const std::string& message, bool journal,
                            std::chrono::system_clock::time_point now);
int syslog_priority(LogLevel level);  // error 3, warn 4, info 6, debug 7

inline void log_error(const std::string& m) { log(LogLevel::error, m); }
inline void log_warn(const std::string& m) { log(LogLevel::warn, m); }
inline void log_info(const std::string& m) { log(LogLevel::info, m); }
inline void log_debug(const std::string& m) {
    if (log_enabled(LogLevel::debug)) log(LogLevel::debug, m);
}

}  // namespace wirebridge
