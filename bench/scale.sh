#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# scale.sh - 100k and 1M concurrent connections in the running daemon's
# map: what an insert costs the datapath, how long a dump takes, the memory
# of the map and of the daemon, and what expiry costs per entry.
#
#   bench/scale.sh BUILD_DIR OUTDIR [N...]        (default: 100000 1000000)
#
# For each N: the daemon starts (in a namespace of its own, attached to a
# veth) with max_connections = N / 0.8, so the map is 80 % full and below
# the pressure threshold (90 %); bench_insert runs the daemon's own program
# (BPF_PROG_TEST_RUN) on N distinct connections, then once more on each
# (updates of existing entries); `tcplogctl --json dump` is timed three
# times; the daemon's CPU time is read from /proc over WATCH seconds with
# nothing due (the cost of watching N entries: its scans), and from 2 s
# before the entries become idle until the map is empty (the cost of
# expiring them: the scans, lookup-and-delete, the totals; expiry_wall_ms
# includes those 2 s). log_closed = no:
# journal records are a cost of their own (see BENCHMARKS.md).
#
# Writes OUTDIR/scale.csv.
set -u

BUILD=$(cd "$1" && pwd)
OUT=$2
shift 2
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(100000 1000000)
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# The entries must outlive the fill, the dumps and the watch window.
IDLE=${SCALE_IDLE:-60}
WATCH=${SCALE_WATCH:-24}

now_ms() { date +%s%3N; }

# cpu_us: the daemon's CPU time so far (all threads), in microseconds;
# schedstat counts nanoseconds where /proc/PID/stat counts 10 ms ticks.
cpu_us() { awk '{ print int($1 / 1000) }' "/proc/$DPID/schedstat"; }

# status_kb FIELD: VmRSS, VmHWM... of the daemon.
status_kb() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$DPID/status"; }

entries() { ctl --json stats | jq .stats.entries; }
counted() { [ "$(entries)" = "$1" ]; }

one_size() {
	local n=$1 max t0 t1 times=() c0 c1 w0 w1
	max=$((n * 10 / 8))
	write_conf "max_connections=$max" "idle_timeout=$IDLE" \
		"closed_timeout=$IDLE" "log_closed=no"
	start_daemon || { cat "$DLOG" >&2; return 1; }
	local rss0 ins
	rss0=$(status_kb VmRSS)

	t0=$(now_ms)
	ins=$("$BUILD/bench/bench_insert" "$(pin_layout)/att/tcx:ingress:vB" 0 "$n") ||
		return 1
	t1=$(now_ms)
	# stats report what the last scan counted: wait for one after the fill.
	wait_for 1200 counted "$n" ||
		echo "scale: $(entries) entries counted, want $n" >&2

	for _ in 1 2 3; do
		local d0
		d0=$(now_ms)
		ctl --json dump >/dev/null
		times+=($(($(now_ms) - d0)))
	done
	local dump_ms
	dump_ms=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
	local map_bytes rss1 hwm
	map_bytes=$(bpftool map show pinned "$(pin_layout)/conns" -j | jq .bytes_memlock)
	rss1=$(status_kb VmRSS)
	hwm=$(status_kb VmHWM)

	# Watching: WATCH seconds with nothing due (scans only).
	local watch_us
	c0=$(cpu_us)
	sleep $WATCH
	c1=$(cpu_us)
	watch_us=$((c1 - c0))

	# Expiring: from 2 s before the entries are due (their last packet
	# was the update pass, which ended at t1) until the map is empty.
	# stats report what the last scan counted, so their answers cannot
	# mark the start: the first answer that saw fewer than N entries came
	# after the removals it reports.
	local e due_ms=$((t1 + (IDLE - 2) * 1000))
	[ "$(now_ms)" -lt $due_ms ] ||
		echo "scale: the dumps and the watch outlasted SCALE_IDLE - 2 s; the expiry window starts late" >&2
	while [ "$(now_ms)" -lt $due_ms ]; do
		sleep 0.1
	done
	c0=$(cpu_us)
	w0=$(now_ms)
	e=$n
	while [ "$e" != 0 ]; do
		sleep 0.05
		e=$(entries) || return 1
	done
	c1=$(cpu_us)
	w1=$(now_ms)
	local expired
	expired=$(ctl --json stats | jq .stats.expired_idle)

	echo "$n,$max,$(echo "$ins" | awk '/insert/ { print $2 }'),$(echo "$ins" | awk '/update/ { print $2 }'),$((t1 - t0)),$dump_ms,$map_bytes,$rss0,$rss1,$hwm,$(awk -v u="$watch_us" -v w=$WATCH 'BEGIN { printf "%.2f", u / w / 1e4 }'),$((c1 - c0)),$((w1 - w0)),$expired" |
		tee -a "$OUT/scale.csv"
	stop_daemon
	nsb_unit "$TCPLOGGERD" --config "$CONF" --detach >/dev/null 2>&1
	rm -rf "$PIN"
}

main() {
	bench_setup
	echo "entries,max_connections,insert_ns,update_ns,fill_ms,dump_ms,map_bytes,rss_start_kb,rss_after_dump_kb,rss_peak_kb,watch_cpu_pct,expiry_cpu_us,expiry_wall_ms,expired" \
		>"$OUT/scale.csv"
	local n
	for n in "${SIZES[@]}"; do
		one_size "$n" || exit 1
	done
}

main
