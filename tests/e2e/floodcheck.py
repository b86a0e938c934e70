#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""floodcheck.py: the real connections of a SYN-flood test against the
capture.

  floodcheck.py CAPTURE DUMP_JSON REAL_ADDR FLOOD_START FLOOD_END

Every flow (one direction of a connection) to or from REAL_ADDR in the
capture must have its entry in the dump. Connections opened before the
flood (held idle through it) and after it must be counted exactly, with
SYN among their flags. A connection opened during the flood may have had
its SYN (or SYN-ACK) refused, as the embryonic share was full: then its
entry lacks SYN and holds exactly the capture's packets without SYN. Any
other difference fails. Prints one summary line; exit status 1 on a
failure, with every difference listed.
"""
import json
import subprocess
import sys


def capture(path):
    out = subprocess.run(
        ["tshark", "-r", path, "-T", "fields", "-E", "separator=|",
         "-e", "frame.time_epoch", "-e", "ip.src", "-e", "tcp.srcport",
         "-e", "ip.dst", "-e", "tcp.dstport", "-e", "frame.len",
         "-e", "ip.len", "-e", "tcp.flags.syn"],
        check=True, capture_output=True, text=True).stdout
    flows = {}
    for line in out.splitlines():
        t, src, sport, dst, dport, flen, iplen, syn = line.split("|")
        if not src:
            continue
        k = (src, int(sport), dst, int(dport))
        f = flows.setdefault(k, {"all": [0, 0, 0], "syn": [0, 0, 0],
                                 "first": float(t)})
        for part in ("all", "syn") if syn in ("1", "True") else ("all",):
            f[part][0] += 1
            f[part][1] += int(flen)
            f[part][2] += int(iplen)
    return flows


def main():
    cap, dump, real = sys.argv[1], sys.argv[2], sys.argv[3]
    start, end = float(sys.argv[4]), float(sys.argv[5])
    flows = capture(cap)
    with open(dump) as f:
        conns = json.load(f)["connections"]
    ours = {(c["src_ip"], c["src_port"], c["dst_ip"], c["dst_port"]): c
            for c in conns}
    # A connection's start: its first frame, either way.
    opened = {}
    for (src, sport, dst, dport), f in flows.items():
        conn = frozenset([(src, sport), (dst, dport)])
        opened[conn] = min(opened.get(conn, f["first"]), f["first"])
    bad, seen = [], {"before": 0, "during": 0, "after": 0}
    refused = 0
    for k, f in sorted(flows.items()):
        if real not in (k[0], k[2]):
            continue
        t = opened[frozenset([(k[0], k[1]), (k[2], k[3])])]
        when = "before" if t < start else "after" if t > end else "during"
        seen[when] += 1
        c = ours.get(k)
        if c is None:
            bad.append(f"{when} {k}: no entry (capture {f['all']})")
            continue
        got = [c["packets"], c["bytes"], c["ip_bytes"]]
        if "SYN" in c["tcp_flags"]:
            want = f["all"]
        elif when == "during":
            want = [a - s for a, s in zip(f["all"], f["syn"])]
            refused += f["syn"][0]
        else:
            bad.append(f"{when} {k}: no SYN among {c['tcp_flags']}")
            continue
        if got != want:
            bad.append(f"{when} {k}: counted {got}, want {want} "
                       f"(capture {f['all']}, of it SYN {f['syn']})")
    for b in bad:
        print(b)
    print(f"{seen['before']} flows held through the flood, "
          f"{seen['during']} opened during it ({refused} SYNs refused "
          f"there), {seen['after']} after it: "
          + ("exact" if not bad else f"{len(bad)} wrong"))
    if not seen["before"] or not seen["during"] or not seen["after"]:
        print("a phase has no flow")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
