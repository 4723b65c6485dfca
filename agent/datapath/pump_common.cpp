// The TAP I/O path log line of a data path worker.
#include "datapath/pump_common.hpp"

#include "common/log.hpp"

namespace wirebridge::datapath {

void TapWriteFailures::failed(const std::string& who, const Error& e, std::uint64_t frames) {
    const std::uint64_t before = n_.fetch_add(frames, std::memory_order_relaxed);
    const std::uint64_t n = before + frames;
    if (before == 0 || n / 1000 != before / 1000)
        log_warn(who + ": " + e.message + " (" + std::to_string(n) + " frame(s) lost so far: tap_write drops)");
}

void log_worker_io_path(unsigned index, const std::string& tap_name, unsigned queue, const io::TapWriter& writer,
                        io::TapReader& reader) {
    const std::string who = "worker " + std::to_string(index) + ": TAP " + tap_name + " queue " + std::to_string(queue);
    const bool first = index == 0;
    auto say = [first](const std::string& m) { first ? log_info(m) : log_debug(m); };
    say(who + " writes: " + writer.path());
    reader.on_path_decided([say, who](const std::string& m) { say(who + " reads: " + m); });
}

}  // namespace wirebridge::datapath
