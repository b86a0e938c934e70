#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""send.py: exact, paced senders for bench/accuracy.sh, between the bench's
own namespaces only.

  send.py bulk ADDR PORT BYTES MBIT         exactly BYTES, paced at MBIT Mbit/s
  send.py small ADDR PORT WRITES SIZE GAP_US  WRITES writes of SIZE bytes,
                                             TCP_NODELAY, GAP_US microseconds apart
  send.py udp ADDR PORT COUNT SIZE          COUNT datagrams of SIZE bytes

The TCP senders half-close, read to EOF (the receiver, churn.py serve,
closes after EOF) and only then close: every packet of the connection has
crossed the link when they return. "udp" is filler that is not TCP, to
push a capture ring's partly filled block to a reader that never times
out (softflowd); the TCP counters ignore it.
"""
import socket
import sys
import time

# Not in Python's socket module; the value is the same on every Linux arch.
SO_MAX_PACING_RATE = getattr(socket, "SO_MAX_PACING_RATE", 47)


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def finish(s):
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
    s.close()


def bulk(addr, port, nbytes, mbit):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    # The kernel paces this socket itself (no fq qdisc needed), so the
    # packet rate stays within what the pcap readers keep up with.
    s.setsockopt(socket.SOL_SOCKET, SO_MAX_PACING_RATE, mbit * 125000)
    s.settimeout(30)
    s.connect((addr, port))
    chunk = b"\0" * 65536
    left = nbytes
    while left > 0:
        left -= s.send(chunk[:min(left, len(chunk))])
    finish(s)


def small(addr, port, writes, size, gap_us):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(30)
    s.connect((addr, port))
    data = b"s" * size
    for _ in range(writes):
        s.sendall(data)
        if gap_us > 0:
            time.sleep(gap_us / 1e6)
    finish(s)


def udp(addr, port, count, size):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    data = b"u" * size
    for _ in range(count):
        s.sendto(data, (addr, port))
    s.close()


def main():
    mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    args = [int(a) for a in sys.argv[4:]]
    if mode == "bulk":
        bulk(addr, port, *args)
    elif mode == "small":
        small(addr, port, *args)
    elif mode == "udp":
        udp(addr, port, *args)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
