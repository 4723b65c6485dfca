// `wirebridge import`: read, convert, write, report.
#include "app/import_ovpn.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "import/ovpn_import.hpp"

namespace wirebridge::app {

namespace {

std::string dir_of(const std::string& p) {
    const auto slash = p.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : p.substr(0, slash);
}

std::string stem_of(const std::string& p) {
    std::string base = p.substr(p.rfind('/') == std::string::npos ? 0 : p.rfind('/') + 1);
    for (const char* ext : {".ovpn", ".conf", ".yaml"})
        if (base.size() > std::strlen(ext) && base.compare(base.size() - std::strlen(ext), std::string::npos, ext) == 0)
            base.resize(base.size() - std::strlen(ext));
    return base;
}

std::string absolute(const std::string& p) {
    if (!p.empty() && p[0] == '/') return p;
    char cwd[4096];
    if (!::getcwd(cwd, sizeof cwd)) return p;
    return std::string(cwd) + "/" + p;
}

// A site name from a file name: letters, digits, '-', '_' and '.', else '-'.
std::string site_of(const std::string& stem) {
    std::string s;
    for (char c : stem) s.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ? c : '-');
    return s.empty() ? "site" : s;
}

bool write_new(const std::string& path, const std::string& content, mode_t mode, std::string& why) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        why = path + ": " + std::strerror(errno) + (errno == EEXIST ? " (never overwritten)" : "");
        return false;
    }
    size_t off = 0;
    while (off < content.size()) {
        const ssize_t n = ::write(fd, content.data() + off, content.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            why = path + ": " + std::strerror(errno);
            ::close(fd);
            return false;
        }
        off += static_cast<size_t>(n);
    }
    if (::close(fd) != 0) {
        why = path + ": " + std::strerror(errno);
        return false;
    }
    return true;
}

}  // namespace

int import_ovpn_command(const std::string& file, const std::string& out, const std::string& site, std::ostream& o,
                        std::ostream& err) {
    std::ifstream in(file);
    if (!in) {
        err << "wirebridge import: cannot read '" << file << "': " << std::strerror(errno) << "\n";
        return 1;
    }
    std::string text;
    text.resize(1 << 20 | 1);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    auto parsed = import::parse_ovpn(text);
    if (!parsed) {
        err << file << ": " << parsed.error().message << "\n";
        return 1;
    }
    const std::string yaml_path = absolute(out.empty() ? dir_of(file) + "/" + stem_of(file) + ".yaml" : out);
    import::ImportOptions opt;
    opt.source_dir = dir_of(absolute(file));
    opt.out_dir = dir_of(yaml_path);
    opt.stem = stem_of(yaml_path);
    opt.site = site.empty() ? site_of(stem_of(file)) : site;
    const import::ImportResult r = import::convert_ovpn(*parsed, opt);
    for (const auto& m : r.mapped) o << "mapped   " << m << "\n";
    for (const auto& m : r.ignored) o << "ignored  " << m << "\n";
    for (const auto& m : r.refused) o << "refused  " << m << "\n";
    if (!r.ok()) {
        err << "wirebridge import: " << r.refused.size() << " option(s) refused: wirebridge would behave differently; "
            << "nothing written\n";
        return 1;
    }
    std::string why;
    std::vector<std::string> written;
    for (const auto& f : r.files) {
        if (!write_new(f.path, f.content, f.mode, why)) break;
        written.push_back(f.path);
    }
    if (why.empty() && write_new(yaml_path, r.yaml, 0644, why)) {
        for (const auto& w : written) o << "wrote    " << w << "\n";
        o << "wrote    " << yaml_path << "\n"
          << "next: wirebridge check -c " << yaml_path << "\n";
        return 0;
    }
    for (const auto& w : written) ::unlink(w.c_str());
    err << "wirebridge import: " << why << "; nothing written\n";
    return 1;
}

}  // namespace wirebridge::app
