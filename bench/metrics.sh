#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# metrics.sh - what the Prometheus exposition costs the daemon, and what
# the sums behind it add to the expiry scan.
#
#   bench/metrics.sh BUILD_DIR OUTDIR [N]          (default: 100000)
#
# The daemon starts with N / 0.8 capacity and metrics_listen on B's
# loopback; bench_insert puts N connections into its map through its own
# program (one packet each, no owner), then:
#   scan:    the daemon's CPU over WATCH seconds of scans (closed_timeout 10 s:
#            one scan a second, nothing due), per entry walked: the walk
#            with the sums per interface and unit;
#   socket:  REQ `metrics` requests on one connection (each renders the
#            exposition), CPU per request;
#   http:    REQ GET /metrics on keep-alive connections (rendered at most
#            once a second, copied otherwise), CPU per request;
# and the exposition's size and sample count. METRICS_SCAN_ONLY=1 measures
# the scan alone, without metrics_listen: for a daemon from before the
# sums, to compare.
# Writes OUTDIR/metrics.csv; docs/BENCHMARKS.md has the figures.
set -u

BUILD=$(cd "$1" && pwd)
OUT=$2
N=${3:-100000}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

WATCH=${METRICS_WATCH:-10}
REQ=${METRICS_REQ:-2000}
PORT=9477

cpu_us() { awk '{ print int($1 / 1000) }' "/proc/$DPID/schedstat"; }

# socket_requests N: N `metrics` requests on one connection.
socket_requests() {
	"$PY" - "$SOCK" "$1" <<-'EOP'
		import socket, sys
		s = socket.socket(socket.AF_UNIX)
		s.connect(sys.argv[1])
		f = s.makefile("rb")
		for _ in range(int(sys.argv[2])):
		    s.sendall(b'{"cmd":"metrics"}\n')
		    if not f.readline().startswith(b'{"ok":true'):
		        sys.exit("bad answer")
	EOP
}

# http_requests N: N GET /metrics, keep-alive.
http_requests() {
	in_b "$PY" - "$PORT" "$1" <<-'EOP'
		import http.client, sys
		c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
		for _ in range(int(sys.argv[2])):
		    c.request("GET", "/metrics")
		    r = c.getresponse()
		    r.read()
		    if r.status != 200:
		        sys.exit("status %d" % r.status)
	EOP
}

main() {
	bench_setup
	local max=$((N * 10 / 8)) c0 c1 listen=("metrics_listen=127.0.0.1:$PORT")
	[ "${METRICS_SCAN_ONLY:-0}" = 1 ] && listen=()
	write_conf "max_connections=$max" "idle_timeout=3600" "closed_timeout=10" \
		"log_closed=no" "${listen[@]}"
	start_daemon || { cat "$DLOG" >&2; exit 1; }
	"$BUILD/bench/bench_insert" "$(pin_layout)/att/tcx:ingress:vB" 0 "$N" \
		>/dev/null || exit 1
	wait_counted
	c0=$(cpu_us)
	sleep "$WATCH"
	c1=$(cpu_us)
	local scan_us=$((c1 - c0))
	if [ "${METRICS_SCAN_ONLY:-0}" = 1 ]; then
		echo "$N,$WATCH,$scan_us" | tee -a "$OUT/metrics-scan.csv"
		stop_daemon
		return
	fi
	# Nothing is due (no entry closed): the requests with N in the map.
	ctl metrics >"$OUT/metrics.prom"
	c0=$(cpu_us)
	socket_requests "$REQ" || exit 1
	c1=$(cpu_us)
	local socket_us=$((c1 - c0))
	c0=$(cpu_us)
	http_requests "$REQ" || exit 1
	c1=$(cpu_us)
	local http_us=$((c1 - c0))
	echo "entries,watch_s,scan_cpu_us,requests,socket_cpu_us,http_cpu_us,bytes,samples" \
		>"$OUT/metrics.csv"
	echo "$N,$WATCH,$scan_us,$REQ,$socket_us,$http_us,$(wc -c <"$OUT/metrics.prom"),$(grep -vc '^#' "$OUT/metrics.prom")" |
		tee -a "$OUT/metrics.csv"
	stop_daemon
}

main
