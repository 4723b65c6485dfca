// Reading a YAML config file into Config, collecting every error with its file, line and column.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace wirebridge::config {

struct ConfigError {
    std::string file;
    int line = 0;    // 1-based; 0 when the error has no position (e.g. the file cannot be read)
    int column = 0;  // 1-based
    std::string message;

    std::string to_string() const;  // "FILE:LINE:COLUMN: message"
};

struct LoadOptions {
    // Check that referenced files (ca, cert, key, tls_crypt, tls_auth.key) exist and are readable and
    // that `user` exists. Off only for the fuzzer, which must not depend on the file system.
    bool check_system = true;
};

struct LoadResult {
    std::optional<Config> config;  // set only when errors is empty
    std::vector<ConfigError> errors;

    bool ok() const { return errors.empty(); }
};

// Parses text as if it were the content of file `file_name`. Never throws; never crashes on any input.
LoadResult parse_config(std::string_view text, const std::string& file_name, const LoadOptions& options = {});

// Reads and parses the file at path.
LoadResult load_config(const std::string& path, const LoadOptions& options = {});

}  // namespace wirebridge::config
