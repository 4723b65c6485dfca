// "did you mean" and tab detection for config errors.
#include "config/suggest.hpp"

#include <algorithm>
#include <cctype>

namespace wirebridge::config {

namespace {

// Optimal string alignment distance (Damerau-Levenshtein without repeated edits of a substring).
std::size_t distance(const std::string& a, const std::string& b) {
    const std::size_t n = a.size(), m = b.size();
    std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
    for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= n; ++i)
        for (std::size_t j = 1; j <= m; ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[n][m];
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

}  // namespace

std::optional<std::string> closest_name(const std::string& word, const std::vector<std::string>& candidates) {
    if (word.empty() || word.size() > 64) return std::nullopt;
    const std::string w = lower(word);
    const std::size_t limit = w.size() <= 4 ? 1 : w.size() <= 8 ? 2 : 3;
    std::optional<std::string> best;
    std::size_t best_d = limit + 1;
    for (const auto& c : candidates) {
        const std::size_t d = distance(w, lower(c));
        if (d < best_d) {
            best_d = d;
            best = c;
        }
    }
    return best;
}

std::vector<std::pair<int, int>> indenting_tabs(std::string_view text) {
    std::vector<std::pair<int, int>> out;
    int line = 1;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t end = std::min(text.find('\n', start), text.size());
        const std::string_view l = text.substr(start, end - start);
        const std::size_t first = l.find_first_not_of(" \t");
        const bool comment_or_blank = first == std::string_view::npos || l[first] == '#';
        if (!comment_or_blank)
            for (std::size_t i = 0; i < first; ++i)
                if (l[i] == '\t') {
                    out.emplace_back(line, static_cast<int>(i) + 1);
                    break;  // one a line is enough
                }
        if (end == text.size()) break;
        start = end + 1;
        ++line;
    }
    return out;
}

}  // namespace wirebridge::config
