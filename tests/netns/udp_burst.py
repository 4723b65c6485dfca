#!/usr/bin/env python3
"""Bursts of UDP datagrams of one flow, and a receiver that checks them one by one.

  udp_burst.py recv PORT COUNT        binds PORT, takes datagrams until COUNT arrived or 3 s pass
                                      without one (at most 60 s), prints "got N in_order M bad K"
  udp_burst.py send DEST PORT COUNT SIZE BURST
                                      COUNT datagrams of SIZE bytes to DEST:PORT, BURST of them
                                      back to back, then 5 ms of quiet (so that nothing on the way
                                      overflows: a loss is a fault, not load)

Datagram i carries i (4 bytes, big-endian) then bytes (i * 7 + j) & 0xff: a datagram cut short,
glued to another, or with a byte changed is "bad"; "in_order" counts those that came as i = the
number before them.
"""
import socket
import struct
import sys
import time


def payload(i, size):
    return struct.pack(">I", i) + bytes((i * 7 + j) & 0xFF for j in range(4, size))


def recv(port, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(("0.0.0.0", port))
    s.settimeout(3)
    got = in_order = bad = 0
    deadline = time.monotonic() + 60
    while got < count and time.monotonic() < deadline:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if len(d) < 4:
            bad += 1
            got += 1
            continue
        i = struct.unpack(">I", d[:4])[0]
        if d != payload(i, len(d)) or i >= count:
            bad += 1
        elif i == got:
            in_order += 1
        got += 1
    print(f"got {got} in_order {in_order} bad {bad}", flush=True)


def send(dest, port, count, size, burst):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for start in range(0, count, burst):
        for i in range(start, min(start + burst, count)):
            s.sendto(payload(i, size), (dest, port))
        time.sleep(0.005)


if __name__ == "__main__":
    if sys.argv[1] == "recv":
        recv(int(sys.argv[2]), int(sys.argv[3]))
    else:
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
