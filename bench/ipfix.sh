#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# ipfix.sh - what IPFIX export costs the daemon: records per second and CPU
# per record, for active records and for the end records of expiry, and
# what it adds to the expiry path.
#
#   bench/ipfix.sh BUILD_DIR OUTDIR [N]          (default: 200000)
#
# For each mode (off, udp, tcp) the daemon starts with N / 0.8 capacity,
# bench_insert puts N connections into its map through its own program
# (one packet each), then:
#   active: the daemon's CPU over WATCH seconds in which every entry passes
#           its active timeout (5 s) once: N active records (off: the scans
#           alone);
#   expiry: from 2 s before the entries are due (IDLE s) until the map is
#           empty: N removals, each with its end record (off: removals
#           only), and the scans of those seconds.
# Collectors: a UDP socket and a TCP one in the daemon's namespace that
# read and discard (Python).
# Writes OUTDIR/ipfix.csv; docs/BENCHMARKS.md has the figures.
set -u

BUILD=$(cd "$1" && pwd)
OUT=$2
N=${3:-200000}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

IDLE=${IPFIX_IDLE:-60}
WATCH=${IPFIX_WATCH:-12}

now_ms() { date +%s%3N; }
cpu_us() { awk '{ print int($1 / 1000) }' "/proc/$DPID/schedstat"; }
entries() { ctl --json stats | jq .stats.entries; }

# Collectors that read and discard: UDP 4739, TCP 4740.
sinks() {
	ip netns exec "$NS_B" "$PY" -c '
import socket, threading
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
u.bind(("127.0.0.1", 4739))
def udp():
    while True:
        u.recv(65536)
threading.Thread(target=udp, daemon=True).start()
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", 4740))
t.listen(4)
while True:
    c, _ = t.accept()
    while c.recv(1 << 20):
        pass
' &
	BG_PIDS+=($!)
	wait_for 200 sh -c "ip netns exec $NS_B ss -ltnH 'sport = :4740' | grep -q ."
}

one_mode() {
	local mode=$1 max=$((N * 10 / 8)) c0 c1 w0 w1 e coll=()
	case $mode in
	udp) coll=("ipfix_collectors=udp://127.0.0.1:4739") ;;
	tcp) coll=("ipfix_collectors=tcp://127.0.0.1:4740") ;;
	esac
	write_conf "max_connections=$max" "idle_timeout=$IDLE" \
		"closed_timeout=$IDLE" "log_closed=no" "ipfix_active_timeout=5" \
		"${coll[@]}"
	start_daemon || { cat "$DLOG" >&2; return 1; }
	"$BUILD/bench/bench_insert" "$(pin_layout)/att/tcx:ingress:vB" 0 "$N" \
		>/dev/null || return 1
	local t_ins
	t_ins=$(now_ms)
	# Active: every entry passes 5 s once in the window.
	c0=$(cpu_us)
	sleep "$WATCH"
	c1=$(cpu_us)
	local active_us=$((c1 - c0)) active_recs
	active_recs=$(ctl --json stats | jq .stats.ipfix_records)
	# Expiry: from just before the entries are due (stats report what
	# the last scan counted, so the answers cannot mark the start) until
	# the map is empty: the walk, N removals and their records.
	local due_ms=$((t_ins + (IDLE - 2) * 1000))
	while [ "$(now_ms)" -lt $due_ms ]; do
		sleep 0.1
	done
	c0=$(cpu_us)
	w0=$(now_ms)
	e=$N
	while [ "$e" != 0 ]; do
		sleep 0.05
		e=$(entries) || return 1
	done
	c1=$(cpu_us)
	w1=$(now_ms)
	sleep 1
	local st
	st=$(ctl --json stats | jq -r '.stats | "\(.ipfix_records),\(.ipfix_messages),\(.ipfix_send_errors)"')
	echo "$mode,$N,$active_recs,$active_us,$((c1 - c0)),$((w1 - w0)),$st" |
		tee -a "$OUT/ipfix.csv"
	stop_daemon
	nsb_unit "$TCPLOGGERD" --config "$CONF" --detach >/dev/null 2>&1
	rm -rf "$PIN"
}

main() {
	bench_setup
	sinks
	echo "mode,entries,active_records,active_cpu_us,expiry_cpu_us,expiry_wall_ms,records,messages,send_errors" \
		>"$OUT/ipfix.csv"
	local mode
	for mode in ${IPFIX_MODES:-off udp tcp}; do
		one_mode $mode || exit 1
	done
}

main
