#!/usr/bin/env bash
# docs/DEPLOY.md's first steps, run as written, in a scratch root standing in for /: copy an
# example to /etc/wirebridge, make the throw-away PKI with the packaged script, `wirebridge check`.
# The example must pass; the script must write only into the folder it is given (the examples are
# made read-only, as under /usr/share/doc); the hub and inline examples pass with the same PKI.
#
#   tests/deploy/examples.sh SOURCE_DIR WIREBRIDGE
set -uo pipefail

src=${1:?usage: examples.sh SOURCE_DIR WIREBRIDGE}
wb=${2:?usage: examples.sh SOURCE_DIR WIREBRIDGE}
command -v openssl >/dev/null || { echo "SKIP: openssl is not installed"; exit 77; }
tmp=$(mktemp -d /tmp/wb-examples-test.XXXXXX)
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT

passed=0
failed=0
ok() { printf 'PASS %s\n' "$*"; passed=$((passed + 1)); }
bad() { printf 'FAIL %s\n' "$*"; failed=$((failed + 1)); }
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

root=$tmp/root
doc=$root/usr/share/doc/wirebridge
mkdir -p "$doc" "$tmp/bin"
cp -r "$src/deploy/examples" "$doc/examples"
rm -rf "$doc/examples/pki"
chmod -R a-w "$doc"
ln -s "$(realpath "$wb")" "$tmp/bin/wirebridge"

# The lines between the deploy-steps markers, indented 4 (a Markdown code block), paths moved
# under the scratch root.
steps=$(sed -n '/^<!-- deploy-steps/,/^<!-- end deploy-steps/p' "$src/docs/DEPLOY.md" |
        sed -n 's/^    //p' | grep -v '^#' |
        sed -e "s#/etc/wirebridge#$root/etc/wirebridge#g" -e "s#/usr/share/doc/wirebridge#$doc#g")
check "DEPLOY.md has deploy-steps with a check of an example: $(tr '\n' ';' <<<"$steps")" \
    grep -q "wirebridge check -c $root/etc/wirebridge/" <<<"$steps"

out=$(cd "$tmp" && PATH=$tmp/bin:$PATH timeout 120 bash -euo pipefail -c "$steps" 2>&1)
rc=$?
echo "$out"
check "DEPLOY.md's steps run (rc $rc)" test $rc -eq 0
check "the copied example passes check: $(tail -n 1 <<<"$out")" grep -q ': OK: site branch-a' <<<"$out"
check "make-pki.sh wrote into the folder given" test -s "$root/etc/wirebridge/pki/site.key"
check "make-pki.sh wrote nothing next to itself" test ! -e "$doc/examples/pki"
check "private keys are not readable by others" \
    test "$(stat -c %a "$root/etc/wirebridge/pki/site.key")" = 600

chmod u+w "$root/etc/wirebridge"
cp "$doc/examples/hub.yaml" "$root/etc/wirebridge/hub.yaml"
out=$(timeout 30 "$wb" check -c "$root/etc/wirebridge/hub.yaml" 2>&1)
check "the hub example passes check with the same PKI: $out" grep -q ': OK: site hub' <<<"$out"

cp "$doc/examples/inline.yaml" "$root/etc/wirebridge/inline.yaml"
out=$(timeout 30 "$wb" check -c "$root/etc/wirebridge/inline.yaml" 2>&1)
check "the inline example passes check with the same PKI: $out" grep -q ': OK: site branch-a' <<<"$out"

# Every /etc/wirebridge path DEPLOY.md names for the examples' files is where the examples look.
for f in $(grep -o '/etc/wirebridge/pki/[a-z.]*' "$src/docs/DEPLOY.md" | sort -u); do
    check "DEPLOY.md's $f exists after its steps" test -e "$root$f"
done

out=$(sh "$doc/examples/make-pki.sh" 2>&1)
rc=$?
check "make-pki.sh without a folder is a usage error (rc $rc): $out" bash -c "[ $rc -eq 2 ] && grep -q usage <<<'$out'"

# The unit gives each instance its own runtime folder.
check "the unit's RuntimeDirectory is per instance" \
    grep -qx 'RuntimeDirectory=wirebridge/%i' "$src/deploy/systemd/wirebridge@.service"

echo "examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
