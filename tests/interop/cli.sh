#!/bin/bash
# CLI checks of the wirebridge binary (no network): usage errors exit 2, `check` accepts the
# deploy/examples files and reports every error of a bad file as FILE:LINE:COLUMN with exit 1,
# `genkey` writes keys stock openvpn reads, and wirebridge reads openvpn's `--genkey` output.
set -u
WIREBRIDGE=${WIREBRIDGE:-wirebridge}
OPENVPN=${OPENVPN:-/usr/sbin/openvpn}
HERE=$(cd "$(dirname "$0")" && pwd)
EXAMPLES=$HERE/../../deploy/examples
WORK=$(mktemp -d /tmp/wb-cli.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
passed=0 failed=0
check() {  # NAME COMMAND...: PASS if the command succeeds
    local name=$1
    shift
    if "$@" > "$WORK/out" 2>&1; then passed=$((passed + 1)); echo "PASS $name"
    else failed=$((failed + 1)); echo "FAIL $name"; sed 's/^/    | /' "$WORK/out" | tail -10; fi
}
status_is() {  # WANT COMMAND...
    local want=$1
    shift
    "$@"
    local got=$?
    [ "$got" = "$want" ] || { echo "exit status $got, want $want"; return 1; }
}

check "usage error exits 2" status_is 2 "$WIREBRIDGE" frobnicate
check "run without -c exits 2" status_is 2 "$WIREBRIDGE" run
check "--help exits 0" status_is 0 "$WIREBRIDGE" --help
check "--version" sh -c "'$WIREBRIDGE' --version | grep -q '^wirebridge [0-9]'"

# Examples, with a throw-away PKI (the examples' own script, writing into a copy).
cp -r "$EXAMPLES" "$WORK/examples"
check "make-pki.sh" env PATH="$(dirname "$(command -v "$WIREBRIDGE")"):$PATH" "$WORK/examples/make-pki.sh" "$WORK/examples/pki"
check "check site.yaml" sh -c "'$WIREBRIDGE' check -c '$WORK/examples/site.yaml' | grep -q ': OK: site branch-a'"
check "check hub.yaml" sh -c "'$WIREBRIDGE' check -c '$WORK/examples/hub.yaml' | grep -q ': OK: site hub'"

cat > "$WORK/bad.yaml" <<YAML
site: x
tunnel:
  role: client
  proto: sctp
  remote: [10.0.0.1:99999]
  ca: nothere.crt
  cert: $WORK/examples/pki/site.crt
  key: $WORK/examples/pki/site.key
  tls_crypt: $WORK/examples/pki/tc.key
  tls_auth: {key: $WORK/examples/pki/tc.key}
  data_ciphers: [BF-CBC]
  colour: blue
YAML
"$WIREBRIDGE" check -c "$WORK/bad.yaml" > "$WORK/bad.out" 2> "$WORK/bad.err"
echo $? > "$WORK/bad.rc"
check "bad config exits 1" grep -qx 1 "$WORK/bad.rc"
for want in ":4:10: tunnel.proto must be udp or tcp" ":5:12: tunnel.remote: '10.0.0.1:99999' has a port" \
            ":6:7: tunnel.ca file '$WORK/nothere.crt' cannot be opened" ":10:3: tunnel has both tls_auth and tls_crypt" \
            ":11:18: unknown data cipher 'BF-CBC'" ":12:3: unknown key 'colour' in tunnel"; do
    check "error '$want'" grep -qF "$WORK/bad.yaml$want" "$WORK/bad.err"
done
check "bad config: nothing on stdout" test ! -s "$WORK/bad.out"

# Keys: both ways between wirebridge and openvpn.
check "genkey tls-crypt" "$WIREBRIDGE" genkey tls-crypt "$WORK/wb-tc.key"
check "genkey tls-auth" "$WIREBRIDGE" genkey tls-auth "$WORK/wb-ta.key"
check "genkey refuses to overwrite" status_is 1 "$WIREBRIDGE" genkey tls-auth "$WORK/wb-ta.key"
check "genkey: file mode 0600" sh -c "stat -c %a '$WORK/wb-tc.key' | grep -qx 600"
# openvpn parses the key files before anything else; --test-crypto with --secret reads the same format.
check "openvpn reads wirebridge's tls-crypt key" \
    sh -c "'$OPENVPN' --test-crypto --secret '$WORK/wb-tc.key' --cipher AES-256-CBC --verb 1 | grep -q 'self-test mode SUCCEEDED'"
check "openvpn reads wirebridge's tls-auth key" \
    sh -c "'$OPENVPN' --test-crypto --secret '$WORK/wb-ta.key' --cipher AES-256-CBC --verb 1 | grep -q 'self-test mode SUCCEEDED'"
"$OPENVPN" --genkey tls-crypt "$WORK/ov-tc.key" >/dev/null
sed "s|tls_crypt: .*|tls_crypt: $WORK/ov-tc.key|" "$WORK/examples/hub.yaml" | sed "s|pki/|$WORK/examples/pki/|" > "$WORK/hub-ov.yaml"
check "wirebridge reads openvpn's --genkey tls-crypt" sh -c "'$WIREBRIDGE' check -c '$WORK/hub-ov.yaml' | grep -q OK"
echo "$passed passed, $failed failed"
[ $failed = 0 ]
