#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""report.py - turns the CSV files of one benchmark run into the Markdown
tables of docs/BENCHMARKS.md and the plot of cost per packet.

  bench/report.py OUTDIR

Reads OUTDIR/{traffic,nsperpkt,scale,daemon_cost}.csv (whichever exist),
writes OUTDIR/report.md and OUTDIR/traffic.png. Every ratio is between
figures of the same run.
"""
import csv
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
}
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


def paired_ratios(rows, workload, config):
    by_rep = {}
    for r in rows:
        if r["workload"] == workload:
            by_rep.setdefault(r["rep"], {})[r["config"]] = float(r["value"])
    return [v[config] / v["none"] for v in by_rep.values()
            if config in v and v.get("none")]


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
        for c in CONFIGS + ["seed-noprint", "parse", "lookup"]:
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
    scale_table(outdir, out)
    daemon_table(outdir, out)
    with open(os.path.join(outdir, "report.md"), "w") as f:
        f.write("\n".join(out) + "\n")
    print("\n".join(out))


if __name__ == "__main__":
    main()
