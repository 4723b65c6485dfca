#!/usr/bin/env bash
# The Debian package, built and taken apart: never installed on this machine.
#
#   tests/deploy/package.sh SOURCE_DIR BUILD_DIR
#
# Builds wirebridge_<version>_amd64.deb in a release tree of its own (BUILD_DIR/deploy-release,
# kept between runs so a re-run only rebuilds what changed; a sanitized binary is never
# packaged), then checks: control fields and Depends against what the binaries really link, the
# file list, the maintainer scripts, the extracted `wirebridge --version` and `check -c` of both
# extracted examples, the man pages through groff, dkms.conf and a real DKMS build of the packaged
# module source (temporary DKMS trees, the machine's kernel headers), `systemd-analyze verify` of
# the unit, lintian when installed; and that cpack refuses a sanitized build.
# Exit 0: all passed; 1: a check failed; 77: a tool it needs is missing.
set -uo pipefail

src=${1:?usage: package.sh SOURCE_DIR BUILD_DIR}
parent=${2:?usage: package.sh SOURCE_DIR BUILD_DIR}
rel=${WB_PKG_BUILD_DIR:-$parent/deploy-release}
tmp=$(mktemp -d /tmp/wbpkg-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
ok() { printf 'PASS %s\n' "$*"; passed=$((passed + 1)); }
bad() { printf 'FAIL %s\n' "$*"; failed=$((failed + 1)); }
check() {  # check "what" command...: PASS when the command succeeds
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

for tool in cmake ninja cpack dpkg-deb dpkg-shlibdeps readelf pkg-config gzip; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done

# 1. A sanitized build is refused by cpack itself (the parent build, when it is one).
if grep -qs '^WB_SANITIZE:BOOL=ON' "$parent/CMakeCache.txt" && [ -f "$parent/CPackConfig.cmake" ]; then
    out=$(timeout 120 cpack --config "$parent/CPackConfig.cmake" -B "$tmp/refused" 2>&1)
    rc=$?
    if [ $rc -ne 0 ] && grep -q 'refusing to package this build' <<<"$out" && ! ls "$tmp"/refused/*.deb >/dev/null 2>&1; then
        ok "cpack refuses the sanitized build $parent"
    else
        bad "cpack did not refuse the sanitized build (rc $rc): $(tail -n 3 <<<"$out")"
    fi
fi

# 2. The release build and the package.
version=$(sed -n 's/^project(wirebridge VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
arch=$(dpkg --print-architecture)
deb=$rel/wirebridge_${version}_${arch}.deb
rm -f "$deb"
if ! timeout 900 cmake -S "$src" -B "$rel" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWB_SANITIZE=OFF \
        -DWB_FUZZ=OFF -DWB_BUILD_TESTS=OFF -DWB_BUILD_MODULE=OFF >"$tmp/configure.log" 2>&1; then
    tail -n 20 "$tmp/configure.log"
    echo "FAIL release configure"
    exit 1
fi
if ! timeout 1200 cmake --build "$rel" --target package -- -j2 >"$tmp/build.log" 2>&1; then
    grep -E 'error|Error|FAILED' "$tmp/build.log" | head -n 30
    echo "FAIL release build / cpack"
    exit 1
fi
check "package built: $(basename "$deb")" test -s "$deb"
[ -s "$deb" ] || exit 1

# 3. Control fields.
info=$(dpkg-deb -I "$deb")
field() { dpkg-deb -f "$deb" "$1"; }
check "Package: wirebridge" test "$(field Package)" = wirebridge
check "Version: $version" test "$(field Version)" = "$version"
check "Architecture: $arch" test "$(field Architecture)" = "$arch"
check "Section: net" test "$(field Section)" = net
depends=$(field Depends)
echo "Depends: $depends"
echo "Recommends: $(field Recommends)"
has_dep() { tr ',|' '\n\n' <<<"$depends" | sed 's/(.*//; s/ //g' | grep -qx "$1"; }
for p in libssl3 libyaml-cpp0.7 libmnl0 libxtables12 libstdc++6 libc6 iptables; do
    check "Depends names $p" has_dep "$p"
done
# Every library the two binaries link is depended on: the package that ships it is in Depends.
for bin in "$rel/agent/app/wirebridge" "$rel/iptables-ext/libxt_GWMARK.so"; do
    for lib in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ {print $NF; exit}')
        [ -n "$path" ] || { bad "$(basename "$bin") links $lib, which ldconfig does not know"; continue; }
        pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1)
        [ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -n 1 | cut -d: -f1)
        check "$(basename "$bin") links $lib: Depends names $pkg" has_dep "$pkg"
    done
done
check "Recommends dkms" grep -qw dkms <<<"$(field Recommends)"
for s in postinst prerm postrm; do
    check "maintainer script $s" grep -qE "^ +[0-9]+ bytes, +[0-9]+ lines +\* +$s " <<<"$info"
done

# 4. The file list.
xtlibdir=$(pkg-config xtables --variable=xtlibdir)
dpkg-deb -c "$deb" >"$tmp/contents"
listed() { awk '{print $6}' "$tmp/contents" | grep -qx "$1"; }
for f in ./usr/sbin/wirebridge ".$xtlibdir/libxt_GWMARK.so" ./lib/systemd/system/wirebridge@.service \
        ./usr/share/man/man8/wirebridge.8.gz ./usr/share/man/man8/xt_GWMARK.8.gz \
        "./usr/src/xt_GWMARK-$version/dkms.conf" "./usr/src/xt_GWMARK-$version/Kbuild" \
        "./usr/src/xt_GWMARK-$version/main.c" "./usr/src/xt_GWMARK-$version/compat.h" \
        "./usr/src/xt_GWMARK-$version/include/xt_GWMARK.h" \
        ./usr/share/doc/wirebridge/README.md ./usr/share/doc/wirebridge/DEPLOY.md \
        ./usr/share/doc/wirebridge/copyright ./usr/share/doc/wirebridge/changelog.gz \
        ./usr/share/doc/wirebridge/examples/hub.yaml ./usr/share/doc/wirebridge/examples/site.yaml \
        ./usr/share/doc/wirebridge/examples/make-pki.sh ./usr/share/bash-completion/completions/wirebridge \
        ./usr/share/doc/wirebridge/grafana/wirebridge.json; do
    check "contains $f" listed "$f"
done
check "no build leftovers (*.o, *.ko, *.mod.c, *.cmd)" \
    bash -c "! awk '{print \$6}' '$tmp/contents' | grep -E '\\.(o|ko|mod\\.c|cmd)$'"
check "every file is root:root" bash -c "! awk '\$2 != \"root/root\"' '$tmp/contents' | grep ."
check "nothing under /usr/local or /etc" bash -c "! awk '{print \$6}' '$tmp/contents' | grep -E '^\\./(usr/local|etc)/'"

# 5. Extracted: the binary runs, is a release binary, and checks the packaged examples.
root=$tmp/root
dpkg-deb -x "$deb" "$root"
wb=$root/usr/sbin/wirebridge
check "extracted wirebridge --version says $version" test "$("$wb" --version 2>&1 | head -n 1)" = "wirebridge $version"
check "extracted wirebridge --version names the OpenSSL it runs with" bash -c "'$wb' --version | grep -q '^OpenSSL 3'"
check "the packaged binary is not sanitized" \
    bash -c "! readelf -d '$wb' | grep -E 'lib(asan|ubsan)' && ! readelf -s '$wb' | grep -q __asan_init"
check "the packaged binary is stripped" bash -c "! readelf -S '$wb' | grep -q '\\.debug_info'"
check "the plugin is a shared object exporting nothing but its init" \
    bash -c "readelf -d '$root$xtlibdir/libxt_GWMARK.so' | grep -q libxtables"
ex=$tmp/examples
cp -r "$root/usr/share/doc/wirebridge/examples" "$ex"
if PATH=$root/usr/sbin:$PATH timeout 60 sh "$ex/make-pki.sh" "$ex/pki" >"$tmp/pki.log" 2>&1; then
    for y in site hub; do
        out=$(timeout 30 "$wb" check -c "$ex/$y.yaml" 2>&1)
        check "extracted 'wirebridge check -c examples/$y.yaml' accepts it: $out" grep -q ': OK: ' <<<"$out"
    done
    sed 's/^  role: client/  role: clinet/' "$ex/site.yaml" >"$ex/broken.yaml"
    out=$(timeout 30 "$wb" check -c "$ex/broken.yaml" 2>&1)
    rc=$?
    check "a broken example is refused with file:line:column (rc $rc): $(head -n 1 <<<"$out")" \
        bash -c "[ $rc -eq 1 ] && grep -qE '^$ex/broken.yaml:[0-9]+:[0-9]+: ' <<<'$out'"
else
    bad "examples/make-pki.sh failed: $(tail -n 3 "$tmp/pki.log")"
fi

# 6. Man pages: groff renders them without a warning.
if command -v groff >/dev/null; then
    for m in wirebridge xt_GWMARK; do
        warn=$(zcat "$root/usr/share/man/man8/$m.8.gz" | LC_ALL=C.UTF-8 groff -mandoc -Tutf8 -ww -z 2>&1)
        check "man page $m(8) renders without warnings${warn:+: $warn}" test -z "$warn"
    done
    check "xt_GWMARK(8) carries the plugin's option text" \
        bash -c "zcat '$root/usr/share/man/man8/xt_GWMARK.8.gz' | grep -q 'reply\\\\-mark'"
fi

# 7. DKMS: the config names the folder it sits in, and DKMS really builds the packaged source.
dsrc=$root/usr/src/xt_GWMARK-$version
conf_vals=$(bash -c ". '$dsrc/dkms.conf'; echo \"\$PACKAGE_NAME \$PACKAGE_VERSION \${BUILT_MODULE_NAME[0]} \$AUTOINSTALL\"")
check "dkms.conf: $conf_vals" test "$conf_vals" = "xt_GWMARK $version xt_GWMARK yes"
for o in $(sed -n 's/^xt_GWMARK-y *:= *//p' "$dsrc/Kbuild"); do
    check "the packaged source has ${o%.o}.c for Kbuild" test -f "$dsrc/${o%.o}.c"
done
kver=$(ls -d /lib/modules/*/build 2>/dev/null | sed 's|/lib/modules/||; s|/build||' | sort -V | tail -n 1)
if command -v dkms >/dev/null && [ -n "$kver" ]; then
    mkdir -p "$tmp/dkms" "$tmp/dkms-src"
    cp -r "$dsrc" "$tmp/dkms-src/"
    dk=(--dkmstree "$tmp/dkms" --sourcetree "$tmp/dkms-src")
    if timeout 60 dkms add -m xt_GWMARK -v "$version" "${dk[@]}" >"$tmp/dkms.log" 2>&1 &&
       timeout 600 dkms build -m xt_GWMARK -v "$version" -k "$kver" "${dk[@]}" >>"$tmp/dkms.log" 2>&1; then
        ko=$(find "$tmp/dkms/xt_GWMARK/$version/$kver" -name 'xt_GWMARK.ko*' | head -n 1)
        check "DKMS built xt_GWMARK.ko for $kver from the packaged source" test -n "$ko"
    else
        bad "DKMS build for $kver failed: $(tail -n 5 "$tmp/dkms.log")"
    fi
else
    echo "note: no dkms or no kernel headers: the DKMS build is not tried"
fi

# 8. The unit.
unit=$root/lib/systemd/system/wirebridge@.service
if command -v systemd-analyze >/dev/null; then
    # verify wants the binaries it names to exist: point it at the extracted ones.
    mkdir -p "$tmp/unit"
    sed "s|/usr/sbin/wirebridge|$wb|g" "$unit" >"$tmp/unit/wirebridge@.service"
    out=$(cd "$tmp/unit" && SYSTEMD_LOG_LEVEL=notice timeout 60 systemd-analyze verify \
          --man=no "$tmp/unit/wirebridge@example.service" 2>&1)
    out=$(grep -v -e 'ConditionPathExists' <<<"$out" | grep -v '^$')
    check "systemd-analyze verify wirebridge@.service${out:+: $out}" test -z "$out"
fi
check "the unit's bounding set holds every capability the agent keeps" \
    bash -c "grep -E '^CapabilityBoundingSet=' '$unit' | grep -q CAP_NET_ADMIN && grep -E '^CapabilityBoundingSet=' '$unit' | grep -q CAP_NET_RAW && grep -E '^CapabilityBoundingSet=' '$unit' | grep -q CAP_NET_BIND_SERVICE && grep -E '^CapabilityBoundingSet=' '$unit' | grep -q CAP_SETUID && grep -E '^CapabilityBoundingSet=' '$unit' | grep -q CAP_CHOWN"

# 9. lintian, when installed: errors fail, warnings are shown.
if command -v lintian >/dev/null; then
    timeout 300 lintian --tag-display-limit 0 "$deb" >"$tmp/lintian.log" 2>&1
    cat "$tmp/lintian.log"
    errors=$(grep -c '^E: ' "$tmp/lintian.log")
    check "lintian: no errors ($errors)" test "$errors" -eq 0
else
    echo "note: lintian is not installed (apt-get install lintian)"
fi

echo "package: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
