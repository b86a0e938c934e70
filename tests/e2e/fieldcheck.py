#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""fieldcheck.py CAPTURE DUMP HOST TICK_MS: the fields of tcploggerd's
entries that are not sums, per flow, against the capture of the hooked
interface: tcp_flags (the union of the flags of the flow's frames), state
(closed once a FIN or RST was captured), first_seen and last_seen (the
flow's first and last frame, within the documented resolution: the
program stamps a packet with the boot time of the first packet of its
kernel tick on its CPU, so a stamp is at most one tick early and never
late; TICK_MS is the tick's upper bound, plus 2 ms for the wall-clock
conversion and the capture's own timestamping).

CAPTURE is a capture file (read with tshark), DUMP a `tcplogctl --json
dump`; flows to or from HOST, ingress (to HOST) and egress (from HOST)
alike. Prints one line per difference and exits 1 if there is any.
"""
import datetime
import json
import subprocess
import sys

NAMES = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"]


def capture(path):
    out = subprocess.run(
        ["tshark", "-r", path, "-Y", "tcp", "-T", "fields", "-E",
         "separator=|", "-e", "ip.src", "-e", "ipv6.src", "-e",
         "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e",
         "tcp.dstport", "-e", "tcp.flags", "-e", "frame.time_epoch"],
        capture_output=True, text=True, check=True).stdout
    flows = {}
    for line in out.splitlines():
        f = line.split("|")
        key = (f[0] or f[1], int(f[2]), f[3] or f[4], int(f[5]))
        flags, t = int(f[6], 16) & 0xFF, float(f[7])
        cur = flows.get(key)
        if cur is None:
            flows[key] = [flags, t, t]
        else:
            cur[0] |= flags
            cur[1] = min(cur[1], t)
            cur[2] = max(cur[2], t)
    return flows


def epoch(rfc3339):
    return datetime.datetime.strptime(
        rfc3339, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    cap = capture(sys.argv[1])
    with open(sys.argv[2]) as f:
        dump = json.load(f)
    host, tick = sys.argv[3], float(sys.argv[4]) / 1000
    early, late = tick + 0.002, 0.002
    bad = checked = 0
    for c in dump["connections"]:
        key = (c["src_ip"], c["src_port"], c["dst_ip"], c["dst_port"])
        if host not in (key[0], key[2]):
            continue
        want = cap.get(key)
        name = "%s %s:%d > %s:%d" % ((c["direction"],) + key)
        if want is None:
            print("%s: not in the capture" % name)
            bad += 1
            continue
        checked += 1
        flags = [n for i, n in enumerate(NAMES) if want[0] & (1 << i)]
        state = "closed" if want[0] & 0x05 else "open"
        first, last = epoch(c["first_seen"]), epoch(c["last_seen"])
        errs = []
        if c["tcp_flags"] != flags:
            errs.append("tcp_flags %s, capture %s" % (c["tcp_flags"], flags))
        if c["state"] != state:
            errs.append("state %s, capture %s" % (c["state"], state))
        if not want[1] - early <= first <= want[1] + late:
            errs.append("first_seen %.6f, capture %.6f" % (first, want[1]))
        if not want[2] - early <= last <= want[2] + late:
            errs.append("last_seen %.6f, capture %.6f" % (last, want[2]))
        if errs:
            print("%s: %s" % (name, "; ".join(errs)))
            bad += 1
    print("%d flows: tcp_flags, state, first_seen, last_seen checked, "
          "%d differ" % (checked, bad))
    return 1 if bad or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
