#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# profile.sh - where the CPU goes while tcploggerd counts the small-segment
# workload (the one where its cost shows most): sender, receiver and their
# softirqs on CPU 0, as in bench/traffic.sh; perf samples that CPU, and the
# top symbols are printed with the share of our program and of the
# hash-map lookup it calls.
#
#   bench/profile.sh BUILD_DIR OUTDIR [SECONDS]        (default 4)
#
# Software clock sampling (cpu-clock): virtual machines often have no
# hardware counters. Writes OUTDIR/profile.txt.
set -u

BUILD=$(cd "$1" && pwd)
OUT=$2
SECS=${3:-4}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

main() {
	command -v perf >/dev/null || skip_all "missing tool: perf (linux-perf)"
	bench_setup
	in_a sysctl -qw net.ipv4.tcp_autocorking=0
	in_b taskset -c 0 iperf3 -s -B $ADDR4_B </dev/null >/dev/null 2>&1 &
	BG_PIDS+=($!)
	wait_listen 5201
	write_conf
	start_daemon || exit 1
	in_a taskset -c 0 iperf3 -c $ADDR4_B -t $((SECS + 3)) -P 2 -N -l 64 \
		</dev/null >/dev/null 2>&1 &
	BG_PIDS+=($!)
	sleep 1.5
	perf record -q -C 0 -e cpu-clock -F 10000 -o "$WORK/perf.data" \
		-- sleep "$SECS" 2>/dev/null
	{
		echo "perf record -C 0 -e cpu-clock, ${SECS} s of iperf3 -P 2 -N -l 64;"
		echo "tcploggerd on vB ingress. Share of CPU 0's samples:"
		perf report -i "$WORK/perf.data" --no-children --sort sym \
			--stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 25
		echo
		echo "Our program and the hash-map functions it calls:"
		perf report -i "$WORK/perf.data" --no-children --sort sym \
			--stdio 2>/dev/null |
			grep -E 'tcplog_ingress|htab_map|lookup_nulls_elem_raw|jhash' |
			awk '{ s += $1; print } END { printf "%.2f%% in all\n", s }'
	} | tee "$OUT/profile.txt"
}

main
