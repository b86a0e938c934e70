#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""nicframes.py: TCP packets as real NICs deliver them, written by hand,
for the end-to-end tests. Only onto the test's own interfaces, with
addresses from 198.18.0.0/15 and fd00::/8.

  nicframes.py vlan IFACE
      Raw Ethernet frames through an AF_PACKET socket: untagged, 802.1Q,
      QinQ (802.1ad + 802.1Q), the same 4-tuple on two VLANs, IPv4 and
      IPv6, several payload sizes. Sent on the sender's veth, the
      receiver's kernel moves the outer tag into the skb's metadata before
      TC ingress; sent from the hooked interface itself, the tags stay in
      the frame at TC egress.

  nicframes.py tap IFACE
      GSO packets as a VM's virtio-net (or a host's tap) hands them over:
      IFACE is a tap made with vnet_hdr; each write is a struct
      virtio_net_hdr (NEEDS_CSUM, GSO TCPV4/TCPV6, gso_size) and one large
      frame. Prints, per flow, what was written: "FAMILY SRC SPORT DST
      DPORT PACKETS SEGMENTS" with SEGMENTS = sum of
      ceil(payload / gso_size) (1 for a packet that is not GSO).

  nicframes.py split IFACE
      Frames whose headers are not in the skb's linear part: written to a
      vnet_hdr tap with hdr_len 14 and no GSO, frames over a page long get
      a linear part of just the Ethernet header (tun_alloc_skb) and the
      rest in page fragments, so the program must read the IP and TCP
      headers with bpf_skb_load_bytes(). IPv4 and IPv6, 5,000 to 9,000
      bytes.
"""
import fcntl
import os
import socket
import struct
import sys

ETH_P_IP, ETH_P_IPV6 = 0x0800, 0x86DD
ETH_P_8021Q, ETH_P_8021AD = 0x8100, 0x88A8
SRC_MAC = bytes.fromhex("020000000001")
DST_MAC = bytes.fromhex("020000000002")


def tcp(sport, dport, flags, payload):
    # Data offset 5, window 1024; the checksum is not checked at TC.
    hdr = struct.pack("!HHIIBBHHH", sport, dport, 1, 1, 5 << 4, flags,
                      1024, 0, 0)
    return hdr + bytes(payload)


def ipv4(src, dst, seg):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 0, 0x4000,
                      64, socket.IPPROTO_TCP, 0,
                      socket.inet_pton(socket.AF_INET, src),
                      socket.inet_pton(socket.AF_INET, dst))
    csum = checksum(hdr)
    return hdr[:10] + struct.pack("!H", csum) + hdr[12:] + seg


def ipv6(src, dst, seg):
    return struct.pack("!IHBB16s16s", 6 << 28, len(seg), socket.IPPROTO_TCP,
                       64, socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst)) + seg


def checksum(data):
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(tags, family, src, dst, sport, dport, flags, payload):
    """tags: [(tpid, tci), ...] outermost first."""
    seg = tcp(sport, dport, flags, payload)
    if family == 4:
        l3, proto = ipv4(src, dst, seg), ETH_P_IP
    else:
        l3, proto = ipv6(src, dst, seg), ETH_P_IPV6
    types = [t[0] for t in tags] + [proto]
    out = DST_MAC + SRC_MAC + struct.pack("!H", types[0])
    for i, (_, tci) in enumerate(tags):
        out += struct.pack("!HH", tci, types[i + 1])
    return out + l3


ACK, PSH = 0x10, 0x08

# (tags, family, src, dst, sport, dport, payload sizes)
VLAN_FLOWS = [
    ([], 4, "198.18.0.1", "198.18.0.2", 41000, 7000, [0, 100, 1400]),
    ([(ETH_P_8021Q, 100)], 4, "198.18.0.1", "198.18.0.2", 41001, 7001,
     [0, 64, 1000, 1400, 7]),
    # The same 4-tuple on VLAN 200, with priority bits set: its own entry.
    ([(ETH_P_8021Q, (5 << 13) | 200)], 4, "198.18.0.1", "198.18.0.2", 41001,
     7001, [1, 2, 3]),
    ([(ETH_P_8021AD, 300), (ETH_P_8021Q, 100)], 4, "198.18.0.1",
     "198.18.0.2", 41002, 7002, [0, 500, 1400]),
    ([(ETH_P_8021Q, 100)], 6, "fd00::1", "fd00::2", 41003, 7003,
     [0, 1200, 33]),
    ([(ETH_P_8021AD, 300), (ETH_P_8021Q, 200)], 6, "fd00::1", "fd00::2",
     41004, 7004, [10, 1300]),
]


def cmd_vlan(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    for tags, fam, src, dst, sport, dport, sizes in VLAN_FLOWS:
        for n in sizes:
            s.send(frame(tags, fam, src, dst, sport, dport, ACK | PSH,
                         n))
    s.close()


TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI, IFF_VNET_HDR = 0x0002, 0x1000, 0x4000
VIRTIO_NET_HDR_F_NEEDS_CSUM = 1
GSO_TCPV4, GSO_TCPV6 = 1, 4

# (tags, family, src, dst, sport, dport, [(payload, gso_size), ...])
TAP_FLOWS = [
    ([], 4, "198.18.2.1", "198.18.2.2", 42000, 8000,
     [(60000, 1448), (14480, 1448), (3000, 1448), (1000, 1448),
      (2897, 1448)]),
    ([], 6, "fd00:2::1", "fd00:2::2", 42001, 8001,
     [(60000, 1428), (5000, 1000), (999, 1428)]),
    ([(ETH_P_8021Q, 100)], 4, "198.18.2.1", "198.18.2.2", 42002, 8002,
     [(30000, 1444), (4000, 536)]),
]


def cmd_tap(iface):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF,
                struct.pack("16sH", iface.encode(),
                            IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
    for tags, fam, src, dst, sport, dport, pkts in TAP_FLOWS:
        segs = 0
        for payload, gso_size in pkts:
            f = frame(tags, fam, src, dst, sport, dport, ACK, payload)
            l3_off = 14 + 4 * len(tags)
            l4_off = l3_off + (20 if fam == 4 else 40)
            hdr_len = l4_off + 20
            if payload > gso_size:
                # What virtio_net_hdr_to_skb() turns into gso_size with
                # gso_segs 0; the wire carries ceil(payload / gso_size).
                vh = struct.pack("<BBHHHH", VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                 GSO_TCPV4 if fam == 4 else GSO_TCPV6,
                                 hdr_len, gso_size, l4_off, 16)
                segs += -(-payload // gso_size)
            else:
                vh = struct.pack("<BBHHHH", VIRTIO_NET_HDR_F_NEEDS_CSUM, 0,
                                 hdr_len, 0, l4_off, 16)
                segs += 1
            os.write(fd, vh + f)
        print(fam, src, sport, dst, dport, len(pkts), segs)
    os.close(fd)


SPLIT_FLOWS = [
    (4, "198.18.3.1", "198.18.3.2", 43000, 9000, [5000, 9000, 6000]),
    (6, "fd00:3::1", "fd00:3::2", 43001, 9001, [5000, 8000]),
]


def cmd_split(iface):
    fd = os.open("/dev/net/tun", os.O_RDWR)  # blocking: no build_skb path
    fcntl.ioctl(fd, TUNSETIFF,
                struct.pack("16sH", iface.encode(),
                            IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
    vh = struct.pack("<BBHHHH", 0, 0, 14, 0, 0, 0)  # hdr_len: Ethernet only
    for fam, src, dst, sport, dport, sizes in SPLIT_FLOWS:
        for n in sizes:
            os.write(fd, vh + frame([], fam, src, dst, sport, dport, ACK, n))
    os.close(fd)


def main():
    cmds = {"vlan": cmd_vlan, "tap": cmd_tap, "split": cmd_split}
    if len(sys.argv) != 3 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](sys.argv[2])


if __name__ == "__main__":
    main()
