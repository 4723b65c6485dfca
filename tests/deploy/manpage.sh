#!/usr/bin/env bash
# wirebridge.yaml(5) and docs/CONFIG.md agree: the page deploy/man/config2man makes from CONFIG.md
# (what the build installs) renders without a groff warning, has every section of CONFIG.md in
# order, and lists, in the right section, every key CONFIG.md's tables name; the built page is
# the one the generator makes from today's CONFIG.md.
#
#   tests/deploy/manpage.sh SOURCE_DIR [BUILT_PAGE]
set -uo pipefail
src=${1:?usage: manpage.sh SOURCE_DIR [BUILT_PAGE]}
built=${2:-}
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
command -v groff >/dev/null || { echo "SKIP: groff is not installed"; exit 77; }
tmp=$(mktemp -d /tmp/wb-manpage-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failed=0
ok() { printf 'PASS %s\n' "$*"; }
bad() { printf 'FAIL %s\n' "$*"; failed=$((failed + 1)); }
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

md=$src/docs/CONFIG.md
page=$tmp/wirebridge.yaml.5
python3 "$src/deploy/man/config2man" "$md" 9.9.9 >"$page"
check "config2man makes a page" test -s "$page"
warn=$(LC_ALL=C.UTF-8 groff -mandoc -Tutf8 -ww -z "$page" 2>&1)
check "groff -ww renders it without warnings${warn:+: $warn}" test -z "$warn"
check "its title is WIREBRIDGE.YAML(5) of the version given" grep -qx '.TH WIREBRIDGE.YAML 5 "" "wirebridge 9.9.9" "File Formats"' "$page"
# The page as a reader sees it, for the checks below (no hyphenation, no justification).
LC_ALL=C.UTF-8 MANWIDTH=200 groff -mandoc -Tutf8 -rHY=0 -dAD=l -P-cbou "$page" 2>/dev/null >"$tmp/text"

# Sections: every ## and ### heading, in CONFIG.md's order.
sed -n 's/^##\{1,2\} //p' "$md" | tr -d '`' >"$tmp/md-sections"
grep -E '^\.S[HS] ' "$page" | sed 's/^\.S[HS] //; s/^"\(.*\)"$/\1/; s/\\-/-/g' |
    grep -vE '^(NAME|SYNOPSIS|DESCRIPTION|SEE ALSO)$' >"$tmp/man-sections"
check "every section of CONFIG.md, in order ($(wc -l <"$tmp/md-sections"))" \
    diff <(tr '[:lower:]' '[:upper:]' <"$tmp/md-sections" | sed 's/^/x/') \
         <(tr '[:lower:]' '[:upper:]' <"$tmp/man-sections" | sed 's/^/x/')

# Keys: the first cell of every table row (not the header or the rule), per section.
awk '
    /^##+ / { sec = $0; sub(/^##+ /, "", sec); gsub(/`/, "", sec); head = 1; next }
    /^\|/ {
        if (head) { head = 0; next }          # the header row
        if ($0 ~ /^\|[-|: ]+\|?$/) next       # the rule under it
        split($0, c, "|"); key = c[2]; gsub(/^ +| +$/, "", key); gsub(/`/, "", key)
        print sec "\t" key; next
    }
    { head = 1 }
' "$md" >"$tmp/md-keys"
# In the page: the tag line after each .TP, with the section it is in.
awk '
    /^\.S[HS] / { sec = $0; sub(/^\.S[HS] "/, "", sec); sub(/"$/, "", sec); next }
    /^\.TP$/ { tp = 1; next }
    tp { key = $0; gsub(/\\f[BIR]/, "", key); gsub(/\\-/, "-", key); gsub(/\\e/, "\\", key); print sec "\t" key; tp = 0 }
' "$page" >"$tmp/man-keys"
check "CONFIG.md's tables name keys ($(wc -l <"$tmp/md-keys"))" test "$(wc -l <"$tmp/md-keys")" -gt 50
check "the page has one entry per key row, in the same sections and order" \
    diff <(awk -F'\t' '{print toupper($1) "\t" $2}' "$tmp/md-keys") <(awk -F'\t' '{print toupper($1) "\t" $2}' "$tmp/man-keys")
# And each row's text is there, as a reader sees it (its last cell, markup removed).
missing=0
while IFS= read -r row; do
    text=$(awk -F'|' '{print $(NF-1)}' <<<"$row" | sed 's/`//g; s/\*\*//g; s/\[\([^]]*\)\]([^)]*)/\1/g; s/^ *//; s/ *$//')
    [ -n "$text" ] || continue
    probe=$(cut -c1-40 <<<"$text")
    if ! tr -s ' \n' '  ' <"$tmp/text" | grep -qF -- "$probe"; then
        echo "  missing: $probe"
        missing=$((missing + 1))
    fi
done < <(grep -E '^\| `' "$md")
check "every key's meaning is in the rendered page ($missing missing)" test "$missing" -eq 0

if [ -n "$built" ]; then
    python3 "$src/deploy/man/config2man" "$md" "$(sed -n 's/^project(wirebridge VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")" >"$tmp/expected"
    check "the built $built is config2man's page of today's CONFIG.md" cmp -s "$tmp/expected" "$built"
fi
echo "manpage: $failed failed"
[ "$failed" -eq 0 ]
