// YAML → Config: walks the known schema, checks every value, and collects all errors with their position.
#include "config/loader.hpp"

#include "config/validator.hpp"

#include <pwd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/suggest.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

namespace wirebridge::config {

std::string ConfigError::to_string() const {
    if (line <= 0) return file + ": " + message;
    return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

namespace detail {

Config Validator::run(const YAML::Node& root) {
    Config c;
    c.file = file_;
    if (!root.IsMap()) {
        if (root.IsNull()) error_at_start("the file has no settings; it needs at least 'site' and 'tunnel'");
        else error(root.Mark(), std::string("the file must be a map of settings, but it is ") + kind(root));
        return c;
    }
    const auto m = entries(root, "the file",
                           {"site", "bridge", "tunnel", "fastpath", "interest", "control", "log", "user", "limits"});
    if (auto* n = find(m, "site")) {
        if (auto v = text(*n, "site")) {
            const bool ok = !v->empty() && v->size() <= 64 &&
                            std::all_of(v->begin(), v->end(), [](unsigned char ch) {
                                return std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.';
                            });
            if (ok) c.site = *v;
            else error(n->value.Mark(), "site must be 1 to 64 letters, digits, '-', '_' or '.', not '" + *v + "'");
        }
    } else {
        error(root.Mark(), "the file has no 'site' (a short name for this box, e.g. branch-a)");
    }
    // bridge first: tunnel.join_bridge refers to it.
    if (auto* n = find(m, "bridge")) parse_bridge(*n, c);
    if (auto* n = find(m, "tunnel")) parse_tunnel(*n, c);
    else error(root.Mark(), "the file has no 'tunnel' section");
    if (auto* n = find(m, "fastpath")) parse_fastpath(*n, c);
    if (auto* n = find(m, "interest")) parse_interest(*n, c);
    if (auto* n = find(m, "control")) parse_control(*n, c);
    if (c.control.socket.empty() && !c.site.empty()) {
        if (c.site == "." || c.site == "..")
            error(find(m, "site")->value.Mark(), "site '" + c.site + "' cannot name the control socket's folder; set control.socket");
        else
            c.control.socket = default_control_socket(c.site);
    }
    if (auto* n = find(m, "log")) parse_log(*n, c);
    if (auto* n = find(m, "limits")) parse_limits(*n, c);
    if (auto* n = find(m, "user")) {
        if (auto v = text(*n, "user")) {
            if (v->empty()) error(n->value.Mark(), "user is empty");
            else if (options_.check_system && getpwnam(v->c_str()) == nullptr)
                error(n->value.Mark(), "user '" + *v + "' does not exist on this system");
            else c.user = *v;
        }
    }
    if (c.bridge && c.tunnel.device == c.bridge->name)
        error(root.Mark(), "tunnel.device and bridge.name are both '" + c.bridge->name + "'");
    if (c.bridge)
        for (const auto& p : c.bridge->ports)
            if (p == c.tunnel.device) error(root.Mark(), "tunnel.device '" + p + "' is also listed in bridge.ports");
    if (c.bridge && c.bridge->gateway) {
        const auto& b = *c.bridge;
        if (c.interest && (b.uplink_table == c.interest->table ||
                           (b.uplink_table >= c.interest->rule_priority && b.uplink_table <= c.interest->rule_priority + 2)))
            error(root.Mark(), "bridge.uplink_table " + std::to_string(b.uplink_table) +
                                   " meets interest.table or the interest rules' priorities (" +
                                   std::to_string(c.interest->rule_priority) + " and the next two); choose another");
        if (c.fastpath.enabled && ((c.fastpath.reply_mark | c.fastpath.orig_mark) & b.uplink_mark))
            error(root.Mark(), "bridge.uplink_mark shares bits with fastpath.reply_mark or orig_mark; choose another");
    }
    return c;
}

}  // namespace detail

namespace {

using detail::Validator;

// Ignores every event; used only to count documents.
class NullHandler : public YAML::EventHandler {
public:
    void OnDocumentStart(const YAML::Mark& m) override { last_start = m; }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
    YAML::Mark last_start = YAML::Mark::null_mark();
};

// Where a second document starts, if there is one. yaml-cpp's LoadAll loops forever on some inputs
// (a stray ',' at document level yields endless empty documents), so documents are counted with a bound.
std::optional<YAML::Mark> second_document_mark(const std::string& text) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    NullHandler h;
    if (!parser.HandleNextDocument(h)) return std::nullopt;
    if (!parser.HandleNextDocument(h)) return std::nullopt;
    return h.last_start;
}

}  // namespace

LoadResult parse_config(std::string_view text, const std::string& file_name, const LoadOptions& options) {
    LoadResult r;
    Validator v(file_name, options);
    try {
        const std::string owned(text);
        const YAML::Node root = YAML::Load(owned);
        if (auto second = second_document_mark(owned))
            v.error(*second, "the file holds more than one YAML document; keep one");
        const Config c = v.run(root);
        if (v.errors_.empty()) r.config = c;
    } catch (const YAML::Exception& e) {
        // A tab in indentation is the usual cause, and yaml-cpp's message does not say so.
        for (const auto& [line, column] : indenting_tabs(text))
            v.errors_.push_back(ConfigError{file_name, line, column,
                                            "a tab indents this line; YAML indents with spaces only"});
        v.error(e.mark, "not valid YAML: " + e.msg);
    } catch (const std::exception& e) {
        v.error_at_start(std::string("cannot be parsed: ") + e.what());
    }
    r.errors = std::move(v.errors_);
    // In file order, as a reader goes through the file; errors without a position first.
    std::stable_sort(r.errors.begin(), r.errors.end(), [](const ConfigError& a, const ConfigError& b) {
        return a.line != b.line ? a.line < b.line : a.column < b.column;
    });
    if (!r.errors.empty()) r.config.reset();
    return r;
}

LoadResult load_config(const std::string& path, const LoadOptions& options) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        LoadResult r;
        r.errors.push_back(ConfigError{path, 0, 0, std::string("cannot open the file: ") + std::strerror(errno)});
        return r;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) {
        LoadResult r;
        r.errors.push_back(ConfigError{path, 0, 0, "cannot read the file"});
        return r;
    }
    return parse_config(ss.str(), path, options);
}

}  // namespace wirebridge::config
