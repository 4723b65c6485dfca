// An OpenVPN config file (.ovpn / .conf) as OpenVPN reads it: one option per line, words split at
// blanks, "double" (with \ escapes) and 'single' quotes, comments from '#' or ';' at the start of
// a word, an optional leading "--", and inline files <name> ... </name>.
//
//   auto f = import::parse_ovpn(text);   // Result<OvpnFile>: errors name the line
//   for (const auto& d : f->directives) ...   // d.name "remote", d.args {"vpn.example.net", "1194"}
//   f->inline_block("ca")                     // the <ca> block's text, if any
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace wirebridge::import {

struct Directive {
    std::string name;
    std::vector<std::string> args;
    size_t line = 0;  // 1-based
};

struct InlineBlock {
    std::string name;
    std::string text;  // the lines between <name> and </name>, each ending in '\n'
    size_t line = 0;
};

struct OvpnFile {
    std::vector<Directive> directives;
    std::vector<InlineBlock> blocks;
    const InlineBlock* inline_block(std::string_view name) const;
};

// Bounds: a file of at most 1 MiB, lines of at most 64 KiB, 256 words a line (OpenVPN: 256 and 255).
Result<OvpnFile> parse_ovpn(std::string_view text);

}  // namespace wirebridge::import
