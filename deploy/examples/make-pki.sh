#!/bin/sh
# Makes a throw-away PKI for trying the examples: CA, hub (serverAuth), site (clientAuth), tls-crypt key.
#
#   make-pki.sh DIR        e.g. make-pki.sh /etc/wirebridge/pki
#
# Writes into DIR (created, mode 0700), never next to this script (which may be read-only,
# under /usr/share/doc). The examples name these files as pki/... relative to their own folder,
# so a config in /etc/wirebridge uses /etc/wirebridge/pki. For production, use your own CA.
set -eu
if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 DIR   (e.g. $0 /etc/wirebridge/pki)" >&2
    exit 2
fi
umask 077
mkdir -p "$1"
cd "$1"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 -subj "/CN=wirebridge example CA" \
    -keyout ca.key -out ca.crt -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
for who in hub site; do
    eku=clientAuth
    [ $who = hub ] && eku=serverAuth
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$who" -keyout $who.key -out $who.csr 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=%s\n' $eku > $who.ext
    openssl x509 -req -in $who.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -extfile $who.ext -out $who.crt 2>/dev/null
    rm -f $who.csr $who.ext
done
chmod 0644 ca.crt hub.crt site.crt
[ -f tc.key ] || { wirebridge genkey tls-crypt tc.key 2>/dev/null || openvpn --genkey tls-crypt tc.key; }
echo "made $(pwd): ca.crt hub.crt hub.key site.crt site.key tc.key"
