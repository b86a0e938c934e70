#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""hostile.py: the careless and hostile clients of docs/TESTING.md on the
daemon's socket, all at once, for the benchmark and the test of fairness.

  hostile.py SOCKET SECONDS [KIND=N ...]

Kinds (default counts in brackets):
  pipelined  [4] 200 stats requests in one write, never read
  halfclosed [2] a dump, then shutdown(SHUT_WR), then reading 4 KiB every
                 0.2 s (slowly, but never idle long enough to be dropped)
  sorted    [10] an unlimited dump sorted by bytes, never read
  idle      [30] a connection that sends nothing
  huge       [1] a 10 MB request line
Every client connects once, at the start (the idle ones once the others
have sent their requests: a client that has not asked yet is fair game for
the daemon to drop to make room), and stays until SECONDS have passed or the
daemon closes it. Prints one line per kind: how many
connected, how many the daemon had closed by the end, and the error codes
of the first answers.
"""
import json
import socket
import sys
import threading
import time

DEFAULTS = {"pipelined": 4, "halfclosed": 2, "sorted": 10, "idle": 30,
            "huge": 1}


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.connected = self.closed = 0
        self.codes = {}

    def add(self, connected=0, closed=0, code=None):
        with self.lock:
            self.connected += connected
            self.closed += closed
            if code:
                self.codes[code] = self.codes.get(code, 0) + 1


class Countdown:
    """Set once N clients have sent their requests."""

    def __init__(self, n):
        self.cond = threading.Condition()
        self.n = n

    def release(self):
        with self.cond:
            self.n -= 1
            self.cond.notify_all()

    def wait(self, timeout):
        with self.cond:
            self.cond.wait_for(lambda: self.n <= 0, timeout)


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def first_error(data):
    """The error code of the first line, if it is an error."""
    line = data.split(b"\n", 1)[0]
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if isinstance(obj, dict) and obj.get("ok") is False:
        return obj.get("error", {}).get("code")
    return None


def wait_closed(s, end, tally, read=False, pace=0.0):
    """Until END: reads nothing (or, with READ, 4 KiB every PACE s);
    counts a close by the daemon and the first line's error code."""
    head = b""
    s.settimeout(0.2)
    while time.monotonic() < end:
        if not read:
            # Read nothing; only the first line's error, by peeking.
            if not head:
                try:
                    head = s.recv(4096, socket.MSG_PEEK)
                except (socket.timeout, OSError):
                    pass
                code = first_error(head) if head else None
                if code:
                    tally.add(code=code)
            time.sleep(0.2)
            continue
        try:
            data = s.recv(4096)
        except socket.timeout:
            continue
        except OSError:
            data = b""
        if not data:
            tally.add(closed=1)
            return
        if not head:
            head = data
            code = first_error(head)
            if code:
                tally.add(code=code)
        time.sleep(pace)
    if not read:
        # Closed by the daemon? Only after what it sent is read. (A
        # close with our requests unread reads as a reset.)
        s.settimeout(0.05)
        try:
            while s.recv(1 << 20):
                pass
            tally.add(closed=1)
        except ConnectionResetError:
            tally.add(closed=1)
        except (socket.timeout, OSError):
            pass


def client(kind, path, end, tally, asked):
    if kind == "idle":
        asked.wait(5)
    try:
        s = connect(path)
    except OSError:
        tally.add(code="connect_failed")
        if kind != "idle":
            asked.release()
        return
    tally.add(connected=1)
    try:
        if kind == "idle":
            wait_closed(s, end, tally)
            return
        try:
            ask(kind, s)
        finally:
            asked.release()
        if kind == "halfclosed":
            wait_closed(s, end, tally, read=True, pace=0.2)
        else:
            wait_closed(s, end, tally)
    finally:
        s.close()


def ask(kind, s):
    """Sends the request of a client of KIND."""
    if kind == "pipelined":
        s.sendall(b'{"cmd":"stats"}\n' * 200)
    elif kind == "halfclosed":
        s.sendall(b'{"cmd":"dump"}\n')
        s.shutdown(socket.SHUT_WR)
    elif kind == "sorted":
        s.sendall(b'{"cmd":"dump","sort":"bytes"}\n')
    elif kind == "huge":
        try:
            s.sendall(b"x" * (10 << 20) + b"\n")
        except OSError:
            pass


def main():
    path, seconds = sys.argv[1], float(sys.argv[2])
    counts = dict(DEFAULTS)
    for arg in sys.argv[3:]:
        k, v = arg.split("=")
        if k not in counts:
            sys.exit(f"unknown kind {k}")
        counts[k] = int(v)
    end = time.monotonic() + seconds
    tallies = {k: Tally() for k in counts}
    asked = Countdown(sum(n for k, n in counts.items() if k != "idle"))
    threads = []
    for kind, n in counts.items():
        for _ in range(n):
            t = threading.Thread(target=client,
                                 args=(kind, path, end, tallies[kind], asked),
                                 daemon=True)
            t.start()
            threads.append(t)
    for t in threads:
        t.join(max(0.0, end - time.monotonic()) + 5)
    for kind, t in tallies.items():
        codes = ",".join(f"{c}:{n}" for c, n in sorted(t.codes.items()))
        print(f"{kind} connected={t.connected} closed={t.closed} "
              f"errors={codes or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
