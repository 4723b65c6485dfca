#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# guest.sh - stage 2 of the test VM (PID 1 on the host's read-only root): load
# the modules, run every scenario, check the kernel log, report on ttyS1.
#
# Settings come from the environment (see initramfs-init): WB_KVER, WB_SRC
# (source tree), WB_KO (xt_GWMARK.ko for this kernel or empty), WB_XTLIBDIR,
# WB_SCENARIOS (space-separated script paths), WB_TIMEOUT (per scenario).

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp LC_ALL=C
export XTABLES_LIBDIR=$WB_XTLIBDIR
# Scenarios scale their own waits by it (3 on the debug kernel, which KASAN and lockdep slow).
export WB_TIMEOUT_SCALE=${WB_TIMEOUT_SCALE:-1}

mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs shm /dev/shm
echo 1 >/proc/sys/kernel/sysrq
hostname wb-vm
ip link set lo up

# The result port is raw (no CR insertion), so the UART's tx counter can
# tell when every byte written has left for the host (see finish).
stty -F /dev/ttyS1 raw -echo 2>/dev/null
serial_tx() {
	awk '$1 == "1:" { for (i = 2; i <= NF; i++) if ($i ~ /^tx:/) print substr($i, 4) }' \
		/proc/tty/driver/serial
}
tx0=$(serial_tx)
exec 3>/dev/ttyS1
: >/tmp/wb.result

# result LINE: one line to the result port (and its byte count).
result() {
	printf '%s\n' "$1" >&3
	printf '%s\n' "$1" >>/tmp/wb.result
}

# A line that matters goes to both the console and the result port.
report() {
	printf '%s\n' "$*"
	result "$*"
}

# finish: wait (bounded) until the UART has sent every result byte, then
# reset, which ends QEMU (-no-reboot).
finish() {
	local want i
	want=$(( ${tx0:-0} + $(wc -c </tmp/wb.result) ))
	for i in $(seq 100); do
		[ "$(serial_tx)" -ge "$want" ] 2>/dev/null && break
		sleep 0.1
	done
	exec 3>&-
	echo b >/proc/sysrq-trigger
	sleep 60
}

passed=0
failed=0

# Netfilter pieces the scenarios need; modprobe resolves the dependencies
# from the test kernel's own /lib/modules.
base_mods="veth bridge br_netfilter tun nf_conntrack nf_conntrack_netlink
	nf_defrag_ipv4 nf_defrag_ipv6 x_tables ip_tables ip6_tables
	iptable_mangle iptable_filter iptable_raw ip6table_mangle ip6table_filter
	ip6table_raw xt_mark xt_conntrack xt_connmark xt_statistic
	nf_tables nft_compat nft_ct nft_chain_nat"
if ! modprobe -a $base_mods 2>/tmp/modprobe.err; then
	report "FAIL setup: modprobe: $(head -c 300 /tmp/modprobe.err | tr '\n' ' ')"
	failed=$((failed + 1))
fi

# The debug kernel (run --debug-kernel): kmemleak must be on, and what boot left behind is
# marked seen, so the scan at the end reports only what the run leaked.
KMEMLEAK=/sys/kernel/debug/kmemleak
if [ "${WB_DEBUG_KERNEL:-0}" = 1 ]; then
	mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
	if [ -w "$KMEMLEAK" ] && echo scan >"$KMEMLEAK" && echo clear >"$KMEMLEAK"; then
		report "INFO kmemleak on; boot's suspects cleared"
	else
		report "FAIL setup: the debug kernel has no working $KMEMLEAK"
		failed=$((failed + 1))
	fi
fi

export WB_GWMARK_LOADED=0
if [ -n "$WB_KO" ]; then
	deps=$(modinfo -F depends "$WB_KO" | tr ',' ' ')
	if [ -n "$deps" ] && ! modprobe -a $deps 2>/tmp/modprobe.err; then
		report "FAIL setup: dependencies of xt_GWMARK ($deps): $(head -c 200 /tmp/modprobe.err)"
		failed=$((failed + 1))
	elif ! insmod "$WB_KO" 2>/tmp/insmod.err; then
		report "FAIL setup: insmod $WB_KO: $(head -c 200 /tmp/insmod.err)"
		failed=$((failed + 1))
	else
		WB_GWMARK_LOADED=1
		report "INFO xt_GWMARK loaded on $WB_KVER"
	fi
fi

for s in $WB_SCENARIOS; do
	name=$(basename "$s" .sh)
	report "INFO scenario $name"
	out=/tmp/scenario.$name.out
	start=$SECONDS
	# A scenario may ask for a longer bound in its header ("# wb-timeout: SECONDS").
	limit=$(sed -n 's/^# wb-timeout: \([0-9][0-9]*\)$/\1/p' "$s" | head -n 1)
	limit=$(( ${limit:-$WB_TIMEOUT} * ${WB_TIMEOUT_SCALE:-1} ))
	timeout -k 5 "$limit" bash "$s" >"$out" 2>&1 &
	spid=$!
	tail -n +1 -f "$out" --pid=$spid &
	tpid=$!
	wait "$spid"
	rc=$?
	wait "$tpid" 2>/dev/null
	while IFS= read -r line; do
		case $line in
		PASS\ *) passed=$((passed + 1)); result "$line" ;;
		FAIL\ *) failed=$((failed + 1)); result "$line" ;;
		esac
	done <"$out"
	if [ "$rc" -ne 0 ]; then
		why="exited with $rc"
		[ "$rc" -eq 124 ] && why="timed out after ${limit}s"
		report "FAIL $name: script $why"
		failed=$((failed + 1))
	fi
	report "INFO scenario $name took $((SECONDS - start))s"
done

# kmemleak only reports an object unreferenced for 5 s and seen by two scans; the module
# is unloaded first (if a scenario left it in) so its exit path is covered too.
if [ "${WB_DEBUG_KERNEL:-0}" = 1 ] && [ -w "$KMEMLEAK" ]; then
	rmmod xt_GWMARK 2>/dev/null
	sleep 6
	echo scan >"$KMEMLEAK"
	echo scan >"$KMEMLEAK"
	if [ -s "$KMEMLEAK" ]; then
		# To the console, where run's scan of the log sees it.
		head -n 60 "$KMEMLEAK"
		report "FAIL kmemleak: $(grep -c '^unreferenced object' "$KMEMLEAK") suspected leaks: $(head -n 6 "$KMEMLEAK" | tr '\n' ' ')"
		failed=$((failed + 1))
	else
		report "PASS kmemleak: no suspected leaks"
		passed=$((passed + 1))
	fi
fi

# Any warning, bug or stuck device in the kernel log fails the run, even when
# every check passed (panic_on_warn usually ends the VM first). The debug kernel's
# reports: KASAN and lockdep print "BUG:"/"WARNING:" lines, PROVE_RCU "suspicious RCU
# usage", kmemleak "unreferenced object", and a checker that turned itself off says so.
if dmesg | grep -E 'WARNING:|BUG:|Oops|unregister_netdevice: waiting|suspicious RCU usage|unreferenced object|turning off the locking correctness validator|kmemleak: .*(disabled|failed)' >/tmp/klog.bad; then
	report "FAIL kernel-log: $(head -n 3 /tmp/klog.bad | tr '\n' ' ')"
	failed=$((failed + 1))
else
	report "PASS kernel-log: clean"
	passed=$((passed + 1))
fi

report "$passed passed, $failed failed"
report "WB-DONE"
finish
