// The loader's internals: Validator, the walk over one YAML document that checks every value and
// collects every error with its position. Split by section: the value checks (validator.cpp), the
// tunnel section (parse_tunnel.cpp), the other sections (parse_sections.cpp), the document as a
// whole (loader.cpp: Validator::run, parse_config, load_config). Not a public header.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/address.hpp"
#include "config/config.hpp"
#include "config/loader.hpp"

#include <yaml-cpp/yaml.h>

namespace wirebridge::config::detail {

// Walks one document. Every check adds to errors_ and carries on, so one run reports everything.
class Validator {
public:
    Validator(std::string file, const LoadOptions& options) : file_(std::move(file)), options_(options) {
        const auto slash = file_.rfind('/');
        base_dir_ = slash == std::string::npos ? "" : file_.substr(0, slash + 1);
    }

    std::vector<ConfigError> errors_;

    void error(const YAML::Mark& m, std::string message) {
        // yaml-cpp marks are 0-based; a null mark (-1) means "no position".
        const int line = m.line < 0 ? 0 : m.line + 1;
        const int column = m.column < 0 ? 0 : m.column + 1;
        errors_.push_back(ConfigError{file_, line, column, std::move(message)});
    }
    void error_at_start(std::string message) {
        errors_.push_back(ConfigError{file_, 1, 1, std::move(message)});
    }

    Config run(const YAML::Node& root);

private:
    struct Entry {
        YAML::Node key;
        YAML::Node value;
    };
    // A map's entries by key text, after reporting unknown and repeated keys.
    using Entries = std::vector<std::pair<std::string, Entry>>;

    Entries entries(const YAML::Node& map, const std::string& where, const std::vector<std::string>& allowed);
    static const Entry* find(const Entries& e, const std::string& key);

    std::optional<std::string> text(const Entry& e, const std::string& what);
    std::optional<std::uint64_t> number(const Entry& e, const std::string& what, std::uint64_t min,
                                        std::uint64_t max);
    std::optional<bool> boolean(const Entry& e, const std::string& what);
    std::optional<std::vector<YAML::Node>> list(const Entry& e, const std::string& what);
    std::optional<Cidr> cidr(const YAML::Node& n, const std::string& what);
    std::optional<Endpoint> endpoint(const YAML::Node& n, const std::string& what, bool allow_name);
    std::string file_path(const Entry& e, const std::string& what, const char* pem_marker);
    bool is_map(const YAML::Node& n, const std::string& what);

    void parse_bridge(const Entry& e, Config& c);
    void parse_tunnel(const Entry& e, Config& c);
    std::vector<const Entry*> parse_switch(const Entries& m, TunnelConfig& t);
    void parse_pool(const Entry& e, Config& c);
    void parse_mtu(const Entries& m, TunnelConfig& t);
    bool parse_link(const Entries& m, const YAML::Mark& here, TunnelConfig& t);
    void parse_tls(const Entries& m, const YAML::Mark& here, TunnelConfig& t);
    void parse_data_channel(const Entries& m, TunnelConfig& t);
    void parse_timers(const Entries& m, TunnelConfig& t);
    std::vector<const Entry*> parse_openvpn_extras(const Entries& m, TunnelConfig& t);
    void parse_fastpath(const Entry& e, Config& c);
    void parse_interest(const Entry& e, Config& c);
    void parse_control(const Entry& e, Config& c);
    void parse_log(const Entry& e, Config& c);
    void parse_limits(const Entry& e, Config& c);

    std::string file_;
    std::string base_dir_;
    LoadOptions options_;
};

// What a node is, in words ("a list", "a map", ...), for error messages.
const char* kind(const YAML::Node& n);
std::string lower(std::string s);

}  // namespace wirebridge::config::detail
