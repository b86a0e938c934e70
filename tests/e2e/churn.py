#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""churn.py: TCP load for the lifecycle tests, between the test's own
namespaces only.

  churn.py serve ADDR PORT             accept; read each connection to EOF
  churn.py churn ADDR PORT N BYTES     N connections one after the other
  churn.py hold ADDR PORT N BYTES SEC  N connections at once, held SEC s
  churn.py stream ADDR PORT SEC        one connection sending without a
                                       pause for SEC s
"""
import socket
import sys
import threading
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def serve(addr, port):
    srv = socket.socket(family(addr), socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(1024)

    def drain(conn):
        with conn:
            while conn.recv(65536):
                pass

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=drain, args=(conn,), daemon=True).start()


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
