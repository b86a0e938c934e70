#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""ipfixcheck.py - the collector side of the IPFIX tests.

  ipfixcheck.py sink HOST PORT PREFIX
      a TCP collector that keeps the bytes of its N-th connection in
      PREFIX.PID.N (one connection after the other)

  ipfixcheck.py topcap OUT.PCAP PORT FILE...
      the messages of TCP streams (sink's files) as UDP datagrams to PORT
      in a pcap, one message each, so that tshark decodes every one (its
      TCP reassembly of IPFIX loses messages cut across segments); a
      stream that ends inside a message is reported

  ipfixcheck.py decode PCAP IFINDEX SPEC...
      decodes every IPFIX message in PCAP with tshark's own decoder
      (SPEC: udp.port==4739 or tcp.port==4740) and checks each one:
      templates of standard elements only (RFC 5103's reverse elements
      for biflows), every record of a known template, protocol 6, the
      interface element matching flowDirection and IFINDEX, end >= start,
      a flowEndReason of RFC 7011's list, sequence numbers that count the
      records of each transport session. Prints, per collector port and
      direction of a connection,
        "PORT SRC SPORT DST DPORT PACKETS L2_BYTES IP_BYTES REASONS"
      (biflows give one line per direction: reverse fields swapped), and
      "ERROR ..." lines for what is wrong; exits 1 if any.
"""
import json
import os
import socket
import subprocess
import sys
from collections import defaultdict

STANDARD_PEN = {0, 29305}
REASONS = {1, 2, 3, 4, 5}


def sink(host, port, prefix):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, int(port)))
    srv.listen(16)
    n = 0
    while True:
        conn, _ = srv.accept()
        n += 1
        with open("%s.%d.%d" % (prefix, os.getpid(), n), "wb",
                  buffering=0) as out:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                out.write(data)
        conn.close()


def topcap(out_path, port, files):
    import struct
    bad = 0
    with open(out_path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for stream, path in enumerate(files):
            data = open(path, "rb").read()
            off = 0
            while off + 4 <= len(data):
                ver, length = struct.unpack("!HH", data[off:off + 4])
                if ver != 10 or length < 16 or off + length > len(data):
                    break
                msg = data[off:off + length]
                off += length
                udp = struct.pack("!HHHH", 10000 + stream, int(port),
                                  8 + len(msg), 0) + msg
                ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0,
                                 0, 64, 17, 0, bytes([127, 0, 0, 1]),
                                 bytes([127, 0, 0, 1])) + udp
                frame = b"\0" * 12 + b"\x08\x00" + ip
                out.write(struct.pack("<IIII", 0, 0, len(frame), len(frame)))
                out.write(frame)
            if off != len(data):
                bad += 1
                print("ERROR %s: %d bytes after the last whole message"
                      % (path, len(data) - off))
    return 1 if bad else 0


def keep_repeats(pairs):
    """tshark names a reverse element (RFC 5103) as the forward one: a key
    seen twice keeps both values, in the template's order."""
    d = {}
    for k, v in pairs:
        if k in d:
            d[k] = (d[k] if isinstance(d[k], list) else [d[k]]) + [v]
        else:
            d[k] = v
    return d


def fwd(v):
    return v[0] if isinstance(v, list) else v


def rev(v):
    return v[1] if isinstance(v, list) and len(v) > 1 else None


def as_list(v):
    return v if isinstance(v, list) else [v]


def flows_of(cflow):
    """(template id, flow dict) of every data record of one message."""
    for key, val in cflow.items():
        if not key.startswith("Set ") or not isinstance(val, dict):
            continue
        sid = int(val.get("cflow.flowset_id", "0"))
        for k2, flow in val.items():
            if k2.startswith("Flow ") and isinstance(flow, dict):
                yield sid, flow


def templates_of(cflow):
    for key, val in cflow.items():
        if key.startswith("Set ") and isinstance(val, dict) and \
                val.get("cflow.flowset_id") == "2":
            yield val


def decode(pcap, ifindex, specs):
    args = ["tshark", "-r", pcap, "-T", "json"]
    for s in specs:
        args += ["-d", s + ",cflow"]
    out = subprocess.run(args, capture_output=True, check=True).stdout
    packets = json.loads(out, object_pairs_hook=keep_repeats)
    errors = []
    sums = defaultdict(lambda: [0, 0, 0, defaultdict(int)])
    seq_next = {}
    n_msgs = n_recs = n_tpl = 0
    for pkt in packets:
        layers = pkt["_source"]["layers"]
        if "cflow" not in layers:
            continue
        if "udp" in layers:
            port = layers["udp"]["udp.dstport"]
            stream = "udp " + layers["udp"]["udp.srcport"] + ">" + port
        else:
            port = layers["tcp"]["tcp.dstport"]
            stream = "tcp " + layers["tcp"]["tcp.stream"]
        for cflow in as_list(layers["cflow"]):
            n_msgs += 1
            if cflow.get("cflow.version") != "10":
                errors.append("not IPFIX: version %s" % cflow.get("cflow.version"))
            seq = int(cflow["cflow.sequence"])
            if stream in seq_next and seq != seq_next[stream]:
                errors.append("%s: sequence %d, want %d" % (stream, seq, seq_next[stream]))
            for tset in templates_of(cflow):
                n_tpl += 1
                text = json.dumps(tset)
                for pen in [int(p) for p in _all_values(tset, "cflow.template_ipfix_field_pen")]:
                    if pen not in STANDARD_PEN:
                        errors.append("enterprise element of PEN %d" % pen)
                if "cflow.template_id" not in text:
                    errors.append("a template set without templates")
            recs = 0
            for sid, f in flows_of(cflow):
                recs += 1
                if sid < 256 or sid > 279:
                    errors.append("data set of template %d" % sid)
                check_flow(f, ifindex, errors)
                add_flow(sums, port, f)
            n_recs += recs
            seq_next[stream] = (seq + recs) % (1 << 32)
    for (port, key), (p, l2, ip, reasons) in sorted(sums.items()):
        r = ",".join("%d:%d" % kv for kv in sorted(reasons.items()))
        print(port, key, p, l2, ip, r)
    print("# %d messages, %d records, %d template sets" % (n_msgs, n_recs, n_tpl))
    for e in errors[:20]:
        print("ERROR", e)
    return 1 if errors else 0


def _all_values(obj, name):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == name:
                for x in as_list(v):
                    yield x
            else:
                yield from _all_values(v, name)
    elif isinstance(obj, list):
        for x in obj:
            yield from _all_values(x, name)


def check_flow(f, ifindex, errors):
    if f.get("cflow.protocol") != "6":
        errors.append("protocol %s" % f.get("cflow.protocol"))
    reason = int(f.get("cflow.flow_end_reason", "0"))
    if reason not in REASONS:
        errors.append("flowEndReason %d" % reason)
    direction = f.get("cflow.direction")
    want = "cflow.inputint" if direction == "0" else "cflow.outputint"
    if f.get(want) != str(ifindex):
        errors.append("direction %s with %s %s, want %s" %
                      (direction, want, f.get(want), ifindex))
    times = f.get("cflow.timedelta_tree", {})
    if float(f.get("cflow.timedelta", "0")) < 0 or not times:
        errors.append("end before start, or no times: %s" % times)


def add_flow(sums, port, f):
    src = f.get("cflow.srcaddr") or f.get("cflow.srcaddrv6")
    dst = f.get("cflow.dstaddr") or f.get("cflow.dstaddrv6")
    sport, dport = f["cflow.srcport"], f["cflow.dstport"]
    reason = int(f.get("cflow.flow_end_reason", "0"))
    one = sums[(port, "%s %s %s %s" % (src, sport, dst, dport))]
    one[0] += int(fwd(f["cflow.packets"]))
    one[1] += int(fwd(f["cflow.layer2_octet_delta_count"]))
    one[2] += int(fwd(f["cflow.octets"]))
    one[3][reason] += 1
    # A biflow: the reverse direction's counts (the second of each).
    if rev(f["cflow.packets"]) is not None:
        other = sums[(port, "%s %s %s %s" % (dst, dport, src, sport))]
        other[0] += int(rev(f["cflow.packets"]))
        other[1] += int(rev(f["cflow.layer2_octet_delta_count"]))
        other[2] += int(rev(f["cflow.octets"]))
        other[3][reason] += 1


if __name__ == "__main__":
    if sys.argv[1] == "sink":
        sink(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "topcap":
        sys.exit(topcap(sys.argv[2], sys.argv[3], sys.argv[4:]))
    elif sys.argv[1] == "decode":
        sys.exit(decode(sys.argv[2], sys.argv[3], sys.argv[4:]))
    else:
        sys.exit("usage: see the top of this file")
