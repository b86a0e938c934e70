#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""report.py - turns the CSV files of one benchmark run into the Markdown
tables of docs/BENCHMARKS.md and the plot of cost per packet.

  bench/report.py OUTDIR

Reads OUTDIR/{traffic,nsperpkt,scale,daemon_cost}.csv (whichever exist),
writes OUTDIR/report.md, OUTDIR/traffic.png and OUTDIR/peers.png. Every
ratio is between figures of the same run.
"""
import csv
import math
import os
import statistics
import sys

WORKLOADS = ["bulk", "small", "churn"]
CONFIGS = ["none", "empty", "tcplogger", "seed"]
LABEL = {
    "none": "no program",
    "empty": "empty program",
    "tcplogger": "tcploggerd",
    "seed": "seed-style (printk)",
    "seed-noprint": "seed-style without printk",
    "parse": "profile: our parser only",
    "lookup": "profile: parser + hash lookup",
    "split4": "candidate: 20-byte IPv4 key",
    "pcache": "candidate: per-CPU cache of recent flows",
    "tcplogger-both": "tcploggerd, both directions",
    "conntrack": "conntrack with accounting",
    "softflowd": "softflowd (libpcap)",
    "pmacctd": "pmacctd (libpcap)",
}
PEERS = ["conntrack", "softflowd", "pmacctd"]
SIDE_BY_SIDE = ["empty", "tcplogger", "tcplogger-both"] + PEERS + ["seed"]
WORKLOAD_LABEL = {
    "bulk": "bulk (4 streams, GSO)",
    "small": "small (64 B writes, NODELAY)",
    "churn": "churn (100 B connections)",
}


def read(outdir, name):
    path = os.path.join(outdir, name)
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def cpu_per_work(r):
    return float(r["cpu_s"]) / float(r["value"])


def paired(rows, workload, config, measure="tput", by_rep=False):
    """Each run of CONFIG against its baseline: the mean of the runs of no
    program beside it in its repetition (seq - 1 and seq + 1; in files
    without seq, the repetition's run of no program). MEASURE "tput":
    throughput / baseline's; "cpu": CPU time per unit of work / baseline's.
    A list, or with BY_REP a dict repetition -> ratio.
    """
    nones = {}
    for r in rows:
        if r["workload"] == workload and r["config"] == "none" and float(r["value"]) > 0:
            nones.setdefault(r["rep"], {})[r.get("seq") or ""] = r
    out = {}
    for r in rows:
        if r["workload"] != workload or r["config"] != config or float(r["value"]) <= 0:
            continue
        mine = nones.get(r["rep"], {})
        if r.get("seq"):
            near = [mine[str(q)] for q in (int(r["seq"]) - 1, int(r["seq"]) + 1)
                    if str(q) in mine]
        else:
            near = list(mine.values())
        if not near:
            continue
        if measure == "tput":
            out[r["rep"]] = float(r["value"]) / statistics.mean(float(n["value"]) for n in near)
        else:
            out[r["rep"]] = cpu_per_work(r) / statistics.mean(cpu_per_work(n) for n in near)
    return out if by_rep else list(out.values())


def paired_ratios(rows, workload, config):
    return paired(rows, workload, config, "tput")


def traffic_tables(outdir, out):
    rows = read(outdir, "traffic.csv")
    ns = read(outdir, "nsperpkt.csv")
    if not rows:
        return {}
    nsmap = {(r["workload"], r["config"]): float(r["ns_per_packet"]) for r in ns}
    runs = {(r["workload"], r["config"]): int(r["runs"]) / float(r["seconds"])
            for r in ns}
    out.append("| workload | program | throughput (median) | range | vs no program (paired) "
               "| ns/packet at the hook | x empty | packets/s at the hook "
               "| program CPU (% of one CPU) |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    medians = {}
    for w in WORKLOADS:
        for c in CONFIGS:
            vals = [float(r["value"]) for r in rows
                    if r["workload"] == w and r["config"] == c]
            if not vals:
                continue
            unit = next(r["unit"] for r in rows if r["workload"] == w)
            medians[(w, c)] = statistics.median(vals)
        base = medians.get((w, "none"))
        for c in CONFIGS + ["seed-noprint", "parse", "lookup", "split4", "pcache"]:
            m = medians.get((w, c))
            vals = [float(r["value"]) for r in rows
                    if r["workload"] == w and r["config"] == c]
            n = nsmap.get((w, c))
            e = nsmap.get((w, "empty"))
            if m is None and n is None:
                continue
            tput = f"{m:,.1f} {unit}" if m is not None else ""
            rng = f"{min(vals):,.1f}-{max(vals):,.1f}" if vals else ""
            # Each repetition runs every program back to back: the ratio to
            # the "none" run of the same repetition cancels the machine's
            # slow drift; the median of those ratios is reported.
            ratios = paired_ratios(rows, w, c)
            loss = (f"{(statistics.median(ratios) - 1) * 100:+.1f} %"
                    if ratios and c != "none" else "")
            nsc = f"{n:.0f}" if n is not None else ""
            ratio = f"{n / e:.2f}" if n is not None and e else ""
            pps = f"{runs[(w, c)]:,.0f}" if (w, c) in runs else ""
            # Time in the program per second of wall time: the cost the
            # throughput can lose at most on the CPU that runs the hook.
            share = (f"{n * runs[(w, c)] / 1e7:.2f} %" if n is not None
                     and (w, c) in runs else "")
            out.append(f"| {WORKLOAD_LABEL[w]} | {LABEL[c]} | {tput} | {rng} | "
                       f"{loss} | {nsc} | {ratio} | {pps} | {share} |")
    out.append("")
    ratios = {(w, c): paired_ratios(rows, w, c) for w in WORKLOADS for c in CONFIGS}
    return {"medians": medians, "ns": nsmap, "ratios": ratios}


def median_ci(vals, level=0.90):
    """The median and a distribution-free confidence interval for it: the
    order statistics (k, n+1-k) with the largest k whose coverage is at
    least LEVEL (binomial, p = 1/2). Returns (median, low, high, coverage);
    low and high are None when there are too few values."""
    v = sorted(vals)
    n = len(v)
    best = None
    for k in range(1, n // 2 + 1):
        cov = 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2 ** n
        if cov >= level:
            best = (k, cov)
    if best is None:
        return statistics.median(v), None, None, None
    k, cov = best
    return statistics.median(v), v[k - 1], v[n - k], cov


def pct(m, lo, hi):
    if lo is None:
        return f"{m:+.1f} %"
    return f"{m:+.1f} % [{lo:+.1f}, {hi:+.1f}]"


def peers_tables(outdir, out):
    """tcploggerd beside what a user would run instead: throughput change
    and CPU time per unit of work added, both paired with the run of no
    program in the same repetition, medians with their confidence
    intervals; then the goal: tcploggerd's added cost at most a third of
    the cheapest peer's."""
    rows = [r for r in read(outdir, "traffic.csv") if r.get("cpu_s")]
    if not rows:
        return {}
    reps = len({r["rep"] for r in rows})
    base = ("the mean of the two runs of no program beside it"
            if any(r.get("seq") for r in rows) else "the run of no program of its repetition")
    _, _, _, cov = median_ci([0.0] * reps)
    out.append(f"Each run against its baseline, {base}. "
               f"Medians of {reps} repetitions; in brackets a "
               + (f"{cov * 100:.0f} % " if cov else "")
               + "confidence interval of each median (order statistics)."
               + ("" if cov else " Too few repetitions for an interval."))
    out.append("")
    out.append("| workload | configuration | throughput (median) | throughput vs no program "
               "| busy CPUs | CPU per unit of work vs no program |")
    out.append("|---|---|---:|---:|---:|---:|")
    added = {}
    for w in WORKLOADS:
        wrows = [r for r in rows if r["workload"] == w]
        if not wrows:
            continue
        unit = wrows[0]["unit"]
        for c in ["none"] + SIDE_BY_SIDE:
            runs = [r for r in wrows if r["config"] == c]
            if not runs:
                continue
            tput = statistics.median(float(r["value"]) for r in runs)
            secs = [float(r["secs"]) for r in runs if r.get("secs")]
            busy = (f"{statistics.median(float(r['cpu_s']) for r in runs) / secs[0]:.2f}"
                    if secs else "")
            if c == "none":
                out.append(f"| {WORKLOAD_LABEL[w]} | no program | {tput:,.1f} {unit} | | {busy} | |")
                continue
            t = median_ci([(x - 1) * 100 for x in paired(rows, w, c, "tput")])
            k = median_ci([(x - 1) * 100 for x in paired(rows, w, c, "cpu")])
            # Added cost, positive when worse: throughput lost, CPU added.
            added[(w, c)] = ((-t[0], None if t[1] is None else -t[2],
                              None if t[1] is None else -t[1]), k[:3])
            out.append(f"| {WORKLOAD_LABEL[w]} | {LABEL[c]} | {tput:,.1f} {unit} | "
                       f"{pct(*t[:3])} | {busy} | {pct(*k[:3])} |")
    out.append("")
    out.append("| workload | measure | tcploggerd adds | tcploggerd, both directions, adds "
               "| cheapest peer adds | goal: at most a third | |")
    out.append("|---|---|---:|---:|---:|---:|---|")
    for w in WORKLOADS:
        for i, measure in enumerate(["throughput lost", "CPU per unit of work"]):
            peers = [(c, added[(w, c)][i]) for c in PEERS if (w, c) in added]
            if not peers or (w, "tcplogger") not in added:
                continue
            name, cheapest = min(peers, key=lambda x: x[1][0])
            ours = [added[(w, c)][i] if (w, c) in added else None
                    for c in ["tcplogger", "tcplogger-both"]]
            bound = cheapest[0] / 3
            if cheapest[1] is not None and cheapest[1] <= 0:
                verdict = "no verdict: the cheapest peer's cost is within the noise"
            else:
                verdict = "; ".join(
                    f"{name}: {'met' if o[0] <= bound else 'missed'}"
                    for name, o in zip(["default", "both directions"], ours) if o)
            fmt = [pct(o[0], o[1], o[2]).replace("+", "") if o else "" for o in ours]
            out.append(f"| {WORKLOAD_LABEL[w]} | {measure} | {fmt[0]} | {fmt[1]} | "
                       f"{pct(*cheapest).replace('+', '')} ({LABEL[name]}) | {bound:.1f} % | "
                       f"{verdict} |")
    out.append("")
    out.append("tcploggerd against the empty program (the hook's own cost taken out), "
               "the ratios of the same repetition:")
    out.append("")
    out.append("| workload | configuration | throughput vs empty program | CPU per unit of work vs empty program |")
    out.append("|---|---|---:|---:|")
    for w in WORKLOADS:
        for c in ["tcplogger", "tcplogger-both"]:
            cells = []
            for measure in ["tput", "cpu"]:
                mine = paired(rows, w, c, measure, by_rep=True)
                empty = paired(rows, w, "empty", measure, by_rep=True)
                vals = [(mine[k] / empty[k] - 1) * 100 for k in mine if k in empty]
                cells.append(pct(*median_ci(vals)[:3]) if vals else "")
            if any(cells):
                out.append(f"| {WORKLOAD_LABEL[w]} | {LABEL[c]} | {cells[0]} | {cells[1]} |")
    out.append("")
    return added


def plot_peers(outdir, rows):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    rows = [r for r in rows if r.get("cpu_s")]
    if not rows:
        return
    colors = ["#bbbbbb", "#08519c", "#6baed6", "#31a354", "#fd8d3c", "#e6550d", "#756bb1"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, (title, measure) in zip(axes, [
            ("Throughput vs no program (%)", "tput"),
            ("CPU per unit of work vs no program (%)", "cpu")]):
        width = 0.8 / len(SIDE_BY_SIDE)
        for i, c in enumerate(SIDE_BY_SIDE):
            xs, ys, lo, hi = [], [], [], []
            for j, w in enumerate(WORKLOADS):
                vals = [(x - 1) * 100 for x in paired(rows, w, c, measure)]
                if not vals:
                    continue
                m, a, b, _ = median_ci(vals)
                xs.append(j + (i - len(SIDE_BY_SIDE) / 2 + 0.5) * width)
                ys.append(m)
                lo.append(m - (a if a is not None else m))
                hi.append((b if b is not None else m) - m)
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=LABEL[c],
                   color=colors[i % len(colors)])
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_xticks(range(len(WORKLOADS)))
        ax.set_xticklabels(WORKLOADS)
        ax.set_title(title)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "peers.png"), dpi=110)


def plot(outdir, data):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report.py: python3-matplotlib missing, no plot", file=sys.stderr)
        return
    ns, med = data["ns"], data["medians"]
    progs = ["empty", "parse", "lookup", "tcplogger", "seed-noprint", "seed"]
    colors = ["#bbbbbb", "#9ecae1", "#6baed6", "#08519c", "#fdae6b", "#e6550d"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / len(progs)
    for i, p in enumerate(progs):
        xs = [j + (i - len(progs) / 2 + 0.5) * width for j in range(len(WORKLOADS))]
        ys = [ns.get((w, p), 0) for w in WORKLOADS]
        ax1.bar(xs, ys, width, label=LABEL[p], color=colors[i])
    ax1.set_xticks(range(len(WORKLOADS)))
    ax1.set_xticklabels(WORKLOADS)
    ax1.set_ylabel("ns per packet (bpf_stats run_time_ns / run_cnt)")
    ax1.set_title("Cost per packet at vB ingress, real traffic")
    ax1.legend(fontsize=7)
    cfgs = ["empty", "tcplogger", "seed"]
    width = 0.8 / len(cfgs)
    for i, c in enumerate(cfgs):
        xs = [j + (i - len(cfgs) / 2 + 0.5) * width for j in range(len(WORKLOADS))]
        ys = [(statistics.median(data["ratios"][(w, c)]) - 1) * 100
              if data["ratios"].get((w, c)) else 0 for w in WORKLOADS]
        ax2.bar(xs, ys, width, label=LABEL[c],
                color=colors[[0, 3, 5][i]])
    ax2.axhline(-3, color="red", linestyle="--", linewidth=1, label="goal: -3 %")
    ax2.axhline(0, color="black", linewidth=0.5)
    ax2.set_xticks(range(len(WORKLOADS)))
    ax2.set_xticklabels(WORKLOADS)
    ax2.set_ylabel("throughput vs no program (%), median of paired runs")
    ax2.set_title("Throughput change")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "traffic.png"), dpi=110)


def scale_table(outdir, out):
    rows = read(outdir, "scale.csv")
    if not rows:
        return
    out.append("| connections | map size | insert (ns, program) | update (ns, program) "
               "| fill (wall) | dump --json | map memory | daemon RSS start / after dumps / peak "
               "| CPU while watching | expiry CPU per entry | expiry wall |")
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        n = int(r["entries"])
        out.append(
            f"| {n:,} | {int(r['max_connections']):,} | {float(r['insert_ns']):.0f} | "
            f"{float(r['update_ns']):.0f} | {int(r['fill_ms']) / 1000:.1f} s | "
            f"{int(r['dump_ms'])} ms | {int(r['map_bytes']) / 2**20:.0f} MiB | "
            f"{int(r['rss_start_kb']) / 1024:.1f} / {int(r['rss_after_dump_kb']) / 1024:.1f} / "
            f"{int(r['rss_peak_kb']) / 1024:.1f} MiB | "
            f"{float(r['watch_cpu_pct']):.1f} % | "
            f"{int(r['expiry_cpu_us']) * 1000 / n:.0f} ns | {int(r['expiry_wall_ms'])} ms |")
    out.append("")


def daemon_table(outdir, out):
    rows = read(outdir, "daemon_cost.csv")
    if not rows:
        return
    out.append("| daemon | CPU | wake-ups/s | RSS | connections/s | entries expired/s |")
    out.append("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        out.append(f"| {r['workload']} | {float(r['cpu_percent']):.2f} % | "
                   f"{float(r['wakeups_per_s']):.1f} | {int(r['rss_kb']) / 1024:.1f} MiB | "
                   f"{int(float(r['connections_per_s'])):,} | "
                   f"{int(float(r['expired_per_s'])):,} |")
    out.append("")


def main():
    outdir = sys.argv[1]
    out = []
    data = traffic_tables(outdir, out)
    if data:
        plot(outdir, data)
    if peers_tables(outdir, out):
        plot_peers(outdir, read(outdir, "traffic.csv"))
    scale_table(outdir, out)
    daemon_table(outdir, out)
    with open(os.path.join(outdir, "report.md"), "w") as f:
        f.write("\n".join(out) + "\n")
    print("\n".join(out))


if __name__ == "__main__":
    main()
