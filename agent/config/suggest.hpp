// Helpers for config error messages: the known key a misspelt one most likely meant, and where
// tabs indent a YAML text (YAML allows only spaces there).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wirebridge::config {

// The candidate closest to `word` by edit distance (insert, delete, substitute, swap two
// neighbours), if it is close enough to be a typo: at most 1 edit for names up to 4 letters,
// 2 up to 8, else 3; case is ignored. Ties go to the first candidate.
std::optional<std::string> closest_name(const std::string& word, const std::vector<std::string>& candidates);

// 1-based (line, column) of every tab in a line's leading whitespace, comment lines skipped.
std::vector<std::pair<int, int>> indenting_tabs(std::string_view text);

}  // namespace wirebridge::config
