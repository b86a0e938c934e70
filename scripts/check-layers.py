#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""check-layers.py - data flows one way through the tree.

Each folder is a layer (docs/ARCHITECTURE.md); a file may include headers of
its own layer and of the layers below it, never above, and no two files may
include each other, directly or through others. Run from the repository's
top; exits 1 naming every include that breaks the order and every circle.
"""
import os
import re
import sys

# Lowest first. A folder not listed here is not checked.
LAYERS = [
    ["bpf", "lib"],                 # the kernel/user contract, shared helpers
    ["daemon/common"],              # configuration, logging
    # the one owner of the pinned maps and expiry, with what expiry feeds:
    # owners' names, the sums per interface and unit, the IPFIX exporter
    ["daemon/maps", "daemon/owner", "daemon/sums", "daemon/export"],
    ["daemon/kernel"],              # loading, attaching, pinning, upgrading
    ["daemon/snapshot"],            # one pass of a dump
    ["daemon/api"],                 # JSON
    ["daemon/server"],              # the socket
    ["daemon"],                     # the event loop and start-up: the top
    ["client"],                     # tcplogctl: below it only lib
]
# The client is its own program: it may use lib, nothing of the daemon.
CLIENT_MAY = {"bpf", "lib", "client"}

INCLUDE = re.compile(r'^#include "([^"]+)"', re.M)


def main():
    rank, files = {}, {}
    for i, group in enumerate(LAYERS):
        for d in group:
            rank[d] = i
            for name in sorted(os.listdir(d)):
                if name.endswith((".c", ".h")):
                    files[name] = d
    bad = []
    graph = {}
    for name, d in files.items():
        with open(os.path.join(d, name), encoding="utf-8") as f:
            incs = INCLUDE.findall(f.read())
        graph[name] = [h for h in incs if h in files]
        for h in graph[name]:
            hd = files[h]
            if d == "client" and hd not in CLIENT_MAY:
                bad.append(f"{d}/{name} includes {hd}/{h}: the client uses lib only")
            elif d != "client" and hd == "client":
                bad.append(f"{d}/{name} includes {hd}/{h}")
            elif rank[hd] > rank[d]:
                bad.append(f"{d}/{name} includes {hd}/{h}, a layer above it")
    # Circles between files: a .c and its own .h are one unit.
    unit = {n: n[:-2] for n in files}
    edges = {}
    for n, incs in graph.items():
        for h in incs:
            if unit[h] != unit[n]:
                edges.setdefault(unit[n], set()).add(unit[h])
    state = {}

    def visit(u, path):
        state[u] = 1
        for v in sorted(edges.get(u, ())):
            if state.get(v) == 1:
                bad.append("circle: " + " -> ".join(path[path.index(v):] + [v]))
            elif v not in state:
                visit(v, path + [v])
        state[u] = 2

    for u in sorted(edges):
        if u not in state:
            visit(u, [u])
    for line in bad:
        print("check-layers:", line)
    if not bad:
        print(f"check-layers: {len(files)} files, {sum(map(len, graph.values()))} "
              "includes, all one way")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
