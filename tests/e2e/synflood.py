#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""synflood.py: spoofed TCP SYNs on a test veth, for the hostile-traffic
tests. Test namespaces only: the frames go out of IFACE to the peer's MAC.

  synflood.py IFACE SRC_MAC DST_MAC DST_IP DST_PORT COUNT SECONDS [SEED]

COUNT SYNs, each from a distinct random source address in 198.18.128.0/17
and port, spread evenly over SECONDS, with valid IP and TCP checksums (the
receiver answers them). Prints the number of frames sent.
"""
import random
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def mac(text):
    return bytes(int(x, 16) for x in text.split(":"))


def syn_frame(src_mac, dst_mac, src, dst, sport, dport, seq):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02,
                      64240, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), seq & 0xFFFF,
                     0, 64, socket.IPPROTO_TCP, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + tcp


def main():
    ifc, src_mac, dst_mac, dst_ip = sys.argv[1:5]
    dport, count, seconds = int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
    rnd = random.Random(int(sys.argv[8]) if len(sys.argv) > 8 else 1)
    dst = socket.inet_aton(dst_ip)
    seen = set()
    frames = []
    while len(frames) < count:
        # 198.18.128.0/17: the upper half of the benchmark range.
        src = bytes([198, 18, 128 | rnd.randrange(128), rnd.randrange(256)])
        sport = rnd.randrange(1024, 65536)
        if (src, sport) in seen:
            continue
        seen.add((src, sport))
        frames.append(syn_frame(mac(src_mac), mac(dst_mac), src, dst, sport,
                                dport, rnd.randrange(1 << 32)))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifc, 0))
    start = time.monotonic()
    for i, f in enumerate(frames):
        s.send(f)
        # Evenly over SECONDS: sleep whenever ahead of the schedule.
        ahead = start + seconds * (i + 1) / count - time.monotonic()
        if ahead > 0.001:
            time.sleep(ahead)
    print(len(frames))
    return 0


if __name__ == "__main__":
    sys.exit(main())
