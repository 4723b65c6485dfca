// Logging: one line on stderr per event, written with one write() so lines never interleave.
// On a terminal or a file: "HH:MM:SS.mmm LEVEL message". When stderr is the journal (systemd sets
// JOURNAL_STREAM to its device:inode), "<N>message": journald takes N as the syslog priority and
// stamps the time itself, so `journalctl -p warning` works and no second timestamp appears.
#include "common/log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace wirebridge {

namespace {
LogLevel g_level = LogLevel::info;
int g_journal = -1;  // -1: not looked at yet

bool stderr_is_journal() {
    const char* js = std::getenv("JOURNAL_STREAM");
    if (js == nullptr) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st {};
    if (fstat(STDERR_FILENO, &st) != 0) return false;
    return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}
}  // namespace

const char* to_string(LogLevel l) {
    switch (l) {
        case LogLevel::error: return "error";
        case LogLevel::warn: return "warn";
        case LogLevel::info: return "info";
        case LogLevel::debug: return "debug";
    }
    return "info";
}

void set_log_level(LogLevel level) { g_level = level; }
bool log_enabled(LogLevel level) { return static_cast<int>(level) <= static_cast<int>(g_level); }
void set_log_journal(bool journal) { g_journal = journal ? 1 : 0; }

int syslog_priority(LogLevel level) {
    switch (level) {
        case LogLevel::error: return 3;  // LOG_ERR
        case LogLevel::warn: return 4;   // LOG_WARNING
        case LogLevel::info: return 6;   // LOG_INFO
        case LogLevel::debug: return 7;  // LOG_DEBUG
    }
    return 6;
}

std::string format_log_line(LogLevel level, const std::string& message, bool journal,
                            std::chrono::system_clock::time_point now) {
    if (journal) return "<" + std::to_string(syslog_priority(level)) + ">" + message + "\n";
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    return std::string(stamp) + " " + to_string(level) + " " + message + "\n";
}

void log(LogLevel level, const std::string& message) {
    if (!log_enabled(level)) return;
    if (g_journal < 0) g_journal = stderr_is_journal() ? 1 : 0;
    const std::string line = format_log_line(level, message, g_journal == 1, std::chrono::system_clock::now());
    [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace wirebridge
