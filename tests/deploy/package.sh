#!/usr/bin/env bash
# The Debian packages, built with debhelper, checked, installed, used as docs/DEPLOY.md says, and
# purged.
#
#   tests/deploy/package.sh SOURCE_DIR BUILD_DIR
#
# 1. Build: the source tree is copied to BUILD_DIR/deploy-deb/wirebridge (a fixed path, so ccache
#    hits on a re-run; /usr/lib/ccache is put first in PATH when it exists) and built there with
#    `dpkg-buildpackage -us -uc -b`, as a packager would: a release build of the agent without
#    sanitizers or tests.
# 2. Without installing: control fields, Depends against what the binaries link, the file lists,
#    lintian (no error, warning, info or pedantic tag that is not overridden with a reason in
#    debian/*.lintian-overrides), hardening-check (devscripts) of the ELF files, the man pages
#    through groff.
# 3. As root, when neither package is installed and /etc/wirebridge does not exist: dpkg -i both,
#    then the system user, /etc/wirebridge's owner, DKMS's module for each kernel with headers
#    (its modinfo version is the package's), `systemd-analyze verify` of the installed unit,
#    iptables finding the GWMARK extension, and the installed DEPLOY.md's steps run as written
#    on the real /etc/wirebridge: every example copied there passes `wirebridge check`. No
#    service is started.
# 4. Purge (also on any failure or interruption, from the EXIT trap): the files the test put in
#    /etc/wirebridge, then `dpkg --purge`; then nothing of the packages is left (files, DKMS tree,
#    built modules, /etc/wirebridge). The wirebridge system user stays, as Debian leaves system
#    users (and the user deploy/setup makes for the examples is the same one).
# Exit 0: all passed; 1: a check failed; 77: a tool it needs is missing.
set -uo pipefail

src=${1:?usage: package.sh SOURCE_DIR BUILD_DIR}
parent=${2:?usage: package.sh SOURCE_DIR BUILD_DIR}
work=${WB_PKG_BUILD_DIR:-$parent/deploy-deb}
tmp=$(mktemp -d /tmp/wbpkg-test.XXXXXX)
installed_by_us=0

passed=0
failed=0
ok() { printf 'PASS %s\n' "$*"; passed=$((passed + 1)); }
bad() { printf 'FAIL %s\n' "$*"; failed=$((failed + 1)); }
check() {  # check "what" command...: PASS when the command succeeds
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

# What the test put into /etc/wirebridge, then the packages: run on every exit.
purge() {
    [ "$installed_by_us" -eq 1 ] || return 0
    rm -rf /etc/wirebridge/pki /etc/wirebridge/branch-a.yaml /etc/wirebridge/hub.yaml /etc/wirebridge/inline.yaml
    timeout 300 dpkg --purge wirebridge wirebridge-dkms >"$tmp/purge.log" 2>&1
    local rc=$?
    installed_by_us=0
    return $rc
}
trap 'purge; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

for tool in dpkg-buildpackage dh dh_dkms dpkg-deb readelf gzip tar; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (deploy/setup installs it)"; exit 77; }
done

# 1. Build.
version=$(sed -n 's/^project(wirebridge VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
changelog_version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
check "debian/changelog's version $changelog_version is the project's $version" test "$changelog_version" = "$version"
module_version=$(sed -n 's/^MODULE_VERSION("\(.*\)");/\1/p' "$src/netfilter-module/main.c")
check "the module's MODULE_VERSION $module_version is the project's $version" test "$module_version" = "$version"
arch=$(dpkg --print-architecture)
tree=$work/wirebridge
rm -rf "$work"
mkdir -p "$tree"
tar -C "$src" --exclude='./build*' --exclude=./.git --exclude=./tests/kernel/cache --exclude=./bench/results -cf - . |
    tar -C "$tree" -xf -
path=$PATH
[ -d /usr/lib/ccache ] && path=/usr/lib/ccache:$PATH
start=$(date +%s)
if ! (cd "$tree" && PATH=$path timeout 1500 dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1); then
    grep -E 'error|Error|FAILED|dh_[a-z]+: ' "$work/build.log" | head -n 30
    echo "FAIL dpkg-buildpackage -us -uc -b (log: $work/build.log)"
    exit 1
fi
deb=$work/wirebridge_${version}_${arch}.deb
dkms_deb=$work/wirebridge-dkms_${version}_all.deb
check "dpkg-buildpackage built $(basename "$deb") and $(basename "$dkms_deb") in $(($(date +%s) - start)) s" \
    test -s "$deb" -a -s "$dkms_deb"
[ -s "$deb" ] && [ -s "$dkms_deb" ] || exit 1
check "the build used Debian's hardening flags (FORTIFY, stack protector, relro, BIND_NOW)" \
    bash -c "grep -q -- '-D_FORTIFY_SOURCE=2' '$work/build.log' && grep -q -- '-fstack-protector-strong' '$work/build.log' && grep -q -- '-Wl,-z,relro -Wl,-z,now' '$work/build.log'"

# 2a. Control fields.
field() { dpkg-deb -f "$1" "$2"; }
check "Package: wirebridge, Version $version, Architecture $arch, Section net" \
    test "$(field "$deb" Package) $(field "$deb" Version) $(field "$deb" Architecture) $(field "$deb" Section)" = "wirebridge $version $arch net"
check "Package: wirebridge-dkms, Version $version, Architecture all, Section kernel" \
    test "$(field "$dkms_deb" Package) $(field "$dkms_deb" Version) $(field "$dkms_deb" Architecture) $(field "$dkms_deb" Section)" = "wirebridge-dkms $version all kernel"
depends=$(field "$deb" Depends)
echo "wirebridge Depends: $depends"
echo "wirebridge Recommends: $(field "$deb" Recommends)"
echo "wirebridge-dkms Depends: $(field "$dkms_deb" Depends)"
names() { tr ',|' '\n\n' <<<"$1" | sed 's/(.*//; s/ //g'; }
has_dep() { names "$depends" | grep -qx "$1"; }
for p in iptables libssl3 libyaml-cpp0.7 libxtables12; do
    check "wirebridge Depends names $p" has_dep "$p"
done
check "wirebridge Depends on what runs systemd-sysusers" has_dep systemd
check "wirebridge Recommends wirebridge-dkms" grep -qx wirebridge-dkms <<<"$(names "$(field "$deb" Recommends)")"
check "wirebridge-dkms Depends on dkms" grep -qx dkms <<<"$(names "$(field "$dkms_deb" Depends)")"
# Every library the two binaries link is depended on: the package that ships it is in Depends.
xtlibdir=$(pkg-config xtables --variable=xtlibdir 2>/dev/null || echo "/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/xtables")
root=$tmp/root
dpkg-deb -x "$deb" "$root"
dpkg-deb -x "$dkms_deb" "$root"
wb=$root/usr/sbin/wirebridge
plugin=$root$xtlibdir/libxt_GWMARK.so
for bin in "$wb" "$plugin"; do
    for lib in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        p=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ {print $NF; exit}')
        [ -n "$p" ] || { bad "$(basename "$bin") links $lib, which ldconfig does not know"; continue; }
        pkg=$(dpkg -S "$(readlink -f "$p")" 2>/dev/null | head -n 1 | cut -d: -f1)
        [ -n "$pkg" ] || pkg=$(dpkg -S "$p" 2>/dev/null | head -n 1 | cut -d: -f1)
        check "$(basename "$bin") links $lib: Depends names $pkg" has_dep "$pkg"
    done
done
dpkg-deb -e "$deb" "$tmp/control"
check "postinst makes the system user (systemd-sysusers)" grep -q 'systemd-sysusers.*wirebridge.conf' "$tmp/control/postinst"
check "no maintainer script calls systemctl itself (deb-systemd-invoke does)" \
    bash -c "! grep -l -E '^[^#]*systemctl ' '$tmp'/control/{preinst,postinst,prerm,postrm} 2>/dev/null"

# 2b. The file lists.
dpkg-deb -c "$deb" | awk '{print $6}' >"$tmp/contents"
dpkg-deb -c "$dkms_deb" | awk '{print $6}' >"$tmp/dkms-contents"
listed() { grep -qx "$2" "$1"; }
for f in ./usr/sbin/wirebridge ".$xtlibdir/libxt_GWMARK.so" ./lib/systemd/system/wirebridge@.service \
        ./usr/lib/sysusers.d/wirebridge.conf ./etc/wirebridge/ \
        ./usr/share/man/man8/wirebridge.8.gz ./usr/share/man/man8/xt_GWMARK.8.gz \
        ./usr/share/man/man5/wirebridge.yaml.5.gz ./usr/share/doc/wirebridge/README.md ./usr/share/doc/wirebridge/DEPLOY.md \
        ./usr/share/doc/wirebridge/CONFIG.md ./usr/share/doc/wirebridge/CONTROL.md \
        ./usr/share/doc/wirebridge/ROUTELESS.md ./usr/share/doc/wirebridge/INLINE.md \
        ./usr/share/doc/wirebridge/copyright ./usr/share/doc/wirebridge/changelog.gz \
        ./usr/share/doc/wirebridge/examples/hub.yaml ./usr/share/doc/wirebridge/examples/site.yaml \
        ./usr/share/doc/wirebridge/examples/inline.yaml ./usr/share/doc/wirebridge/examples/make-pki.sh \
        ./usr/share/bash-completion/completions/wirebridge ./usr/share/doc/wirebridge/grafana/wirebridge.json; do
    check "wirebridge contains $f" listed "$tmp/contents" "$f"
done
for f in dkms.conf Kbuild main.c compat.h include/xt_GWMARK.h; do
    check "wirebridge-dkms contains ./usr/src/xt_GWMARK-$version/$f" listed "$tmp/dkms-contents" "./usr/src/xt_GWMARK-$version/$f"
done
check "no build leftovers (*.o, *.ko, *.mod.c, *.cmd)" bash -c "! cat '$tmp/contents' '$tmp/dkms-contents' | grep -E '\\.(o|ko|mod\\.c|cmd)$'"
check "every file is root:root" bash -c "! dpkg-deb -c '$deb' | awk '\$2 != \"root/root\"' | grep . && ! dpkg-deb -c '$dkms_deb' | awk '\$2 != \"root/root\"' | grep ."
check "nothing under /usr/local, nothing in /etc but the empty /etc/wirebridge/" \
    bash -c "! grep -E '^\\./usr/local/|^\\./etc/.+' '$tmp/contents' | grep -vx './etc/wirebridge/'"
dsrc=$root/usr/src/xt_GWMARK-$version
conf_vals=$(bash -c ". '$dsrc/dkms.conf'; echo \"\$PACKAGE_NAME \$PACKAGE_VERSION \${BUILT_MODULE_NAME[0]} \$AUTOINSTALL\"")
check "dkms.conf (version filled in by dh_dkms): $conf_vals" test "$conf_vals" = "xt_GWMARK $version xt_GWMARK yes"
for o in $(sed -n 's/^xt_GWMARK-y *:= *//p' "$dsrc/Kbuild"); do
    check "the packaged source has ${o%.o}.c for Kbuild" test -f "$dsrc/${o%.o}.c"
done
check "the packaged wirebridge --version says $version" test "$("$wb" --version 2>&1 | head -n 1)" = "wirebridge $version"
check "the packaged binary is not sanitized" \
    bash -c "! readelf -d '$wb' | grep -E 'lib(asan|ubsan)' && ! readelf -s '$wb' | grep -q __asan_init"
check "the packaged binary is stripped (debug symbols in wirebridge-dbgsym)" bash -c "! readelf -S '$wb' | grep -q '\\.debug_info'"

# 2c. lintian: nothing but overridden tags, down to info and pedantic.
if command -v lintian >/dev/null; then
    changes=$work/wirebridge_${version}_${arch}.changes
    timeout 600 lintian --info --pedantic --display-experimental --tag-display-limit 0 \
        --fail-on error,warning,info,pedantic,experimental "$changes" >"$tmp/lintian.log" 2>&1
    rc=$?
    grep -v 'running with root privileges is not recommended' "$tmp/lintian.log"
    check "lintian (info, pedantic, experimental) reports nothing not overridden (rc $rc)" \
        bash -c "[ $rc -eq 0 ] && ! grep -E '^[EWIPX]: ' '$tmp/lintian.log'"
else
    echo "note: lintian is not installed (apt-get install lintian)"
fi

# 2d. hardening-check: PIE, stack protector, FORTIFY, relro, BIND_NOW. Not asked: control-flow
# protection, which Debian 12's dpkg-buildflags do not turn on (its stack-clash line is only
# informational). The
# plugin has no function -fstack-protector-strong instruments (no local arrays or escaping
# locals), so its canary is not looked for; the build log shows it was compiled with the flag.
if command -v hardening-check >/dev/null; then
    out=$(hardening-check --nocfprotection "$wb" 2>&1)
    check "hardening-check wirebridge" test $? -eq 0
    echo "$out"
    out=$(hardening-check --nocfprotection --nostackprotector "$plugin" 2>&1)
    check "hardening-check libxt_GWMARK.so" test $? -eq 0
    echo "$out"
else
    echo "note: hardening-check is not installed (apt-get install devscripts)"
fi

# 2e. Man pages: groff renders them without a warning.
if command -v groff >/dev/null; then
    for m in man8/wirebridge.8 man8/xt_GWMARK.8 man5/wirebridge.yaml.5; do
        warn=$(zcat "$root/usr/share/man/$m.gz" 2>&1 | LC_ALL=C.UTF-8 groff -mandoc -Tutf8 -ww -z 2>&1)
        check "man page $m renders without warnings${warn:+: $warn}" test -s "$root/usr/share/man/$m.gz" -a -z "$warn"
    done
    zcat "$root/usr/share/man/man5/wirebridge.yaml.5.gz" >"$tmp/wirebridge.yaml.5"
    check "the packaged wirebridge.yaml(5) is config2man's page of docs/CONFIG.md" \
        bash "$src/tests/deploy/manpage.sh" "$src" "$tmp/wirebridge.yaml.5" >"$tmp/manpage.log" 2>&1
    check "xt_GWMARK(8) carries the plugin's option text" \
        bash -c "zcat '$root/usr/share/man/man8/xt_GWMARK.8.gz' | grep -q 'reply\\\\-mark'"
fi

# 3. Installed.
if [ "$(id -u)" -ne 0 ]; then
    echo "note: not root: the packages are not installed"
elif dpkg-query -W -f='${Status}' wirebridge 2>/dev/null | grep -q installed ||
     dpkg-query -W -f='${Status}' wirebridge-dkms 2>/dev/null | grep -q installed || [ -e /etc/wirebridge ] ||
     [ -e /var/lib/dkms/xt_GWMARK ] || [ -n "$(find /lib/modules -name 'xt_GWMARK.ko*' 2>/dev/null)" ]; then
    echo "note: wirebridge, /etc/wirebridge or an xt_GWMARK module is installed on this machine: the packages are not installed by the test"
else
    # One install at a time on this machine (other trees' deploy tests), dpkg's own lock aside.
    exec 9>/run/lock/wirebridge-deploy-package.lock
    flock -w 900 9 || { bad "another deploy.package held the install lock for 15 minutes"; exit 1; }
    installed_by_us=1
    start=$(date +%s)
    if timeout 900 dpkg -i "$deb" "$dkms_deb" >"$tmp/install.log" 2>&1; then
        ok "dpkg -i wirebridge wirebridge-dkms ($(($(date +%s) - start)) s)"
    else
        bad "dpkg -i failed: $(tail -n 15 "$tmp/install.log")"
    fi
    sed 's/^/  dpkg: /' "$tmp/install.log" | grep -E 'Building|Done|skipped|Installing|Error|error' | head -n 20
    for p in wirebridge wirebridge-dkms; do
        check "$p is installed" bash -c "dpkg-query -W -f='\${Status}' $p | grep -qx 'install ok installed'"
    done
    uid=$(getent passwd wirebridge | cut -d: -f3)
    check "the system user wirebridge exists (uid $uid, a system uid)" bash -c "[ -n '$uid' ] && [ '$uid' -lt 1000 ]"
    check "/etc/wirebridge is root:wirebridge 0750: $(stat -c '%U:%G %a' /etc/wirebridge 2>&1)" \
        test "$(stat -c '%U:%G %a' /etc/wirebridge 2>&1)" = "root:wirebridge 750"
    # DKMS built and installed the module for every kernel whose headers are here.
    for kdir in /lib/modules/*/build; do
        [ -e "$kdir" ] || continue
        k=$(basename "$(dirname "$kdir")")
        check "dkms: xt_GWMARK/$version installed for $k: $(dkms status -m xt_GWMARK -v "$version" -k "$k" 2>&1)" \
            bash -c "dkms status -m xt_GWMARK -v '$version' -k '$k' | grep -q ': installed'"
        check "modinfo -k $k xt_GWMARK: version $version" \
            test "$(modinfo -k "$k" -F version xt_GWMARK 2>/dev/null)" = "$version"
    done
    if command -v systemd-analyze >/dev/null; then
        out=$(SYSTEMD_LOG_LEVEL=notice timeout 60 systemd-analyze verify --man=no wirebridge@example.service 2>&1)
        out=$(grep -v -e 'ConditionPathExists' <<<"$out" | grep -v '^$')
        check "systemd-analyze verify wirebridge@example.service (installed)${out:+: $out}" test -z "$out"
    fi
    check "no wirebridge@ instance was started (no /usr/sbin/wirebridge process)" bash -c "! pgrep -f '^/usr/sbin/wirebridge run' >/dev/null"
    if command -v iptables >/dev/null; then
        check "iptables finds the installed GWMARK extension" \
            bash -c "iptables -j GWMARK --help 2>&1 | grep -q -- '--reply-mark'"
    fi
    check "wirebridge --version (installed): $(wirebridge --version 2>&1 | head -n 1)" \
        test "$(/usr/sbin/wirebridge --version 2>&1 | head -n 1)" = "wirebridge $version"
    check "bash completion installed" test -s /usr/share/bash-completion/completions/wirebridge
    # The installed DEPLOY.md's steps, as written, on the real /etc/wirebridge.
    steps=$(sed -n '/^<!-- deploy-steps/,/^<!-- end deploy-steps/p' /usr/share/doc/wirebridge/DEPLOY.md |
            sed -n 's/^    //p' | grep -v '^#')
    out=$(cd "$tmp" && timeout 120 bash -euo pipefail -c "$steps" 2>&1)
    rc=$?
    echo "$out"
    check "the installed DEPLOY.md's steps run (rc $rc)" test $rc -eq 0
    check "the example copied to /etc/wirebridge/branch-a.yaml passes check" grep -q ': OK: site branch-a' <<<"$out"
    for y in hub inline; do
        cp "/usr/share/doc/wirebridge/examples/$y.yaml" "/etc/wirebridge/$y.yaml"
        out=$(timeout 30 wirebridge check -c "/etc/wirebridge/$y.yaml" 2>&1)
        check "the $y example copied to /etc/wirebridge passes check: $out" grep -q ': OK: ' <<<"$out"
    done

    # 4. Purged: nothing left.
    dpkg -L wirebridge wirebridge-dkms 2>/dev/null | sort -u >"$tmp/files"
    purge
    check "dpkg --purge wirebridge wirebridge-dkms: $(tail -n 3 "$tmp/purge.log" | tr '\n' ' ')" test $? -eq 0
    for p in wirebridge wirebridge-dkms; do
        check "$p is gone from dpkg's database" bash -c "! dpkg-query -W -f='\${Status}' $p 2>/dev/null | grep -q installed"
    done
    left=$(while read -r f; do if [ -f "$f" ] || { [ -L "$f" ] && [ ! -d "$f" ]; }; then echo "$f"; fi; done <"$tmp/files")
    check "no file of the packages is left${left:+: $left}" test -z "$left"
    check "/etc/wirebridge is gone" test ! -e /etc/wirebridge
    check "/usr/src/xt_GWMARK-$version is gone" test ! -e "/usr/src/xt_GWMARK-$version"
    check "DKMS has no xt_GWMARK left" test ! -e /var/lib/dkms/xt_GWMARK
    left=$(find /lib/modules -name 'xt_GWMARK.ko*' 2>/dev/null)
    check "no built xt_GWMARK.ko is left${left:+: $left}" test -z "$left"
fi

echo "package: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
