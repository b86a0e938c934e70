#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""churn.py: TCP load for the lifecycle tests, between the test's own
namespaces only.

  churn.py serve ADDR PORT             accept; read each connection to EOF
  churn.py churn ADDR PORT N BYTES     N connections one after the other
  churn.py hold ADDR PORT N BYTES SEC  N connections at once, held SEC s
  churn.py stream ADDR PORT SEC        one connection sending without a
                                       pause for SEC s
  churn.py respond ADDR PORT [MBIT]    accept; read each request to EOF,
                                       then answer the number of bytes its
                                       first 8 bytes ask for (big endian),
                                       paced at MBIT Mbit/s if given
  churn.py exchange ADDR PORT REQ RESP one request of REQ bytes (at least
                                       8) asking for RESP bytes; fails
                                       unless exactly RESP come back
"""
import socket
import sys
import threading
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def accept_forever(addr, port, handle):
    """Accepts on ADDR:PORT; each connection goes to handle() in a thread."""
    srv = socket.socket(family(addr), socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(1024)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def serve(addr, port):
    def drain(conn):
        with conn:
            while conn.recv(65536):
                pass

    accept_forever(addr, port, drain)


# Not in Python's socket module; the value is the same on every Linux arch.
SO_MAX_PACING_RATE = getattr(socket, "SO_MAX_PACING_RATE", 47)


def respond(addr, port, mbit=0):
    def answer(conn):
        if mbit:
            conn.setsockopt(socket.SOL_SOCKET, SO_MAX_PACING_RATE,
                            mbit * 125000)
        with conn:
            req = b""
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                req += data[:8 - len(req)] if len(req) < 8 else b""
            left = int.from_bytes(req[:8], "big") if len(req) == 8 else 0
            while left > 0:
                left -= conn.send(b"r" * min(left, 65536))

    accept_forever(addr, port, answer)


def exchange(addr, port, req, resp):
    s = socket.create_connection((addr, port), timeout=30)
    s.sendall(resp.to_bytes(8, "big") + b"q" * (req - 8))
    s.shutdown(socket.SHUT_WR)
    got = 0
    while True:
        data = s.recv(65536)
        if not data:
            break
        got += len(data)
    s.close()
    return 0 if got == resp else 1


def one(addr, port, nbytes):
    s = socket.create_connection((addr, port), timeout=10)
    s.sendall(b"x" * nbytes)
    return s


def close(s):
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
    s.close()


def main():
    mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "serve":
        serve(addr, port)
    elif mode == "churn":
        for _ in range(int(sys.argv[4])):
            close(one(addr, port, int(sys.argv[5])))
    elif mode == "respond":
        respond(addr, port, int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    elif mode == "exchange":
        return exchange(addr, port, int(sys.argv[4]), int(sys.argv[5]))
    elif mode == "stream":
        s = socket.create_connection((addr, port), timeout=10)
        end = time.monotonic() + float(sys.argv[4])
        chunk = b"x" * 16384
        while time.monotonic() < end:
            s.sendall(chunk)
        close(s)
    elif mode == "hold":
        socks = [one(addr, port, int(sys.argv[5])) for _ in range(int(sys.argv[4]))]
        time.sleep(float(sys.argv[6]))
        for s in socks:
            close(s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
