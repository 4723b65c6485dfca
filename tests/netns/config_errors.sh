#!/usr/bin/env bash
# DESIGN scenario 6, a malformed config: `wirebridge check` and `wirebridge run` refuse each broken
# file with exit status 1 and `FILE:LINE:COLUMN: sentence` pointing at the offending token; run
# refuses before touching the system (no TAP, no bridge, links and addresses as they were).
#
#   appliance ns $T-sys
#  +──────────────────────────────────────────────+
#  │ ${T}l (veth port the config names, to ${T}x)   │   wirebridge run -c broken.yaml
#  │ would-be bridge ${T}b, would-be TAP ${T}t:      │   must exit 1 and create neither
#  │ must never appear                             │
#  +──────────────────────────────────────────────+
set -euo pipefail
. "$(dirname "$0")/lib.sh"

log "tag $T, scratch $WORK, $("$WB" --version)"
wbn_pki s1
wbn_ns sys
ip -n "$T-sys" link add "${T}l" type veth peer name "${T}x"

# A valid site config, one element per line: each case replaces one line and says where the
# error must be reported (that line; the column of the offending token).
base=(
    "site: cfgtest"
    "bridge:"
    "  name: ${T}b"
    "  ports: [${T}l]"
    "  address: $LAN.201/24"
    "tunnel:"
    "  role: client"
    "  proto: udp"
    "  remote: [$HUB_WAN:$PORT]"
    "  device: ${T}t"
    "  join_bridge: true"
    "  ca: $WORK/ca.crt"
    "  cert: $WORK/s1.crt"
    "  key: $WORK/s1.key"
    "  tls_crypt: $WORK/tc.key"
    "  keepalive: {interval: 2, timeout: 10}"
    "control: {socket: $WORK/cfg.sock}"
    "log: {level: info}"
)
line_of() {  # the 1-based line of base that starts with $1
    local i
    for i in "${!base[@]}"; do
        [[ ${base[$i]} == "$1"* ]] && { echo $((i + 1)); return; }
    done
    die "no line starts with '$1'"
}
# write_case NAME PREFIX NEW_LINE: $WORK/NAME.yaml = base with the line starting with PREFIX replaced.
write_case() {
    local n
    n=$(line_of "$2")
    local lines=("${base[@]}")
    lines[$((n - 1))]=$3
    printf '%s\n' "${lines[@]}" >"$WORK/$1.yaml"
}
# col_of LINE TOKEN: the 1-based column where TOKEN starts in LINE.
col_of() {
    local before=${1%%"$2"*}
    echo $((${#before} + 1))
}

printf '%s\n' "${base[@]}" >"$WORK/good.yaml"
require "the base config is valid (check exits 0)" "$WB" check -c "$WORK/good.yaml"

snapshot sys >"$WORK/before.sys"

# expect_error NAME LINE COLUMN REGEX: check and run both exit 1 and print NAME.yaml:LINE:COLUMN:
# followed by a sentence matching REGEX; run leaves the namespace untouched.
expect_error() {
    local name=$1 line=$2 col=$3 re=$4 file=$WORK/$1.yaml cmd rc out
    for cmd in check run; do
        rc=0
        out=$(on sys timeout 20 "$WB" "$cmd" -c "$file" 2>&1) || rc=$?
        printf '  %s %s.yaml -> %s\n' "$cmd" "$name" "$rc"
        sed 's/^/    | /' <<<"$out"
        check "$cmd $name: exit status 1 (got $rc)" test "$rc" = 1
        check "$cmd $name: reports $name.yaml:$line:$col: /$re/" matches "$out" "^$file:$line:$col: .*($re)"
        check "$cmd $name: the sentence is plain text on one line" matches "$out" "^$file:$line:$col: [A-Za-z'].{10,}"
    done
    check "run $name: no TAP created" no_link sys "${T}t"
    check "run $name: no bridge created" no_link sys "${T}b"
    check "run $name: links, addresses and rules as before" same_as_before sys "$WORK/before.sys"
}

l=$(line_of "  keepalive:")
write_case unknown_key "  keepalive:" "  kepalive: {interval: 2, timeout: 10}"
expect_error unknown_key "$l" 3 "unknown key 'kepalive'"

l=$(line_of "  join_bridge:")
new="  join_bridge: sometimes"
write_case wrong_type_bool "  join_bridge:" "$new"
expect_error wrong_type_bool "$l" "$(col_of "$new" sometimes)" "true or false"

l=$(line_of "  keepalive:")
new="  keepalive: {interval: ten, timeout: 10}"
write_case wrong_type_number "  keepalive:" "$new"
expect_error wrong_type_number "$l" "$(col_of "$new" ten)" "whole number"

l=$(line_of "  ports:")
new="  ports: ${T}l"
write_case wrong_type_list "  ports:" "$new"
expect_error wrong_type_list "$l" "$(col_of "$new" "${T}l")" "list|sequence"

l=$(line_of "  address:")
new="  address: $LAN.300/24"
write_case bad_address "  address:" "$new"
expect_error bad_address "$l" "$(col_of "$new" "$LAN.300")" "address"

l=$(line_of "  cert:")
new="  cert: $WORK/missing.crt"
write_case missing_cert "  cert:" "$new"
expect_error missing_cert "$l" "$(col_of "$new" "$WORK/missing.crt")" "missing\.crt.*(cannot be opened|No such file)"

l=$(line_of "  remote:")
new="  remote: [$HUB_WAN:99999]"
write_case bad_port "  remote:" "$new"
expect_error bad_port "$l" "$(col_of "$new" "$HUB_WAN:99999")" "port"

l=$(line_of "  remote:")
new="  remote: [$HUB_WAN:0]"
write_case zero_port "  remote:" "$new"
expect_error zero_port "$l" "$(col_of "$new" "$HUB_WAN:0")" "port"

l=$(line_of "  role:")
new="  role: hub"
write_case bad_role "  role:" "$new"
expect_error bad_role "$l" "$(col_of "$new" hub)" "client or server"

# Two mistakes in one file: both are reported, each at its own place, and check counts them.
write_case two_errors "  keepalive:" "  kepalive: {interval: 2, timeout: 10}"
l1=$(line_of "  keepalive:")
l2=$(line_of "  remote:")
sed -i "${l2}s/:$PORT]/:99999]/" "$WORK/two_errors.yaml"
rc=0
out=$("$WB" check -c "$WORK/two_errors.yaml" 2>&1) || rc=$?
sed 's/^/    | /' <<<"$out"
check "check two_errors: exit status 1" test "$rc" = 1
check "check two_errors: the unknown key at $l1:3" matches "$out" "^$WORK/two_errors.yaml:$l1:3: .*kepalive"
check "check two_errors: the bad port at $l2:$(col_of "  remote: [$HUB_WAN:99999]" "$HUB_WAN")" \
    matches "$out" "^$WORK/two_errors.yaml:$l2:$(col_of "  remote: [$HUB_WAN:99999]" "$HUB_WAN"): .*port"
check "check two_errors: says 2 errors" matches "$out" "2 errors"
check "check two_errors: did you mean 'keepalive'" matches "$out" "kepalive' in tunnel; did you mean 'keepalive'\\?"
first=$((l1 < l2 ? l1 : l2))
check "check two_errors: in file order (line $first first)" matches "$(head -n 1 <<<"$out")" "^$WORK/two_errors.yaml:$first:"

# A YAML syntax error (a tab where indentation is expected) is reported with a position too.
printf '%s\n' "${base[@]}" | sed "s/^  proto: udp/\tproto: udp/" >"$WORK/syntax.yaml"
l=$(line_of "  proto:")
for cmd in check run; do
    rc=0
    out=$(on sys timeout 20 "$WB" "$cmd" -c "$WORK/syntax.yaml" 2>&1) || rc=$?
    sed 's/^/    | /' <<<"$out"
    check "$cmd syntax: exit status 1 (got $rc)" test "$rc" = 1
    check "$cmd syntax: reported at line $l with a column" matches "$out" "^$WORK/syntax.yaml:$l:[0-9]+: "
    check "$cmd syntax: says a tab indents line $l" matches "$out" "^$WORK/syntax.yaml:$l:1: a tab indents this line"
done
check "run syntax: links, addresses and rules as before" same_as_before sys "$WORK/before.sys"

# A file that does not exist: exit 1 and the file named.
rc=0
out=$("$WB" run -c "$WORK/nonexistent.yaml" 2>&1) || rc=$?
check "run on a missing file: exit status 1 (got $rc)" test "$rc" = 1
check "run on a missing file: names the file" matches "$out" "$WORK/nonexistent.yaml"

wbn_finish
