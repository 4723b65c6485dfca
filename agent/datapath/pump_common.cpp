// The TAP I/O path log line of a data path worker.
#include "datapath/pump_common.hpp"

#include "common/log.hpp"

namespace wirebridge::datapath {

void log_worker_io_path(unsigned index, const std::string& tap_name, unsigned queue, const io::TapWriter& writer,
                        io::TapReader& reader) {
    const std::string who = "worker " + std::to_string(index) + ": TAP " + tap_name + " queue " + std::to_string(queue);
    const bool first = index == 0;
    auto say = [first](const std::string& m) { first ? log_info(m) : log_debug(m); };
    say(who + " writes: " + writer.path());
    reader.on_path_decided([say, who](const std::string& m) { say(who + " reads: " + m); });
}

}  // namespace wirebridge::datapath
