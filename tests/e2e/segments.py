#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""segments.py CAPTURE: the TCP segments each flow of the capture puts on
the wire, "SRC SPORT DST DPORT SEGMENTS", for captures that hold TSO/GSO
packets (the sender's TCP hands the NIC, or veth, one packet for many
segments). A frame with N payload bytes is ceil(N / MSS) segments (at
least 1), MSS being what the sender may put in one segment: the MSS option
the receiver sent in its SYN, less 12 bytes when both SYNs carried TCP
timestamps (RFC 7323) - what Linux's TCP uses to cut the packet
(tcp_set_skb_tso_segs). Read from the capture alone, with tshark.
"""
import subprocess
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = subprocess.run(
        ["tshark", "-r", sys.argv[1], "-Y", "tcp", "-T", "fields", "-E",
         "separator=|", "-e", "ip.src", "-e", "ipv6.src", "-e",
         "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e",
         "tcp.dstport", "-e", "tcp.len", "-e", "tcp.flags", "-e",
         "tcp.options.mss_val", "-e", "tcp.options.timestamp.tsval"],
        capture_output=True, text=True, check=True).stdout
    frames, syn = [], {}
    for line in out.splitlines():
        f = line.split("|")
        key = (f[0] or f[1], f[2], f[3] or f[4], f[5])
        flags = int(f[7], 16)
        if flags & 0x02:  # SYN or SYN-ACK: what this sender offers
            syn[key] = (int(f[8]) if f[8] else 536, f[9] != "")
        frames.append((key, int(f[6])))
    segs = {}
    for key, payload in frames:
        rev = (key[2], key[3], key[0], key[1])
        if payload == 0:
            n = 1
        else:
            if key not in syn or rev not in syn:
                sys.exit("no handshake for %s in the capture" % (key,))
            mss = syn[rev][0] - (12 if syn[key][1] and syn[rev][1] else 0)
            n = -(-payload // mss)
        segs[key] = segs.get(key, 0) + n
    for key in sorted(segs):
        print(*key, segs[key])


if __name__ == "__main__":
    main()
