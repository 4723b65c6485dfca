#!/usr/bin/env python3
"""Writes the hand-made seeds of the fuzz targets added for issue 16 into corpus/<target>/.

libFuzzer grows its own corpus from these in the build directory (tests/run); only the seeds
are kept in the tree. Run from anywhere: python3 tests/fuzz/make_seeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(data))


def csum(b):
    if len(b) % 2:
        b = b + b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def tcp_frame(v6, payload_len, vlan=False):
    eth = bytes.fromhex("020000000001020000000002")
    if vlan:
        eth += b"\x81\x00\x00\x05"
    eth += b"\x86\xdd" if v6 else b"\x08\x00"
    tcp = struct.pack("!HHIIBBHHH", 40000, 5001, 1, 1000, 5 << 4, 0x18, 512, 0, 0)
    payload = bytes((i * 7) & 0xFF for i in range(payload_len))
    if v6:
        ip = struct.pack("!IHBB", 6 << 28, 20 + payload_len, 6, 64) + b"\0" * 15 + b"\1" + b"\0" * 15 + b"\2"
    else:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 20 + payload_len, 1, 0x4000, 64, 6, 0,
                         bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return eth + ip + tcp + payload, len(eth), len(eth) + len(ip)


def vnet(flags, gso_type, hdr_len, gso_size, csum_start, csum_offset):
    return struct.pack("=BBHHHH", flags, gso_type, hdr_len, gso_size, csum_start, csum_offset)


def gso_seeds():
    out = {}
    for v6 in (False, True):
        for vlan in (False, True):
            frame, l3, l4 = tcp_frame(v6, 4000, vlan)
            hdr = vnet(1, 4 if v6 else 1, l4 + 20, 1448, l4, 16)
            out["tso_v%d%s" % (6 if v6 else 4, "_vlan" if vlan else "")] = hdr + frame
        frame, l3, l4 = tcp_frame(v6, 100)
        out["csum_v%d" % (6 if v6 else 4)] = vnet(1, 0, 0, 0, l4, 16) + frame
        out["plain_v%d" % (6 if v6 else 4)] = vnet(0, 0, 0, 0, 0, 0) + frame
    return out


def main():
    for name, data in gso_seeds().items():
        put("io_gso_splitter_fuzz", name, data)
        # io_tap_reader_fuzz: reader byte, then per packet: flags, type, hdr_len, gso_size,
        # csum_start, csum_offset (big endian here, as the target reads them), length, frame.
        flags, gtype, hdr_len, gso_size, cs, co = struct.unpack("=BBHHHH", data[:10])
        frame = data[10:]
        pkt = struct.pack("!BBHHHHH", flags, gtype, hdr_len, gso_size, cs, co, len(frame)) + frame
        put("io_tap_reader_fuzz", name, b"\x00" + pkt)
        put("io_tap_reader_fuzz", name + "_plain_reader", b"\x01" + pkt + pkt)

    # session_dispatcher_fuzz: wrap byte, then ops. A handshake of client 0 (then 1): its packets
    # (op 0), the hub's answers (op 5), 16 ms passing (op 11 + 0x0010); then data and a rekey.
    step = [0x00, 0x00, 0x00, 0x05, 0x10, 0x10, 0x05, 0x0B, 0x00, 0x10]
    hs = step * 40
    tail = [0x07, 40, 0x0A, 0x08] + step * 20 + [0x07, 20, 0x09, 0x00] + step * 4 + [0x0B, 0xFF, 0xFF] * 3
    for wrap in (0, 1):
        put("session_dispatcher_fuzz", "handshake_wrap%d" % wrap, [wrap] + hs + tail)
        put("session_dispatcher_fuzz", "garbage_wrap%d" % wrap,
            [wrap] + [0x04, 0x02, 0x00, 0x0E] + [0x38, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0] + step * 10)
        put("session_dispatcher_fuzz", "replays_wrap%d" % wrap,
            [wrap] + [0x00, 0x03, 0x05, 0x03, 0x06, 0x00, 0x01, 0x55] + step * 30 + [0x03, 0x03, 0x13, 0x04])

    # datapath_l2_switch_fuzz: c2c byte, then frames (op 3..7), port changes, settings, time.
    frames = []
    for port in range(7):
        for src in range(4):
            frames += [0x03, port, 20 if src == 0 else src, src + port, 0x00, 30]
    put("datapath_l2_switch_fuzz", "learn_flood", [1] + frames + [0x02, 0x80, 0x00] + frames)
    put("datapath_l2_switch_fuzz", "tagged_settings",
        [0] + [0x00, 0x1F, 3, 2, 1] + frames[:60] + [0x01, 4, 0x15] + [0x03, 6, 1, 2, 0x03, 10] + [0x01, 1, 0x00] + frames[60:])
    put("datapath_l2_switch_fuzz", "moves", [1] + sum(([0x23, p % 3, 1, 5, 0, 10] for p in range(30)), []))

    # datapath_data_channel_open_fuzz: setup byte (cipher, framing), then ops; sealed payloads
    # whose first byte is a framing marker (0xFA comp-lzo, 0xFB/0x69 v1, 0x50 v2 escape).
    for setup in (0x00, 0x05, 0x0A, 0x0E, 0x01):
        ops = []
        for marker in (0xFA, 0x66, 0xFB, 0x69, 0x50, 0x00):
            ops += [0x01, 0, 40] + [marker] + [0x11] * 39
        ops += [0x03, 0, 0x03, 1, 0x02, 0, 20, 0, 5, 0x80] + [0x22] * 20
        ops += [0x04, 4, 0, 0, 16] + [0] * 16 + [1, 0, 16] + [0] * 16 + [1, 0, 16] + [0] * 16 + [2]
        ops += [0x05, 1, 0x01, 0, 10] + [0x33] * 10 + [0x06, 0, 0x00, 0, 30] + [0x44] * 30
        put("datapath_data_channel_open_fuzz", "ops_%02x" % setup, [setup] + ops)

    # nl_nfqueue_decode_fuzz: NFQNL_MSG_PACKET messages (nfgenmsg, PACKET_HDR, MARK, CT, PAYLOAD).
    def attr(t, payload):
        n = 4 + len(payload)
        return struct.pack("=HH", n, t) + payload + b"\0" * ((4 - n % 4) % 4)

    def nlmsg(t, body, flags=0):
        return struct.pack("=IHHII", 16 + len(body), t, flags, 0, 0) + body

    ip = tcp_frame(False, 20)[0][14:]
    ct = attr(12, struct.pack("!I", 77)) + attr(8, struct.pack("!I", 0x10000))  # CTA_ID, CTA_MARK
    body = struct.pack("=BBH", 2, 0, 0) + attr(1, struct.pack("!IHB", 9, 0x0800, 1)) + attr(3, struct.pack("!I", 5)) \
        + attr(11 | 0x8000, ct) + attr(10, ip)
    msg = nlmsg((3 << 8) | 0, body)  # NFNL_SUBSYS_QUEUE << 8 | NFQNL_MSG_PACKET
    put("nl_nfqueue_decode_fuzz", "packet", msg)
    put("nl_nfqueue_decode_fuzz", "two_packets", msg + msg)

    # nl_rtnetlink_reply_fuzz: picker byte, then a reply (links, addresses, rules, routes).
    link = struct.pack("=BBHiII", 0, 0, 1, 3, 1, 0) + attr(3, b"br0\0") + attr(4, struct.pack("=I", 1500)) \
        + attr(10, struct.pack("=I", 2)) + attr(27, struct.pack("=I", 9)) + attr(18 | 0x8000, attr(1, b"bridge\0"))
    done = nlmsg(3, struct.pack("=i", 0), 2)
    put("nl_rtnetlink_reply_fuzz", "links", b"\x00" + nlmsg(16, link, 2) + nlmsg(16, link, 2) + done)
    addr = struct.pack("=BBBBI", 2, 24, 0, 0, 3) + attr(2, bytes([192, 0, 2, 2])) + attr(1, bytes([192, 0, 2, 2]))
    put("nl_rtnetlink_reply_fuzz", "addresses", bytes([1 | (3 << 3)]) + nlmsg(20, addr, 2) + done)
    rule = struct.pack("=BBBBBBBBI", 2, 0, 0, 0, 100, 0, 0, 1, 0) + attr(6, struct.pack("=I", 1000)) \
        + attr(10, struct.pack("=I", 0x10000)) + attr(16, struct.pack("=I", 0x30000)) + attr(15, struct.pack("=I", 300))
    put("nl_rtnetlink_reply_fuzz", "rules", b"\x02" + nlmsg(32, rule, 2) + done)
    route = struct.pack("=BBBBBBBBI", 2, 0, 0, 0, 252, 4, 253, 1, 0) + attr(15, struct.pack("=I", 100)) \
        + attr(4, struct.pack("=I", 3))
    put("nl_rtnetlink_reply_fuzz", "routes", b"\x03" + nlmsg(24, route, 2) + done)

    # proto_fragment_reassemble_fuzz (issue 18): mode byte 0 (raw payloads: length, time step,
    # bytes) or 1 (round trip: max, order seed, payload).
    def frag(t, seq, fid, size=0):
        return struct.pack("!I", t | (seq << 2) | (fid << 10) | ((size // 4) << 15 if t == 2 else 0))

    body = bytes(range(200))
    raw = b""
    for f in (frag(0, 0, 0) + body[:40], frag(1, 3, 0) + body[:100], frag(2, 3, 1, 100) + body[100:150],
              frag(1, 200, 0) + body[:16], frag(3, 0, 0) + body[:8]):
        raw += bytes([len(f), 1]) + f
    put("proto_fragment_reassemble_fuzz", "raw_mix", b"\x00" + raw)
    put("proto_fragment_reassemble_fuzz", "round_trip_1400", b"\x01" + bytes([60, 9]) + bytes(i % 251 for i in range(1400)))
    put("proto_fragment_reassemble_fuzz", "round_trip_small", b"\x01" + bytes([0, 3]) + bytes(range(256)) * 2)


if __name__ == "__main__":
    main()
