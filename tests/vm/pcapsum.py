#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""pcapsum.py FILE...: per TCP flow of the captures (libpcap format,
Ethernet), "VLANS SRC SPORT DST DPORT PACKETS BYTES", BYTES the sum of the
frame lengths on the wire (orig_len: libpcap puts a VLAN tag held in
metadata back). VLANS: outermost first, comma-separated, "-" if none.

The ground truth of the VM test, where tshark is not installed: it shares
no code with tcplogger's parser.
"""
import socket
import struct
import sys


def flows(path, out):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off = 24
    while off + 16 <= len(data):
        _, _, caplen, origlen = struct.unpack(endian + "IIII",
                                              data[off:off + 16])
        pkt = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        if len(pkt) < caplen:
            break  # the last record of a capture cut short
        key = parse(pkt)
        if key:
            p, b = out.get(key, (0, 0))
            out[key] = (p + 1, b + origlen)


def parse(pkt):
    if len(pkt) < 14:
        return None
    etype = struct.unpack("!H", pkt[12:14])[0]
    off, vlans = 14, []
    while etype in (0x8100, 0x88A8) and len(pkt) >= off + 4:
        tci, etype = struct.unpack("!HH", pkt[off:off + 4])
        vlans.append(str(tci & 0x0FFF))
        off += 4
    if etype == 0x0800 and len(pkt) >= off + 20:
        ihl = (pkt[off] & 0x0F) * 4
        if pkt[off + 9] != 6 or len(pkt) < off + ihl + 4:
            return None
        src = socket.inet_ntop(socket.AF_INET, pkt[off + 12:off + 16])
        dst = socket.inet_ntop(socket.AF_INET, pkt[off + 16:off + 20])
        off += ihl
    elif etype == 0x86DD and len(pkt) >= off + 44:
        if pkt[off + 6] != 6:
            return None
        src = socket.inet_ntop(socket.AF_INET6, pkt[off + 8:off + 24])
        dst = socket.inet_ntop(socket.AF_INET6, pkt[off + 24:off + 40])
        off += 40
    else:
        return None
    sport, dport = struct.unpack("!HH", pkt[off:off + 4])
    return (",".join(vlans) or "-", src, sport, dst, dport)


def main():
    out = {}
    for path in sys.argv[1:]:
        flows(path, out)
    for k in sorted(out, key=lambda k: " ".join(map(str, k))):
        print(*k, *out[k])


if __name__ == "__main__":
    main()
