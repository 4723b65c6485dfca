#!/usr/bin/env bash
# Inline fail-open under the real service manager (VM only, scenario 73): systemd runs as PID 1 of
# a PID namespace of the VM, the packaged unit deploy/systemd/wirebridge@.service (byte for byte)
# runs the agent as wirebridge@box, installed where the package puts it; a ping every 50 ms from
# the LAN host to the "Internet" side crosses `systemctl start`, a crash (SIGKILL of the main
# process: the unit's ExecStopPost cleans up, Restart= brings it back), `systemctl restart`, a
# package upgrade (the binary replaced as dpkg does, then the postinst's own deb-systemd-invoke
# line), `systemctl stop` and a failed start that recovers by itself. Needs root, systemd, the
# VM's writable /run; not a netns test (the host has no systemd as PID 1 to lend).
#
#   ns h (LAN host)          ns box: wirebridge@box (NetworkNamespacePath=)         ns r (router)       ns up
#   ${T}e 192.0.2.10/24  ${T}l ─┐ bridge ${T}b 192.0.2.2/24, no routes ┌─ ${T}w ── ${T}r0 192.0.2.1/24   203.0.113.10
#   default via 192.0.2.1 ──────┤ + TAP ${T}t (join_bridge)            ├──────    ${T}r1 ──────────────  203.0.113.20
#                               └──────────────────────────────────────┘
#
# What the test adds to the unit is one drop-in: the network namespace and a log file instead of
# the journal (no journald here). The unit search path holds only the unit, its drop-in and the
# stock targets it names, so nothing of the host's own boot runs. Env: WB_WIREBRIDGE; the VM's
# XTABLES_LIBDIR (the plugin's folder first).
if [ -z "${WB_SD_PRIVATE_MOUNTS:-}" ]; then
    # Everything this test mounts (the package's files over the read-only root) stays in here.
    exec env WB_SD_PRIVATE_MOUNTS=1 unshare --mount --propagation private -- bash "$0" "$@"
fi
# A /run of its own: systemd's sockets and /run/systemd/system must not make any other program of
# this machine think systemd runs it (ip netns keeps its mounts here too).
mount -t tmpfs -o mode=0755 wbrun /run || { echo "cannot mount a tmpfs on /run"; exit 1; }
TEST=inline_systemd
. "$(dirname "$0")/../netns/lib.sh"

SRC_TOP=$(cd "$(dirname "$0")/../.." && pwd)
UNIT=$SRC_TOP/deploy/systemd/wirebridge@.service
POSTINST=$SRC_TOP/debian/wirebridge.postinst
SYSTEMD=/lib/systemd/systemd
SEL=203.0.113.20 UNSEL=203.0.113.10
SD=/run/$T.sd            # systemd's unit path, overlay layers, logs (PrivateTmp= hides /tmp)
SOCK=/run/wirebridge/box/control.sock
export SYSTEMD_PAGER=cat SYSTEMD_COLORS=0
SD_PID=
# systemctl from inside systemd's PID (and mount) namespace: systemd refuses a private-socket
# client whose pid it cannot see ("unprivileged client", seen in the VM).
sctl() {
    local init
    init=$(cat "/proc/$SD_PID/task/$SD_PID/children" 2>/dev/null | awk '{print $1}')
    [ -n "$init" ] || return 1
    timeout 120 nsenter -t "$init" -p -m -- systemctl "$@"
}

[ -x "$SYSTEMD" ] || die "no $SYSTEMD"
if [ "${WB_INLINE_FASTPATH:-0}" = 1 ]; then
    plugin_dir=${XTABLES_LIBDIR%%:*} xt_sys=${XTABLES_LIBDIR#*:}
    [ -f "$plugin_dir/libxt_GWMARK.so" ] && [ -d "$xt_sys" ] ||
        die "XTABLES_LIBDIR must name the plugin's folder, then the system's"
fi

# systemd gets a cgroup of its own, CG/$T.sd, seen as the root through a cgroup namespace: it
# manages only that subtree (a VM's cgroup2 root, or the unified hierarchy of a hybrid host).
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then CG=/sys/fs/cgroup
elif [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then CG=/sys/fs/cgroup/unified
else mount -t cgroup2 wbcg /sys/fs/cgroup || die "cannot mount cgroup2"; CG=/sys/fs/cgroup
fi
# Resource limits of the unit (MemoryMax=, TasksMax=) need their controllers down to the subtree.
for c in memory pids; do grep -qw "$c" "$CG/cgroup.controllers" && echo "+$c" >"$CG/cgroup.subtree_control" 2>/dev/null; done
mkdir "$CG/$T.sd" || die "cannot make cgroup $CG/$T.sd"

# The PID namespace dies with its PID 1 (systemd), taking every service with it.
sd_kill() {
    set +e  # an exit trap: a leftover cgroup directory must not turn a passed run into exit 1
    local init
    if [ -n "$SD_PID" ]; then
        init=$(cat "/proc/$SD_PID/task/$SD_PID/children" 2>/dev/null | awk '{print $1}')
        [ -n "$init" ] && kill -KILL "$init" 2>/dev/null
        wait_pid "$SD_PID" 10 >/dev/null 2>&1 || kill -KILL "$SD_PID" 2>/dev/null
        SD_PID=
    fi
    sleep 0.2
    find "$CG/$T.sd" -depth -type d -exec rmdir {} \; 2>/dev/null
}
trap 'sd_kill; cleanup' EXIT

echo "== namespaces (as tests/netns/inline_intercept.sh)"
wbn_inline_wire
on r nft -f - <<EOF
table netdev inl {
    counter selected {}
    chain in {
        type filter hook ingress device "${T}r0" priority 0;
        ip daddr $SEL udp dport 5001 counter name "selected"
    }
}
EOF
rcount() { on r nft list counter netdev inl "$1" | awk '/packets/ {print $2; exit}'; }

echo "== the package's files, where it puts them (an overlay each on the VM's read-only root)"
overlay() {  # DIR
    local n
    n=$(tr / _ <<<"$1")
    mkdir -p "$SD/ov/$n/up" "$SD/ov/$n/work"
    mount -t overlay "wb$n" -o "lowerdir=$1,upperdir=$SD/ov/$n/up,workdir=$SD/ov/$n/work" "$1"
}
for d in /usr/sbin /etc ${xt_sys:-}; do require "$d is writable for this test (overlay)" overlay "$d"; done
install -m 0755 "$WB" /usr/sbin/wirebridge
[ -z "${xt_sys:-}" ] || install -m 0644 "$plugin_dir/libxt_GWMARK.so" "$xt_sys/libxt_GWMARK.so"
# This machine's image forbids services to start from maintainer scripts (policy-rc.d exits 101,
# as in Docker images); a real Debian box has none.
rm -f /usr/sbin/policy-rc.d
mkdir -p /etc/wirebridge "$SD/units/wirebridge@box.service.d" "$SD/none"
cp "$UNIT" "$SD/units/wirebridge@.service"
for u in sysinit.target basic.target shutdown.target network-pre.target network.target; do
    cp "/lib/systemd/system/$u" "$SD/units/"
done
printf '[Unit]\nDescription=what systemd starts here: nothing but what the test asks for\n' >"$SD/units/wbtest.target"
cat >"$SD/units/wirebridge@box.service.d/test.conf" <<EOF
[Service]
NetworkNamespacePath=/run/netns/$T-box
StandardOutput=append:$SD/box.log
StandardError=inherit
# The test build is ASan's: LeakSanitizer stops itself on ptrace, which the unit's SystemCallFilter
# refuses (its "fatal error" fails every Exec line). Leaks are checked by the unit and netns labels.
Environment=ASAN_OPTIONS=detect_leaks=0
EOF
ln -s "$SD/box.log" "$WORK/box.log"   # dump_logs shows it
wbn_pki box
cp "$WORK"/{ca.crt,box.crt,box.key} /etc/wirebridge/
wbn_inline_box_yaml /etc/wirebridge/box.yaml /etc/wirebridge "$SOCK" open  # open: the default, as the unit runs it

echo "== systemd as PID 1"
SYSTEMD_UNIT_PATH=$SD/units SYSTEMD_GENERATOR_PATH=$SD/none SYSTEMD_ENVIRONMENT_GENERATOR_PATH=$SD/none \
    container=wbtest bash -c 'echo $$ >"$1/cgroup.procs" && exec unshare --pid --fork --mount-proc --uts --cgroup -- \
        sh -c "umount -l /sys/fs/cgroup 2>/dev/null; mount -t cgroup2 wbcgns /sys/fs/cgroup && exec $2 --unit=wbtest.target --log-target=console --log-level=info"' \
    sd "$CG/$T.sd" "$SYSTEMD" >"$SD/systemd.log" 2>&1 &
SD_PID=$!
ln -s "$SD/systemd.log" "$WORK/systemd.log"
sd_up() { [ "$(sctl is-active wbtest.target)" = active ]; }
require "systemd is up as PID 1 of its PID namespace within 60 s" wait_for 60 sd_up
check "the unit systemd runs is the packaged one, byte for byte" \
    cmp "$UNIT" "$(sctl show -P FragmentPath wirebridge@box.service)"
svc() { sctl show -P "$1" wirebridge@box.service; }
agent_pid() {  # the agent's pid as this namespace sees it: the one process in the box's netns
    ip netns pids "$T-box" | head -n 1
}
flow() { "$WB" status --socket "$SOCK" --json | jq -r ".flows.$1"; }
intercepting() { [ "$(flow intercept_rules)" = 1 ]; }
has_table() { on box nft list tables bridge | grep -q "table bridge wb_box$"; }
no_table() { ! has_table; }
active() { [ "$(sctl is-active wirebridge@box.service)" = active ]; }

echo "== systemctl start"
require "systemctl start wirebridge@box returns once the agent said READY=1" \
    sctl start wirebridge@box.service
check "the unit is active" active
if [ "${WB_INLINE_FASTPATH:-0}" = 1 ]; then
    check "ExecStartPre=+ wirebridge modules ran (xt_GWMARK and br_netfilter needed, found)" \
        grep -q "wirebridge modules: needed: .*xt_GWMARK" "$SD/box.log"
fi
require "the agent's bridge table is installed" wait_for 10 intercepting
check "the agent runs in the box's netns under systemd (drop-in)" test -n "$(agent_pid)"
inline_send 5001 5
check "selected traffic is taken off the wire (the router saw $(rcount selected))" test "$(rcount selected)" = 0

ip netns exec "$T-h" ping -i 0.05 -w 600 "$UNSEL" >"$WORK/ping.txt" 2>&1 &
ping_pid=$!
sleep 0.5

echo "== a crash: SIGKILL of the main process"
cleanups0=$(grep -c "wirebridge cleanup: removed chains" "$SD/box.log" || true)
pid0=$(agent_pid)
sctl kill --kill-whom=main -s SIGKILL wirebridge@box.service
check "SIGKILL: the kernel dropped the bridge table with the agent's socket" wait_for 5 no_table
restarted() { [ "$(svc NRestarts)" = 1 ] && active; }
require "Restart=on-failure brought the agent back (NRestarts=1) within 60 s" wait_for 60 restarted
check "ExecStopPost (wirebridge cleanup) removed the crashed run's chains before the restart" \
    test "$(grep -c "wirebridge cleanup: removed chains" "$SD/box.log")" -gt "$cleanups0"
check "so the new run found nothing of it to replace" \
    bash -c "! grep -q 'of an earlier run (not cleaned up) were replaced' '$SD/box.log'"
check "the restarted agent is another process" test "$(agent_pid)" != "$pid0"
check "the restarted agent intercepts again" wait_for 10 intercepting

echo "== systemctl restart"
pid1=$(agent_pid)
require "systemctl restart returns" sctl restart wirebridge@box.service
check "restart: a new agent, intercepting" bash -c "[ \"\$(ip netns pids $T-box | head -n 1)\" != $pid1 ]"
check "restart: the table is back" wait_for 10 intercepting

echo "== a package upgrade: the binary replaced as dpkg does, then the postinst's own restart line"
upgrade=$(grep -o "deb-systemd-invoke try-restart '[^']*'" "$POSTINST")
require "the postinst restarts the instances with deb-systemd-invoke try-restart" test -n "$upgrade"
pid2=$(agent_pid)
cp "$WB" /usr/sbin/wirebridge.dpkg-new
mv -f /usr/sbin/wirebridge.dpkg-new /usr/sbin/wirebridge   # rename over: the running agent keeps the old inode
check "upgrade: the running agent's binary is the replaced one" \
    grep -q deleted <<<"$(readlink "/proc/$pid2/exe")"
sctl daemon-reload
require "upgrade: $upgrade" timeout 120 nsenter -t "$(cat "/proc/$SD_PID/task/$SD_PID/children" | awk '{print $1}')" -p -m -- bash -c "$upgrade"
check "upgrade: a new agent runs the new binary" \
    bash -c "p=\$(ip netns pids $T-box | head -n 1); [ \"\$p\" != $pid2 ] && ! readlink /proc/\$p/exe | grep -q deleted"
check "upgrade: the table is back" wait_for 10 intercepting

echo "== systemctl stop"
require "systemctl stop returns" sctl stop wirebridge@box.service
check "stop: the unit is inactive (not failed)" test "$(sctl is-active wirebridge@box.service)" = inactive
check "stop: the bridge table is gone" no_table
check "stop: no chain or policy rule of the agent left" \
    bash -c "! ip netns exec $T-box iptables-save -t mangle | grep -q WB- && ! ip -n $T-box rule show | grep -q 0x30000"
check "stop: the bridge, its two ports and the address stay" \
    test "$(ip -n "$T-box" -o link show master "${T}b" | wc -l)" = 2 -a -n "$(ip -n "$T-box" addr show "${T}b" | grep 192.0.2.2/24)"
sent=$(rcount selected)
inline_send 5001 3
check "stop: selected traffic goes to the router while no agent runs" test "$(rcount selected)" = $((sent + 3))

echo "== a failed start, then Restart= recovers by itself"
ip -n "$T-box" link add "${T}t" type veth peer name "${T}x"  # the TAP's name taken
start_fails() { ! sctl start wirebridge@box.service; }
check "failed start: systemctl start reports the failure" start_fails
check "failed start: no bridge table, the bridge and its ports stay" \
    bash -c "! ip netns exec $T-box nft list tables bridge | grep -q wb_box && [ \$(ip -n $T-box -o link show master ${T}b | wc -l) = 2 ]"
ip -n "$T-box" link del "${T}t"
check "failed start: Restart=on-failure starts it once the name is free (within 60 s)" wait_for 60 active
check "failed start: then it intercepts" wait_for 10 intercepting
require "systemctl stop returns" sctl stop wirebridge@box.service

sleep 0.5
kill -INT "$ping_pid"
wait_pid "$ping_pid" 5 || true
log "ping $UNSEL every 50 ms across it all: $(grep "packets transmitted" "$WORK/ping.txt")"
tx=$(awk '/packets transmitted/ {print $1}' "$WORK/ping.txt") rx=$(awk '/packets transmitted/ {print $4}' "$WORK/ping.txt")
check "the wire never broke under systemd: $((tx - rx)) of $tx pings lost" test "$tx" -ge 20 -a "$rx" = "$tx"
log "systemd's view: $(sctl show -p NRestarts -p Result wirebridge@box.service | tr '\n' ' ')"
wbn_finish
