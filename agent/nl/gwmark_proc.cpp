// GwmarkProc: parsing /proc/net/gwmark/{stats,flows} as include/xt_GWMARK.h specifies them.
#include "nl/gwmark_proc.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>

#include "xt_GWMARK.h"

namespace wirebridge::nl {

namespace {

std::vector<std::string_view> split(std::string_view line, char sep) {
    std::vector<std::string_view> out;
    size_t start = 0;
    while (start <= line.size()) {
        size_t end = line.find(sep, start);
        if (end == std::string_view::npos) end = line.size();
        if (end > start) out.push_back(line.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

template <typename T>
bool parse_number(std::string_view s, T& out, int base = 10) {
    if (base == 16) {
        if (s.size() < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return false;
        s.remove_prefix(2);
    }
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return ec == std::errc() && p == s.data() + s.size();
}

Result<std::optional<GwmarkSelector>> parse_selector(std::string_view v, size_t line_no) {
    if (v == GWMARK_STAT_MARK_OFF) return std::optional<GwmarkSelector>();
    auto parts = split(v, '/');
    GwmarkSelector s;
    if (parts.size() != 2 || !parse_number(parts[0], s.value, 16) ||
        !parse_number(parts[1], s.mask, 16))
        return fail("gwmark stats line " + std::to_string(line_no) + ": '" + std::string(v) +
                    "' is not VALUE/MASK");
    return std::optional<GwmarkSelector>(s);
}

Result<std::string> slurp(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        int err = errno;
        if (err == ENOENT)
            return fail(path + " does not exist: the xt_GWMARK module is not loaded", ENOENT);
        return fail_errno("cannot read " + path, err);
    }
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

Result<GwmarkStats> parse_gwmark_stats(std::string_view text) {
    GwmarkStats st;
    size_t line_no = 0;
    for (std::string_view line : split(text, '\n')) {
        ++line_no;
        auto f = split(line, ' ');
        if (f.size() != 2)
            return fail("gwmark stats line " + std::to_string(line_no) + " is not 'name value'");
        std::string name(f[0]);
        if (name == GWMARK_STAT_REPLY_MARK || name == GWMARK_STAT_ORIG_MARK) {
            auto sel = parse_selector(f[1], line_no);
            if (!sel) return fail(sel.error());
            (name == GWMARK_STAT_REPLY_MARK ? st.reply_mark : st.orig_mark) = *sel;
            continue;
        }
        uint64_t v = 0;
        if (!parse_number(f[1], v))
            return fail("gwmark stats line " + std::to_string(line_no) + ": '" +
                        std::string(f[1]) + "' is not a number");
        st.counters[name] = v;
    }
    return st;
}

Result<std::vector<GwmarkFlow>> parse_gwmark_flows(std::string_view text) {
    std::vector<GwmarkFlow> flows;
    size_t line_no = 0;
    for (std::string_view line : split(text, '\n')) {
        ++line_no;
        if (line.front() == '#') continue;
        auto f = split(line, ' ');
        // A newer module may append columns; the first ten are fixed.
        if (f.size() < GWMARK_FLOWS_FIELDS)
            return fail("gwmark flows line " + std::to_string(line_no) + " has " +
                        std::to_string(f.size()) + " fields, expected " +
                        std::to_string(GWMARK_FLOWS_FIELDS));
        GwmarkFlow fl;
        fl.family = f[0];
        fl.proto = f[1];
        fl.src = f[2];
        fl.dst = f[4];
        fl.reply_to = f[6];
        fl.gateway = f[7];
        fl.device = f[8];
        if (!parse_number(f[3], fl.sport) || !parse_number(f[5], fl.dport) ||
            !parse_number(f[9], fl.age))
            return fail("gwmark flows line " + std::to_string(line_no) +
                        ": ports and age must be numbers");
        flows.push_back(std::move(fl));
    }
    return flows;
}

Result<GwmarkStats> read_gwmark_stats(const std::string& dir) {
    auto text = slurp(dir + "/" GWMARK_PROC_STATS);
    if (!text) return fail(text.error());
    return parse_gwmark_stats(*text);
}

Result<std::vector<GwmarkFlow>> read_gwmark_flows(const std::string& dir) {
    auto text = slurp(dir + "/" GWMARK_PROC_FLOWS);
    if (!text) return fail(text.error());
    return parse_gwmark_flows(*text);
}

Result<GwmarkFlowsFile> GwmarkFlowsFile::open(const std::string& dir) {
    std::string path = dir + "/" GWMARK_PROC_FLOWS;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        if (err == ENOENT)
            return fail(path + " does not exist: the xt_GWMARK module is not loaded", ENOENT);
        return fail_errno("cannot open " + path, err);
    }
    return GwmarkFlowsFile(fd, std::move(path));
}

Result<std::vector<GwmarkFlow>> GwmarkFlowsFile::read() const {
    std::string text;
    char buf[65536];
    for (;;) {
        ssize_t n = ::pread(fd_, buf, sizeof(buf), static_cast<off_t>(text.size()));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_errno("cannot read " + path_);
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
    }
    return parse_gwmark_flows(text);
}

GwmarkFlowsFile::~GwmarkFlowsFile() {
    if (fd_ >= 0) ::close(fd_);
}

}  // namespace wirebridge::nl
