#!/usr/bin/env bash
# deploy/bash-completion/wirebridge, sourced and called as bash calls it: commands, per-command
# options, genkey kinds, and what every offered command and option is accepted by the binary.
#
#   tests/deploy/completion.sh SOURCE_DIR WIREBRIDGE
set -uo pipefail
src=${1:?usage: completion.sh SOURCE_DIR WIREBRIDGE}
wb=${2:?usage: completion.sh SOURCE_DIR WIREBRIDGE}
# shellcheck source=/dev/null
. "$src/deploy/bash-completion/wirebridge"
failed=0
complete_words() {  # WORDS...: the completions of the last word
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMPREPLY=()
    _wirebridge
    printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}
expect() {
    local want=$1
    shift
    local got
    got=$(complete_words "$@")
    if [ "$got" = "$want" ]; then printf 'PASS %s -> %s\n' "$*" "$got"
    else printf 'FAIL %s -> "%s", want "%s"\n' "$*" "$got" "$want"; failed=$((failed + 1)); fi
}
expect "check " wirebridge ch
expect "--help --json --prometheus --socket " wirebridge status --
expect "--json " wirebridge flows --j
expect "tls-auth tls-crypt " wirebridge genkey tls
expect "--config " wirebridge run --c
# Whatever is offered, the binary takes: every command's --help, and status's options.
for c in run check cleanup modules status flows genkey; do
    if "$wb" "$c" --help | grep -q "^usage: wirebridge $c"; then echo "PASS $c --help"
    else echo "FAIL $c --help"; failed=$((failed + 1)); fi
done
echo "completion: $failed failed"
[ "$failed" -eq 0 ]
