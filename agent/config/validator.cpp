// The value checks of the config walk: keys of a map, text, numbers, booleans, lists, addresses,
// endpoints and file paths, each reporting what is wrong and where.
#include "config/validator.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

#include "config/suggest.hpp"
#include "crypto/static_key.hpp"

namespace wirebridge::config::detail {

const char* kind(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Null: return "nothing";
        case YAML::NodeType::Scalar: return "a single value";
        case YAML::NodeType::Sequence: return "a list";
        case YAML::NodeType::Map: return "a map";
        default: return "an undefined value";
    }
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

Validator::Entries Validator::entries(const YAML::Node& map, const std::string& where,
                                      const std::vector<std::string>& allowed) {
    Entries out;
    if (!map.IsMap()) return out;
    for (auto it = map.begin(); it != map.end(); ++it) {
        const YAML::Node k = it->first;
        if (!k.IsScalar()) {
            error(k.Mark(), "a key in " + where + " is " + kind(k) + "; keys must be plain names");
            continue;
        }
        const std::string name = k.Scalar();
        if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
            std::string known;
            for (const auto& a : allowed) known += (known.empty() ? "" : ", ") + a;
            const auto guess = closest_name(name, allowed);
            error(k.Mark(), "unknown key '" + name + "' in " + where +
                                (guess ? "; did you mean '" + *guess + "'?" : "") + " (known keys: " + known + ")");
            continue;
        }
        if (const Entry* first = find(out, name)) {
            error(k.Mark(), "key '" + name + "' appears twice in " + where + "; the first is at line " +
                                std::to_string(first->key.Mark().line + 1) + " column " +
                                std::to_string(first->key.Mark().column + 1));
            continue;
        }
        out.emplace_back(name, Entry{k, it->second});
    }
    return out;
}

const Validator::Entry* Validator::find(const Entries& e, const std::string& key) {
    for (const auto& [name, entry] : e)
        if (name == key) return &entry;
    return nullptr;
}

bool Validator::is_map(const YAML::Node& n, const std::string& what) {
    if (n.IsMap()) return true;
    error(n.Mark(), what + " must be a map of keys, but it is " + kind(n));
    return false;
}

std::optional<std::string> Validator::text(const Entry& e, const std::string& what) {
    if (!e.value.IsScalar()) {
        error(e.value.IsNull() ? e.key.Mark() : e.value.Mark(),
              what + " must be a single value, but it is " + kind(e.value));
        return std::nullopt;
    }
    return e.value.Scalar();
}

std::optional<std::uint64_t> Validator::number(const Entry& e, const std::string& what, std::uint64_t min,
                                               std::uint64_t max) {
    auto t = text(e, what);
    if (!t) return std::nullopt;
    std::string_view s = *t;
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s.remove_prefix(2);
    }
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || v < min || v > max) {
        error(e.value.Mark(), what + " must be a whole number from " + std::to_string(min) + " to " +
                                  std::to_string(max) + ", not '" + *t + "'");
        return std::nullopt;
    }
    return v;
}

std::optional<bool> Validator::boolean(const Entry& e, const std::string& what) {
    auto t = text(e, what);
    if (!t) return std::nullopt;
    const std::string v = lower(*t);
    if (v == "true" || v == "yes" || v == "on") return true;
    if (v == "false" || v == "no" || v == "off") return false;
    error(e.value.Mark(), what + " must be true or false, not '" + *t + "'");
    return std::nullopt;
}

std::optional<std::vector<YAML::Node>> Validator::list(const Entry& e, const std::string& what) {
    if (!e.value.IsSequence()) {
        error(e.value.IsNull() ? e.key.Mark() : e.value.Mark(),
              what + " must be a list (e.g. [a, b]), but it is " + kind(e.value));
        return std::nullopt;
    }
    std::vector<YAML::Node> out;
    for (auto it = e.value.begin(); it != e.value.end(); ++it) out.push_back(*it);
    return out;
}

std::optional<Cidr> Validator::cidr(const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar()) {
        error(n.Mark(), what + " must be an address with a prefix (ADDRESS/PREFIX), but it is " + kind(n));
        return std::nullopt;
    }
    std::string why;
    auto c = parse_cidr(n.Scalar(), why);
    if (!c) error(n.Mark(), what + ": " + why);
    return c;
}

std::optional<Endpoint> Validator::endpoint(const YAML::Node& n, const std::string& what, bool allow_name) {
    if (!n.IsScalar()) {
        error(n.Mark(), what + " must be HOST:PORT, but it is " + kind(n));
        return std::nullopt;
    }
    std::string why;
    auto ep = parse_endpoint(n.Scalar(), allow_name, why);
    if (!ep) error(n.Mark(), what + ": " + why);
    return ep;
}

// Resolves a path relative to the config file and, when asked, checks the file can be read and looks
// like what it should be (the full parse happens when the tunnel starts).
std::string Validator::file_path(const Entry& e, const std::string& what, const char* marker) {
    auto t = text(e, what);
    if (!t) return {};
    if (t->empty()) {
        error(e.value.Mark(), what + " is empty; it must name a file");
        return {};
    }
    std::string path = (*t)[0] == '/' ? *t : base_dir_ + *t;
    if (!options_.check_system) return path;
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
        error(e.value.Mark(), what + " file '" + path + "' cannot be opened: " + std::strerror(errno));
        return path;
    }
    if (!S_ISREG(st.st_mode)) {
        error(e.value.Mark(), what + " '" + path + "' is not a regular file");
        return path;
    }
    std::ifstream in(path);
    if (!in) {
        error(e.value.Mark(), what + " file '" + path + "' cannot be read: " + std::strerror(errno));
        return path;
    }
    // Key material files are small; read a bounded prefix for the marker check.
    std::string content(64 * 1024, '\0');
    in.read(content.data(), static_cast<std::streamsize>(content.size()));
    content.resize(static_cast<std::size_t>(in.gcount()));
    if (marker && content.find(marker) == std::string::npos) {
        error(e.value.Mark(), what + " file '" + path + "' does not contain '" + marker + "'");
    } else if (marker && std::string_view(marker).find("OpenVPN Static key") != std::string_view::npos) {
        // Static keys are parsed here already, so a damaged key is reported with its position.
        if (auto k = crypto::parse_static_key(content, path); !k)
            error(e.value.Mark(), what + ": " + k.error().message);
    }
    return path;
}

}  // namespace wirebridge::config::detail
