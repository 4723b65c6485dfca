#!/usr/bin/env python3
"""Idle and trickling TCP connections at a hub, as an attacker without credentials holds them
(tests/netns/tcp_flood.sh, tests/stress/tcp_idle.sh; run by tcp_hold in tests/netns/lib.sh).

    tcp_hold.py HOST PORT N SECONDS [TRICKLE_PERCENT]

Opens N connections to HOST:PORT (2 s to connect each; a failed one is skipped), prints
"connected K", then holds them for up to SECONDS, sending nothing on all but the first
TRICKLE_PERCENT % (default 0), which announce a 1280-byte packet (length prefix 0x0500) and then
send its bytes one every 2 s (slowloris). Ends when SECONDS are over or the hub closed all, with
"K connected, C closed by the hub, E within 1 s, slowest after S s" (E: closed within 1 s of
connecting; S: the longest a closed one lived).
"""
import select
import socket
import sys
import time

host, port, n, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
trickle_percent = int(sys.argv[5]) if len(sys.argv) > 5 else 0
socks, opened, closed = [], {}, {}
for _ in range(n):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((host, port))
    except OSError:
        continue
    s.setblocking(False)
    opened[s] = time.time()
    socks.append(s)
print(f"connected {len(socks)}", flush=True)
trickle = socks[: len(socks) * trickle_percent // 100]
end = time.time() + secs
next_trickle = time.time()
step = 0
poller = select.poll()  # not select(): over 1,024 descriptors
by_fd = {s.fileno(): s for s in socks}
for s in socks:
    poller.register(s, select.POLLIN)
while time.time() < end and len(closed) < len(socks):
    if trickle and time.time() >= next_trickle:
        byte = b"\x05" if step == 0 else b"\x00" if step == 1 else b"\x38"
        step += 1
        for s in trickle:
            if s not in closed:
                try:
                    s.send(byte)
                except OSError:
                    pass
        next_trickle += 2
    for fd, _ in poller.poll(200):
        s = by_fd[fd]
        try:
            data = s.recv(64)
        except OSError:
            data = b""
        if not data:
            closed[s] = time.time()
            poller.unregister(s)
ages = sorted(closed[s] - opened[s] for s in closed)
early = sum(1 for a in ages if a < 1.0)
print(f"{len(socks)} connected, {len(closed)} closed by the hub, {early} within 1 s, "
      f"slowest after {ages[-1] if ages else 0:.1f} s")
