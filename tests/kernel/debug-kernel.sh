#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# debug-kernel.sh CACHE - build, once, the debug kernel that `run --debug-kernel` boots:
# Debian's linux-source-6.1 with its cloud-amd64 config, trimmed to the modules the
# scenarios can load, plus debug-kernel.config (KASAN, lockdep, PROVE_RCU, kmemleak).
#
# The result lives in CACHE/debug-<source version>-<config hash>/ (a new source package or
# a changed config gives a new directory; an old one can be deleted by hand):
#   src/    the built tree: what xt_GWMARK.ko is built against
#   root/   boot/vmlinuz-KVER and lib/modules/KVER, laid out like an extracted Debian image
# Prints "KVER DIR" on stdout. Two hours or more on two busy cores: nice'd, -j2.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${1:?usage: debug-kernel.sh CACHE}
FRAGMENT=$HERE/debug-kernel.config
JOBS=${WB_DEBUG_KERNEL_JOBS:-2}

say() { printf 'debug-kernel: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

# Modules are kept only when their Kconfig symbol is declared under one of these folders:
# what the scenarios load (netfilter, bridge, vlan, qdiscs, veth, tun) and what the boot
# needs (virtio, 9p), and overlayfs (scenario 73 lays a writable /usr/sbin over the host's). Building all of Debian's modules would triple the build time.
KEEP_DIRS="net/core net/ipv4 net/ipv6 net/netfilter net/bridge net/8021q net/802 net/llc
	net/sched net/packet net/unix net/9p fs/9p fs/overlayfs drivers/virtio drivers/char/hw_random"
# The top-level net/Kconfig (br_netfilter) and drivers/net/Kconfig (veth, tun, dummy,
# macvlan, virtio_net), not the hardware drivers in the latter's subfolders.
KEEP_FILES="net/Kconfig drivers/net/Kconfig"

mkdir -p "$CACHE/debs"
exec 8>"$CACHE/.debug-kernel.lock"
flock 8

fetch_deb() {
	if ! ls "$CACHE/debs/${1}_"*.deb >/dev/null 2>&1; then
		say "apt-get download $1"
		(cd "$CACHE/debs" && apt-get download "$1" >/dev/null 2>&1) || die "apt-get download $1 failed"
	fi
	ls "$CACHE/debs/${1}_"*.deb | sort -V | tail -n 1
}
src_deb=$(fetch_deb linux-source-6.1)
cfg_deb=$(fetch_deb linux-config-6.1)
srcver=$(dpkg-deb -f "$src_deb" Version)
[ "$(dpkg-deb -f "$cfg_deb" Version)" = "$srcver" ] ||
	die "linux-source-6.1 and linux-config-6.1 differ in version; delete $CACHE/debs/linux-*-6.1_* and retry"

base_config() {
	dpkg-deb --fsys-tarfile "$cfg_deb" |
		tar -xO ./usr/src/linux-config-6.1/config.amd64_none_cloud-amd64.xz | xz -dc
}
# The key covers everything that decides the .config (the recipe is this folder list and
# the fragment; REV counts changes to the build steps below).
REV=1
key=$( { base_config; cat "$FRAGMENT"; echo "$KEEP_DIRS $KEEP_FILES $REV"; } | sha256sum | cut -c1-12)
dir=$CACHE/debug-$srcver-$key
src=$dir/src

if [ ! -f "$dir/.ready" ]; then
	command -v flex >/dev/null && command -v bison >/dev/null && [ -f /usr/include/libelf.h ] ||
		die "needs flex, bison and libelf-dev (apt-get install -y flex bison libelf-dev)"
	if [ ! -f "$src/.extracted" ]; then
		rm -rf "$dir"
		mkdir -p "$src"
		say "extracting linux-source $srcver into $src"
		dpkg-deb --fsys-tarfile "$src_deb" | tar -xO ./usr/src/linux-source-6.1.tar.xz |
			xz -dc | tar -x -C "$src" --strip-components=1
		touch "$src/.extracted"
	fi
	keep=$(cd "$src" && { find $KEEP_DIRS -name 'Kconfig*'; echo $KEEP_FILES; } |
		xargs sed -n 's/^\(menu\)\{0,1\}config \([A-Za-z0-9_]*\).*/\2/p' | sort -u)
	base_config | awk -v keep="$keep" '
		BEGIN { n = split(keep, k, "\n"); for (i = 1; i <= n; i++) kept["CONFIG_" k[i]] = 1 }
		/=m$/ { sym = substr($0, 1, index($0, "=") - 1)
			if (!(sym in kept)) { print "# " sym " is not set"; next } }
		{ print }' >"$src/.config"
	cat "$FRAGMENT" >>"$src/.config"
	make -C "$src" -s olddefconfig
	# Every line of the fragment must have taken.
	bad=0
	while IFS= read -r line; do
		case $line in
		CONFIG_*) grep -qxF -- "$line" "$src/.config" || { say "config did not take: $line"; bad=1; } ;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }; sym=${sym%% *}
			! grep -qE "^$sym=" "$src/.config" || { say "config did not take: $line"; bad=1; } ;;
		esac
	done <"$FRAGMENT"
	[ "$bad" = 0 ] || die "debug-kernel.config does not apply to linux-source $srcver"
	say "building linux $srcver (KASAN, lockdep, kmemleak) in $src, log $dir/build.log; this takes hours"
	nice -n 10 make -C "$src" -j"$JOBS" bzImage modules >"$dir/build.log" 2>&1 ||
		{ tail -n 30 "$dir/build.log" >&2; die "kernel build failed; log $dir/build.log"; }
	kver=$(make -C "$src" -s kernelrelease)
	rm -rf "$dir/root"
	mkdir -p "$dir/root/boot"
	make -C "$src" -s INSTALL_MOD_PATH="$dir/root" INSTALL_MOD_STRIP=1 DEPMOD=/sbin/depmod \
		modules_install >>"$dir/build.log" 2>&1 || die "modules_install failed; log $dir/build.log"
	cp "$src/arch/x86/boot/bzImage" "$dir/root/boot/vmlinuz-$kver"
	cp "$src/.config" "$dir/root/boot/config-$kver"
	echo "$kver" >"$dir/.ready"
fi
printf '%s %s\n' "$(cat "$dir/.ready")" "$dir"
