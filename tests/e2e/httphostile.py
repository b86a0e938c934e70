#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""httphostile.py - clients that misbehave towards the metrics endpoint.

  httphostile.py hold HOST PORT N SECONDS
      N connections at once, each sending a request line and then one
      header byte per second (slow), held SECONDS; prints "accepted N
      refused N" (refused: reset or closed before the first byte sent)
  httphostile.py huge HOST PORT BYTES
      one request with a header of BYTES; prints the status line, or
      "closed" when the server closed without one
  httphostile.py garbage HOST PORT
      binary junk, then a line; prints the status line or "closed"
  httphostile.py get HOST PORT [SOURCE]
      one well-formed GET /metrics (from SOURCE, an address); prints
      the status and the number of sample lines
"""
import os
import socket
import sys
import time


def connect(host, port, source=None, timeout=5):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect((host, int(port)))
    return s


def status_of(s):
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    return line if line else "closed"


def hold(host, port, n, seconds):
    conns, refused = [], 0
    for _ in range(n):
        try:
            s = connect(host, port)
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            conns.append(s)
        except OSError:
            refused += 1
    end = time.time() + seconds
    while time.time() < end:
        for s in list(conns):
            try:
                s.send(b"a")
            except OSError:
                conns.remove(s)
                refused += 1
        time.sleep(1)
    accepted = len(conns)
    for s in conns:
        s.close()
    print("accepted %d refused %d" % (accepted, refused))


def huge(host, port, size):
    s = connect(host, port)
    try:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Huge: " +
                  b"a" * size + b"\r\n\r\n")
    except OSError:
        pass  # closed while we sent: what we want
    print(status_of(s))


def garbage(host, port):
    s = connect(host, port)
    try:
        s.sendall(os.urandom(4096) + b"\r\n\r\n")
    except OSError:
        pass
    print(status_of(s))


def get(host, port, source=None):
    s = connect(host, port, source, timeout=10)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    samples = [l for l in body.decode().splitlines()
               if l and not l.startswith("#")]
    print(head.split(b"\r\n", 1)[0].decode(), len(samples))


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "hold":
        hold(args[0], args[1], int(args[2]), float(args[3]))
    elif mode == "huge":
        huge(args[0], args[1], int(args[2]))
    elif mode == "garbage":
        garbage(args[0], args[1])
    elif mode == "get":
        get(args[0], args[1], args[2] if len(args) > 2 else None)
    else:
        sys.exit("unknown mode " + mode)
