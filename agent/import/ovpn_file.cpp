// OpenVPN config file tokenizer.
#include "import/ovpn_file.hpp"

#include <cctype>
#include <cerrno>
#include <iterator>

namespace wirebridge::import {

namespace {

constexpr size_t kMaxFile = 1 << 20;
constexpr size_t kMaxLine = 64 * 1024;
constexpr size_t kMaxWords = 256;

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::string where(size_t line) { return "line " + std::to_string(line) + ": "; }

// Splits one line into words (OpenVPN's parse_line): quotes group, '\' escapes inside double
// quotes and outside quotes, '#' or ';' at the start of a word begins a comment.
Result<std::vector<std::string>> split(std::string_view line, size_t n) {
    std::vector<std::string> words;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && blank(line[i])) ++i;
        if (i >= line.size() || line[i] == '#' || line[i] == ';') break;
        std::string w;
        bool any = false;
        while (i < line.size() && !blank(line[i])) {
            const char c = line[i];
            if (c == '"' || c == '\'') {
                const char q = c;
                ++i;
                bool closed = false;
                while (i < line.size()) {
                    if (line[i] == q) {
                        closed = true;
                        ++i;
                        break;
                    }
                    if (q == '"' && line[i] == '\\' && i + 1 < line.size()) ++i;
                    w.push_back(line[i++]);
                }
                if (!closed) return fail(where(n) + "a quote is not closed", EINVAL);
                any = true;
                continue;
            }
            if (c == '\\' && i + 1 < line.size()) ++i;
            w.push_back(line[i++]);
            any = true;
        }
        if (any) {
            if (words.size() >= kMaxWords) return fail(where(n) + "more than 256 words", EINVAL);
            words.push_back(std::move(w));
        }
    }
    return words;
}

}  // namespace

const InlineBlock* OvpnFile::inline_block(std::string_view name) const {
    for (const auto& b : blocks)
        if (b.name == name) return &b;
    return nullptr;
}

Result<OvpnFile> parse_ovpn(std::string_view text) {
    if (text.size() > kMaxFile) return fail("the file is larger than 1 MiB", EINVAL);
    OvpnFile f;
    size_t pos = 0, n = 0;
    std::optional<InlineBlock> open;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++n;
        if (line.size() > kMaxLine) return fail(where(n) + "longer than 64 KiB", EINVAL);
        if (n == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);  // UTF-8 BOM
        std::string_view trimmed = line;
        while (!trimmed.empty() && blank(trimmed.front())) trimmed.remove_prefix(1);
        while (!trimmed.empty() && blank(trimmed.back())) trimmed.remove_suffix(1);
        if (open) {
            if (trimmed == "</" + open->name + ">") {
                f.blocks.push_back(std::move(*open));
                open.reset();
            } else {
                open->text.append(line);
                if (!open->text.empty() && open->text.back() == '\r') open->text.pop_back();
                open->text.push_back('\n');
            }
            continue;
        }
        if (trimmed.size() > 2 && trimmed.front() == '<' && trimmed.back() == '>' && trimmed[1] != '/') {
            const std::string name(trimmed.substr(1, trimmed.size() - 2));
            for (char c : name)
                if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
                    return fail(where(n) + "'" + std::string(trimmed) + "' is not an inline file tag", EINVAL);
            if (f.inline_block(name)) return fail(where(n) + "<" + name + "> appears twice", EINVAL);
            open = InlineBlock{name, {}, n};
            continue;
        }
        if (trimmed.size() > 2 && trimmed.substr(0, 2) == "</")
            return fail(where(n) + "'" + std::string(trimmed) + "' closes a block that is not open", EINVAL);
        auto words = split(line, n);
        if (!words) return fail(words.error());
        if (words->empty()) continue;
        Directive d;
        d.name = std::move((*words)[0]);
        if (d.name.size() > 2 && d.name.substr(0, 2) == "--") d.name.erase(0, 2);
        d.args.assign(std::make_move_iterator(words->begin() + 1), std::make_move_iterator(words->end()));
        d.line = n;
        f.directives.push_back(std::move(d));
    }
    if (open) return fail(where(open->line) + "<" + open->name + "> is never closed", EINVAL);
    return f;
}

}  // namespace wirebridge::import
