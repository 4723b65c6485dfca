#!/usr/bin/env python3
"""bench/report.py: medians of bench/run's raw rows -> table (.txt), CSV, JSON and a PNG bar chart.

  report.py --raw RAW.csv --openssl OPENSSL.csv --meta META.json --out PREFIX
  report.py --ab TRIALS.csv [--meta META.json] --out PREFIX     (bench/ab: table .txt and CSV)

The flood rows (rate64, rate64flows, rate1400) come from wb-udpflood at both ends: the highest
offered rate the tunnel carried with at most 1 % loss (bounded binary search of paced trials), its
loss and the CPU the two VPN processes spent per packet at that rate, and the received rate with
the sender unpaced. rate64 is one flow (one source port); rate64flows sends from 64 source ports in
turn, so no two consecutive datagrams share a flow and a receive side that merges runs of one
flow's datagrams (wirebridge's TapWriter) finds none to merge.

bench/ab's trials (--ab) are two wirebridge builds, A and B, at one fixed offered rate: per transport
and cipher the medians of A's and B's CPU per datagram received, B/A, loss and received rate, and
how many trials lost more than the loss bound (1 %), flagged: when one side drops, its CPU per
received packet no longer measures the same work.

Ratios are to openvpn<->openvpn with the same transport, underlay MTU and cipher in the same run. Throughputs
are also shown as a percentage of the one-core `openssl speed` figure at 1400 bytes (the size of
a tunnelled full-size frame): the bound one process encrypting (or decrypting) on one core meets.
"""
import argparse
import csv
import json
import statistics
import subprocess
import sys
from collections import defaultdict

PAIRS = ["ovpn", "wbbefore", "wb", "wbclient", "wbserver", "wbhub", "plain"]
PAIR_LABEL = {
    "ovpn": "openvpn<->openvpn",
    "wbbefore": "wb before",
    "wb": "wb<->wb",
    "wbclient": "wb(c)->ovpn(s)",
    "wbserver": "ovpn(c)->wb(s)",
    "wbhub": "ovpn sites->wb hub",
    "plain": "bare veth",
}
PAIR_LEGEND = {
    "ovpn": "openvpn <-> openvpn",
    "wbbefore": "wirebridge <-> wirebridge, before (--before)",
    "wb": "wirebridge <-> wirebridge",
    "wbclient": "wirebridge client, openvpn server",
    "wbserver": "openvpn client, wirebridge server",
    "wbhub": "openvpn sites, wirebridge hub (bench/hub)",
    "plain": "bare veth, no VPN",
}
SHORT = {"AES-256-GCM": "AES256", "AES-128-GCM": "AES128", "CHACHA20-POLY1305": "ChaCha20"}
# metric: (label, unit, higher is better; None: no ratio is shown, a ratio of losses means little)
METRICS = {
    "tcp1_mbps": ("TCP 1 stream", "Mbit/s", True),
    "tcp4_mbps": ("TCP 4 streams", "Mbit/s", True),
    "tcp1_bound_pct": ("TCP 1 / openssl", "%", True),
    "tcp4_bound_pct": ("TCP 4 / openssl", "%", True),
    "udp64_pps": ("UDP 64 B", "pps", True),
    "udp64_loss_pct": ("UDP 64 B loss", "%", None),
    "udp1400_pps": ("UDP 1400 B", "pps", True),
    "udp1400_loss_pct": ("UDP 1400 B loss", "%", None),
    "rate64_pps": ("flood 64 B, <=1% loss", "pps", True),
    "rate64_loss_pct": ("  loss at that rate", "%", None),
    "rate64_cpu_us": ("  VPN CPU per packet", "us", False),
    "rate64_unpaced_pps": ("flood 64 B unpaced, rx", "pps", True),
    "rate64_unpaced_loss_pct": ("  unpaced loss", "%", None),
    "rate64_sender_pps": ("  unpaced sender", "pps", None),
    "rate64_rx_drops": ("  receiver socket drops", "", None),
    "rate64flows_pps": ("flood 64 B x 64 flows, <=1% loss", "pps", True),
    "rate64flows_loss_pct": ("  loss at that rate", "%", None),
    "rate64flows_cpu_us": ("  VPN CPU per packet", "us", False),
    "rate64flows_unpaced_pps": ("flood 64 B x 64 flows unpaced, rx", "pps", True),
    "rate64flows_unpaced_loss_pct": ("  unpaced loss", "%", None),
    "rate64flows_sender_pps": ("  unpaced sender", "pps", None),
    "rate64flows_rx_drops": ("  receiver socket drops", "", None),
    "rate1400_pps": ("flood 1400 B, <=1% loss", "pps", True),
    "rate1400_loss_pct": ("  loss at that rate", "%", None),
    "rate1400_cpu_us": ("  VPN CPU per packet", "us", False),
    "rate1400_unpaced_pps": ("flood 1400 B unpaced, rx", "pps", True),
    "rate1400_unpaced_loss_pct": ("  unpaced loss", "%", None),
    "rate1400_sender_pps": ("  unpaced sender", "pps", None),
    "rate1400_rx_drops": ("  receiver socket drops", "", None),
    "tcp1_cpu_s_per_gb": ("CPU/GB, TCP 1", "s/GB", False),
    "tcp4_cpu_s_per_gb": ("CPU/GB, TCP 4", "s/GB", False),
    "tcp4_vpn_cores": ("VPN cores, TCP 4", "cores", False),
    "ping_avg_ms": ("ping avg, loaded", "ms", False),
    "ping_p99_ms": ("ping p99, loaded", "ms", False),
    "ping_lost": ("pings lost /100", "", None),
    # bench/hub: three sites at once, one TCP stream each, towards the hub (up) and from it (down).
    "hub_up_mbps": ("hub up, 3 sites, sum", "Mbit/s", True),
    "hub_up_min_site_mbps": ("  slowest site", "Mbit/s", True),
    "hub_up_hub_cpu_s_per_gb": ("  hub CPU/GB", "s/GB", False),
    "hub_up_all_cpu_s_per_gb": ("  all VPN CPU/GB", "s/GB", False),
    "hub_up_hub_cores": ("  hub cores busy", "cores", None),
    "hub_down_mbps": ("hub down, 3 sites, sum", "Mbit/s", True),
    "hub_down_min_site_mbps": ("  slowest site", "Mbit/s", True),
    "hub_down_hub_cpu_s_per_gb": ("  hub CPU/GB", "s/GB", False),
    "hub_down_all_cpu_s_per_gb": ("  all VPN CPU/GB", "s/GB", False),
    "hub_down_hub_cores": ("  hub cores busy", "cores", None),
    "failed": ("failed reps", "", None),
}


def load_raw(path):
    values = defaultdict(list)
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            key = (row["transport"], row["cipher"], row["pair"], row["metric"])
            values[key].append(float(row["value"]))
    return values


def load_openssl(path):
    bound = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            bound[(row["cipher"], int(row["bytes"]))] = float(row["bytes_per_s"])
    return bound


def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def build(values, bound):
    """Medians per (transport, cipher, pair, metric), derived bound percentages and ratios."""
    rows = []
    med = {k: statistics.median(v) for k, v in values.items()}
    for (transport, cipher, pair, metric), v in list(med.items()):
        if metric in ("tcp1_mbps", "tcp4_mbps"):
            b = bound.get((cipher, 1400), 0)
            if b > 0:
                key = (transport, cipher, pair, metric.replace("_mbps", "_bound_pct"))
                med[key] = 100 * v * 1e6 / 8 / b
                values[key] = [100 * x * 1e6 / 8 / b for x in values[(transport, cipher, pair, metric)]]
    for (transport, cipher, pair, metric), v in sorted(med.items()):
        base = med.get((transport, cipher, "ovpn", metric))
        ratio = v / base if base not in (None, 0) and METRICS.get(metric, ("", "", None))[2] is not None else None
        rows.append({
            "transport": transport, "cipher": cipher, "pair": pair, "metric": metric,
            "median": round(v, 3), "unit": METRICS.get(metric, ("", "", None))[1],
            "ratio_to_openvpn": None if ratio is None else round(ratio, 3),
            "n": len(values[(transport, cipher, pair, metric)]),
            "values": [round(x, 3) for x in values[(transport, cipher, pair, metric)]],
        })
    return rows


def table(rows, bound, meta):
    by = {(r["transport"], r["cipher"], r["pair"], r["metric"]): r for r in rows}
    groups = sorted({(r["transport"], r["cipher"]) for r in rows}, key=lambda g: (g[0] != "udp", g[1]))
    pairs = [p for p in PAIRS if any(r["pair"] == p for r in rows)]
    out = []
    out.append(f"wirebridge vs openvpn: {meta['cores']} cores ({meta['cpu']}), kernel {meta['kernel']}, "
               f"{meta['openvpn']}, {meta['reps']} rep(s) x {meta['duration_s']} s, medians; "
               f"load {meta['loadavg_start']} -> {meta['loadavg_end']}"
               + (f"; wirebridge client workers {meta['wb_client_workers']}" if meta.get('wb_client_workers', 'default') != 'default' else ""))
    ciphers = sorted({c for c, _ in bound})
    for c in ciphers:
        sizes = ", ".join(f"{s} B {bound[(c, s)] * 8 / 1e9:.2f} Gbit/s" for s in (1024, 1400, 8192) if (c, s) in bound)
        out.append(f"openssl speed -evp {c.lower()} (one core): {sizes}")
    if any(r["metric"].startswith("rate") for r in rows):
        sender = {"packet": "frames through a packet socket", "socket": "UDP sockets"}.get(meta.get("sender", "socket"), "?")
        out.append(f"flood (wb-udpflood, sent as {sender}): unpaced trial, then up to {meta.get('rate_steps', '?')} paced trials of "
                   f"{meta.get('rate_step_s', '?')} s (up to 6 more, halving, while none passed), binary search for the highest rate with <= "
                   f"{meta.get('rate_loss_pct', 1)} % loss; CPU per packet: both VPN processes; one flow (one source port), "
                   f"'x 64 flows': 64 source ports in turn")
    if meta.get("pin", "none") != "none":
        out.append(f"pinned (taskset) server,client,receiver,sender to CPUs {meta['pin']}")
    out.append("cells: median (ratio to " + ("the openvpn hub with openvpn sites)" if meta.get("metrics") == "hub" else "openvpn<->openvpn)"))
    # --before: the change measured against the earlier binary in the same run.
    before = "wbbefore" in pairs and "wb" in pairs
    if before:
        out.append(f"wb/before: wb<->wb's median over wb before's (the --before binary {meta.get('wirebridge_before', '?')})")
    w0 = max(len(f"{m[0]} [{m[1]}]") for m in METRICS.values()) + 1
    for transport, cipher in groups:
        out.append("")
        proto, _, mtu = transport.partition("@")  # bench/run labels underlays other than 1500 "udp@1600"
        out.append(f"== {proto.upper()} transport, {mtu or 1500}-byte underlay, {cipher}")
        out.append(f"{'':{w0}}" + "".join(f"{PAIR_LABEL[p]:>22}" for p in pairs) + (f"{'wb/before':>12}" if before else ""))
        for metric, (label, unit, _) in METRICS.items():
            cells = []
            for p in pairs:
                r = by.get((transport, cipher, p, metric))
                if r is None:
                    cells.append("-")
                elif p == "ovpn" or r["ratio_to_openvpn"] is None:
                    cells.append(fmt(r["median"]))
                else:
                    cells.append(f"{fmt(r['median'])} ({r['ratio_to_openvpn']:.2f}x)")
            if all(c == "-" for c in cells) or (metric == "failed" and all(c in ("-", "0.00") for c in cells)):
                continue
            name = f"{label} [{unit}]" if unit else label
            change = ""
            if before:
                a, b = by.get((transport, cipher, "wb", metric)), by.get((transport, cipher, "wbbefore", metric))
                if a and b and b["median"] and METRICS[metric][2] is not None:
                    change = f"{a['median'] / b['median']:.2f}x"
                change = f"{change or '-':>12}"
            out.append(f"{name:{w0}}" + "".join(f"{c:>22}" for c in cells) + change)
    return "\n".join(out) + "\n"


def plot(rows, prefix, meta):
    """A PNG of up to eight panels (the first measured of: TCP 1 and 4 streams, UDP 64-byte pps by iperf3
    and by the flood search with one flow and with 64, UDP 1400-byte by iperf3 and the flood search,
    CPU s/GB, ping p99); bars per VPN pair (the bare veth, an order of magnitude higher, would
    flatten every other bar: it is in the table only)."""
    rows = [r for r in rows if r["pair"] != "plain"]
    if not rows:
        # `--pair plain` alone: the table has the bare veth's figures; no VPN pair, no plot, no failure.
        sys.stderr.write("plot: only the bare veth was measured (it is in the table); no plot\n")
        return True
    by = {(r["transport"], r["cipher"], r["pair"], r["metric"]): r["median"] for r in rows}
    groups = sorted({(r["transport"], r["cipher"]) for r in rows}, key=lambda g: (g[0] != "udp", g[1]))
    pairs = [p for p in PAIRS if any(r["pair"] == p for r in rows)]
    panels = [("tcp1_mbps", "TCP 1 stream (Mbit/s)"), ("tcp4_mbps", "TCP 4 streams (Mbit/s)"),
              ("udp64_pps", "UDP 64 B pps received, iperf3 -b 0"),
              ("rate64_pps", "UDP 64 B pps carried at <=1% loss (wb-udpflood)"),
              ("rate64flows_pps", "UDP 64 B pps at <=1% loss, 64 flows interleaved (wb-udpflood)"),
              ("udp1400_pps", "UDP 1400 B pps received, iperf3 -b 0"),
              ("rate1400_pps", "UDP 1400 B pps carried at <=1% loss (wb-udpflood)"),
              ("tcp1_cpu_s_per_gb", "CPU s per GB, TCP 1 stream"), ("ping_p99_ms", "ping p99 under TCP load (ms)"),
              ("hub_up_mbps", "hub, 3 sites -> hub, TCP (Mbit/s, sum)"), ("hub_down_mbps", "hub -> 3 sites, TCP (Mbit/s, sum)"),
              ("hub_up_hub_cpu_s_per_gb", "hub process CPU s per GB, up"), ("hub_down_hub_cpu_s_per_gb", "hub process CPU s per GB, down")]
    # Only the panels this run measured (--metrics), at most eight.
    panels = [p for p in panels if any(k[3] == p[0] for k in by)][:8]
    if not panels:
        sys.stderr.write("plot: nothing to plot\n")
        return False
    script = [
        f"set terminal pngcairo size {700 * min(len(panels), 2)},{450 * ((len(panels) + 1) // 2)} font 'sans,10'",
        f"set output '{prefix}.png'",
        "set datafile missing '-'",
        "set style data histogram",
        "set style histogram clustered gap 1",
        "set style fill solid 0.85 border -1",
        "set boxwidth 0.9",
        "set grid ytics",
        "set yrange [0:*]",
        "set offsets 0, 0, graph 0.35, 0",  # room above the bars for the key
        "set key top left",
        f"set multiplot layout {(len(panels) + 1) // 2},{min(len(panels), 2)} title 'wirebridge vs stock openvpn, {meta['cores']} cores, "
        f"{meta['reps']} rep(s) x {meta['duration_s']} s, medians ({meta['timestamp']})'",
    ]
    for metric, title in panels:
        data = f"{prefix}.{metric}.dat"
        with open(data, "w") as f:
            f.write("config " + " ".join(f'"{PAIR_LEGEND[p]}"' for p in pairs) + "\n")
            for transport, cipher in groups:
                vals = [by.get((transport, cipher, p, metric)) for p in pairs]
                f.write(f'"{transport} {SHORT.get(cipher, cipher)}" ' + " ".join("-" if v is None else f"{v:g}" for v in vals) + "\n")
        script.append(f"set title '{title}'")
        script.append(f"plot for [i=2:{len(pairs) + 1}] '{data}' using i:xtic(1) title columnhead(i)")
    script.append("unset multiplot")
    with open(f"{prefix}.gp", "w") as f:
        f.write("\n".join(script) + "\n")
    r = subprocess.run(["gnuplot", f"{prefix}.gp"], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        sys.stderr.write(f"gnuplot failed: {r.stderr}\n")
        return False
    return True


AB_COLUMNS = ["transport", "cipher", "a_cpu_us", "b_cpu_us", "b_over_a", "a_loss_pct", "b_loss_pct",
              "a_rx_pps", "b_rx_pps", "a_offered_pps", "b_offered_pps", "a_trials", "b_trials",
              "a_lossy", "b_lossy"]


def ab_summary(path, loss_bound):
    """bench/ab's trial rows -> one row per (transport, cipher), in the order first measured."""
    trials = defaultdict(lambda: {"A": [], "B": []})
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            trials[(row["transport"], row["cipher"])][row["build"]].append(row)
    rows = []
    for (transport, cipher), sides in trials.items():
        r = {"transport": transport, "cipher": cipher}
        for b in ("A", "B"):
            t = sides[b]
            p = b.lower()
            for col, key in (("cpu_us", "cpu_us"), ("loss_pct", "loss_pct"), ("rx_pps", "rx_pps"),
                             ("offered_pps", "offered_pps")):
                vals = [float(x[col]) for x in t if x[col] != ""]
                r[f"{p}_{key}"] = statistics.median(vals) if vals else None
            r[f"{p}_trials"] = len(t)
            r[f"{p}_lossy"] = sum(1 for x in t if float(x["loss_pct"]) > loss_bound)
        a, b = r["a_cpu_us"], r["b_cpu_us"]
        r["b_over_a"] = b / a if a and b is not None else None
        rows.append(r)
    return rows


def ab_table(rows, meta, loss_bound):
    out = []
    if meta:
        flows = int(meta.get("flows", 1))
        out.append(f"bench/ab: {meta['len']}-byte datagrams at {int(meta['rate_pps']):,} pps offered, "
                   f"{flows} flow{'s' if flows > 1 else ''}; {meta['rounds']} round(s) x {meta['trials']} trial(s) "
                   f"of {meta['trial_s']} s per build, A and B alternating (odd rounds A first); "
                   f"{meta['cores']} cores, load {meta['loadavg_start']} -> {meta['loadavg_end']}")
        out.append(f"A: {meta['a']} (built {meta['a_built']})")
        out.append(f"B: {meta['b']} (built {meta['b_built']})")
    out.append("CPU: both wirebridge processes per datagram received, us; medians over every trial; "
               f"! = trials above {loss_bound:g} % loss")
    if meta and meta.get("clk_tck"):
        # /proc/PID/stat counts CPU in clock ticks: short or slow trials make a coarse figure.
        tick = 1e6 / float(meta["clk_tck"]) / (float(meta["rate_pps"]) * float(meta["trial_s"]))
        out.append(f"resolution: one clock tick (1/{meta['clk_tck']} s) is {tick:.3f} us per packet in one trial")
    out.append("")
    out.append(f"{'transport':<10}{'cipher':<19}{'A us':>7}{'B us':>7}{'B/A':>7}{'A loss %':>10}{'B loss %':>10}"
               f"{'A rx pps':>11}{'B rx pps':>11}{'trials A/B':>12}")
    notes = []

    def num(v, f):
        return "-" if v is None else format(v, f)
    for r in rows:
        flag = "!" if r["a_lossy"] or r["b_lossy"] else ""
        ratio = "-" if r["b_over_a"] is None else f"{r['b_over_a']:.2f}x"
        out.append(f"{r['transport']:<10}{r['cipher']:<19}{num(r['a_cpu_us'], '.2f'):>7}{num(r['b_cpu_us'], '.2f'):>7}"
                   f"{ratio:>7}{num(r['a_loss_pct'], '.2f'):>10}{num(r['b_loss_pct'], '.2f'):>10}"
                   f"{num(r['a_rx_pps'], ',.0f'):>11}{num(r['b_rx_pps'], ',.0f'):>11}"
                   f"{str(r['a_trials']) + '/' + str(r['b_trials']):>12} {flag}".rstrip())
        for b in ("a", "b"):
            if r[f"{b}_lossy"]:
                notes.append(f"! {r['transport']} {r['cipher']}: {r[f'{b}_lossy']} of {r[f'{b}_trials']} {b.upper()} "
                             f"trials lost more than {loss_bound:g} %: CPU per received packet is not comparable "
                             f"when one side drops; try a lower --rate")
        if meta:
            for b in ("a", "b"):
                o = r[f"{b}_offered_pps"]
                if o is not None and o < 0.98 * float(meta["rate_pps"]):
                    notes.append(f"! {r['transport']} {r['cipher']}: {b.upper()}'s sender offered {o:,.0f} pps, short of "
                                 f"{int(meta['rate_pps']):,}: the load tool, not the tunnel, set the rate")
    return "\n".join(out + notes) + "\n"


def ab_main(a):
    meta = None
    if a.meta:
        with open(a.meta) as f:
            meta = json.load(f)
    loss_bound = float(meta.get("loss_bound_pct", 1)) if meta else 1.0
    rows = ab_summary(a.ab, loss_bound)
    if not rows:
        sys.stderr.write(f"report.py: no trials in {a.ab}\n")
        return 1
    text = ab_table(rows, meta, loss_bound)
    sys.stdout.write(text)
    with open(f"{a.out}.txt", "w") as f:
        f.write(text)
    with open(f"{a.out}.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")  # plain lines: read by awk and cut too
        w.writerow(AB_COLUMNS)
        for r in rows:
            w.writerow(["" if r[c] is None else (round(r[c], 3) if isinstance(r[c], float) else r[c]) for c in AB_COLUMNS])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw")
    ap.add_argument("--openssl")
    ap.add_argument("--meta")
    ap.add_argument("--ab", help="bench/ab's trials CSV (then --raw and --openssl are not used)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.ab:
        return ab_main(a)
    if not (a.raw and a.openssl and a.meta):
        ap.error("--raw, --openssl and --meta are required (or --ab)")
    values = load_raw(a.raw)
    bound = load_openssl(a.openssl)
    with open(a.meta) as f:
        meta = json.load(f)
    if meta.get("metrics") == "hub":
        # bench/hub: a pair is a hub and its three sites.
        w = meta.get("hub_workers", "?")
        PAIR_LABEL.update({"ovpn": "openvpn hub+sites", "wb": "wb hub+sites", "wbhub": "ovpn sites, wb hub"})
        PAIR_LEGEND.update({"ovpn": "openvpn hub (server-bridge), openvpn sites",
                            "wb": f"wirebridge hub (UDP: workers {w}), wirebridge sites",
                            "wbhub": "openvpn sites, wirebridge hub"})
    rows = build(values, bound)
    text = table(rows, bound, meta)
    sys.stdout.write(text)
    with open(f"{a.out}.txt", "w") as f:
        f.write(text)
    with open(f"{a.out}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["transport", "cipher", "pair", "metric", "median", "unit", "ratio_to_openvpn", "n", "values"])
        for r in rows:
            w.writerow([r["transport"], r["cipher"], r["pair"], r["metric"], r["median"], r["unit"],
                        "" if r["ratio_to_openvpn"] is None else r["ratio_to_openvpn"], r["n"],
                        " ".join(f"{x:g}" for x in r["values"])])
    openssl = [{"cipher": c, "bytes": s, "bytes_per_s": v} for (c, s), v in sorted(bound.items())]
    with open(f"{a.out}.json", "w") as f:
        json.dump({"meta": meta, "openssl_speed": openssl, "results": rows}, f, indent=1)
    ok = plot(rows, a.out, meta)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
