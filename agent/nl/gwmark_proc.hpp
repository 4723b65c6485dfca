// GwmarkProc: reads the kernel fast path's /proc/net/gwmark files (format: include/xt_GWMARK.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace wirebridge::nl {

// A fast-path selector as the stats file prints it: "0x00000032/0xffffffff", or "off".
struct GwmarkSelector {
    uint32_t value = 0;
    uint32_t mask = 0;
};

struct GwmarkStats {
    std::map<std::string, uint64_t> counters;  // learned, reply_xmit, ... and entries, max_entries
    std::optional<GwmarkSelector> reply_mark;   // nullopt: "off"
    std::optional<GwmarkSelector> orig_mark;

    uint64_t counter(const std::string& name) const {
        auto it = counters.find(name);
        return it == counters.end() ? 0 : it->second;
    }
};

struct GwmarkFlow {
    std::string family, proto, src, dst, reply_to, gateway, device;
    uint16_t sport = 0, dport = 0;
    uint64_t age = 0;
};

// Parsers take the file's text, so they can be tested and fuzzed on bytes; lines they do not
// know (a newer module) are skipped, lines they know but cannot read are errors.
Result<GwmarkStats> parse_gwmark_stats(std::string_view text);
Result<std::vector<GwmarkFlow>> parse_gwmark_flows(std::string_view text);

// Reads the files of the caller's network namespace. ENOENT: the module is not loaded.
Result<GwmarkStats> read_gwmark_stats(const std::string& dir = "/proc/net/gwmark");
Result<std::vector<GwmarkFlow>> read_gwmark_flows(const std::string& dir = "/proc/net/gwmark");

// The flows file kept open: it is readable by root only (0440, like conntrack's), so the
// daemon opens it before it drops privileges and re-reads it from the start through the
// kept descriptor (pread at offset 0: the kernel walks the table anew) ever after.
class GwmarkFlowsFile {
public:
    static Result<GwmarkFlowsFile> open(const std::string& dir = "/proc/net/gwmark");
    Result<std::vector<GwmarkFlow>> read() const;

    GwmarkFlowsFile(GwmarkFlowsFile&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) {
        other.fd_ = -1;
    }
    GwmarkFlowsFile& operator=(GwmarkFlowsFile&&) = delete;
    GwmarkFlowsFile(const GwmarkFlowsFile&) = delete;
    GwmarkFlowsFile& operator=(const GwmarkFlowsFile&) = delete;
    ~GwmarkFlowsFile();

private:
    GwmarkFlowsFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    int fd_ = -1;
    std::string path_;
};

}  // namespace wirebridge::nl
