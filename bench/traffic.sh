#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# traffic.sh - the datapath under real traffic: two namespaces joined by a
# veth pair, the receiver's ingress hook (vB) carrying in turn nothing, the
# empty program, tcploggerd (the real daemon, default configuration) and
# the seed-style program (bench/seed.bpf.c, printk included, as the demo
# did). Three workloads:
#
#   bulk   iperf3, 4 parallel streams (the sender's TSO/GSO: ~60 KB packets)
#   small  iperf3 -N -l 64, 2 streams: 64-byte writes with TCP_NODELAY
#   churn  bench_churn: short connections (100 bytes, server closes first)
#
# Throughput runs have the run-time statistics off (they cost two clock
# reads per program run); each configuration runs REPS times, interleaved
# and in a rotating order so drift hits all alike, and the median is
# reported. A last pass per workload turns kernel.bpf_stats_enabled on and
# reads run_time_ns / run_cnt of the program on the hook: nanoseconds per
# packet under that traffic; the same pass measures three profile programs
# (parser alone, parser + hash lookup, the seed without its printk) that
# show where our nanoseconds go.
#
#   bench/traffic.sh BUILD_DIR OUTDIR [REPS [SECONDS]]
#
# Writes OUTDIR/traffic.csv (workload,config,rep,value,unit,hook_packets)
# and OUTDIR/nsperpkt.csv (workload,config,ns_per_packet,runs,seconds).
set -u

BUILD=$(cd "$1" && pwd)
OUT=$2
REPS=${3:-5}
SECS=${4:-5}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

BASE=$PIN-base
CONFIGS=(none empty tcplogger seed)
read -r -a WORKLOADS <<<"${TRAFFIC_WORKLOADS:-bulk small churn}"
# Sender, receiver and the softirqs between them share one CPU: the
# throughput is then what one CPU does, and every nanosecond a program adds
# shows in it. Spread over two CPUs on a virtual machine, the same run
# flips between regimes (the receive work on the sender's CPU or on the
# receiver's) and bulk throughput varied from 12 to 28 Gbit/s run to run;
# on one CPU, within 2 %. The daemon is not pinned.
CPU=${TRAFFIC_CPU:-0}
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)

bench_cleanup() {
	sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
	rm -rf "$BASE"
	cleanup
}

# The programs bench_attach puts on the hook: OBJECT:PROGRAM. parse and
# lookup are the production parser alone and parser + hash lookup
# (bench/variants.bpf.c): they split our cost in the profile pass.
declare -A PROGS=(
	[empty]=empty.bpf.o:empty_prog
	[seed]=seed.bpf.o:seed_prog
	[seed-noprint]=seed.bpf.o:seed_noprint
	[parse]=variants.bpf.o:d_parse
	[lookup]=variants.bpf.o:d_lookup
)
PROFILE=(parse lookup seed-noprint)

# attach CONFIG: puts CONFIG's program on vB ingress.
attach() {
	case $1 in
	none) ;;
	tcplogger)
		write_conf
		start_daemon || { cat "$DLOG" >&2; return 1; }
		;;
	*)
		local p=${PROGS[$1]}
		nsb "$BUILD/bench/bench_attach" "$BUILD/bench/${p%%:*}" \
			"${p#*:}" vB "$BASE"
		;;
	esac
}

detach() {
	rm -rf "$BASE"
	if [ "$1" = tcplogger ]; then
		stop_daemon
		nsb_unit "$TCPLOGGERD" --config "$CONF" --detach >/dev/null 2>&1
		rm -rf "$PIN"
	fi
}

# prog_id CONFIG: the program on the hook.
prog_id() {
	if [ "$1" = tcplogger ]; then
		bpftool link show pinned "$(pin_layout)/att/tcx:ingress:vB" -j | jq .prog_id
	else
		bpftool prog show pinned "$BASE/prog" -j | jq .id
	fi
}

# prog_run_stats ID: "RUN_TIME_NS RUN_CNT".
prog_run_stats() {
	bpftool prog show id "$1" -j | jq -r '"\(.run_time_ns // 0) \(.run_cnt // 0)"'
}

hook_packets() { in_b cat /sys/class/net/vB/statistics/rx_packets; }

# workload NAME: runs it for SECS seconds; prints "VALUE UNIT".
workload() {
	local json
	case $1 in
	bulk | small)
		local opts=(-P 4)
		[ "$1" = small ] && opts=(-P 2 -N -l 64)
		json=$(in_a taskset -c $CPU iperf3 -c $ADDR4_B -t "$SECS" -J "${opts[@]}")
		echo "$json" | jq -r '"\(.end.sum_received.bits_per_second / 1e6) Mbit/s"'
		;;
	churn)
		in_a taskset -c $CPU "$BUILD/bench/bench_churn" run $ADDR4_B $CHURN_PORT 100 4 \
			"$SECS" | awk '{ print $3, "conn/s" }'
		;;
	esac
}

start_servers() {
	in_b taskset -c $CPU iperf3 -s -B $ADDR4_B </dev/null >/dev/null 2>&1 &
	BG_PIDS+=($!)
	wait_listen 5201
	bench_churn_server "$CPU"
	# Small: without autocorking every 64-byte write is its own segment
	# (with it, writes issued while the previous segment is still queued
	# merge, and the run turns bimodal).
	in_a sysctl -qw net.ipv4.tcp_autocorking=0
}

main() {
	for tool in iperf3 jq; do
		command -v $tool >/dev/null || skip_all "missing tool: $tool"
	done
	bench_setup bench_cleanup
	start_servers
	sysctl -qw kernel.bpf_stats_enabled=0

	local csv=$OUT/traffic.csv ns=$OUT/nsperpkt.csv w c rep i n
	echo "workload,config,rep,value,unit,hook_packets" >"$csv"
	echo "workload,config,ns_per_packet,runs,seconds" >"$ns"
	n=${#CONFIGS[@]}
	for w in "${WORKLOADS[@]}"; do
		for ((rep = 1; rep <= REPS; rep++)); do
			for ((i = 0; i < n; i++)); do
				c=${CONFIGS[$(((i + rep) % n))]}
				attach "$c" || exit 1
				local p0 p1 res
				p0=$(hook_packets)
				res=$(workload "$w")
				p1=$(hook_packets)
				detach "$c"
				echo "$w,$c,$rep,${res% *},${res#* },$((p1 - p0))" >>"$csv"
				printf '%-6s %-10s rep %d: %s\n' "$w" "$c" "$rep" "$res"
				sleep 1 # let TIME_WAIT and softirq backlog settle
			done
		done
		sysctl -qw kernel.bpf_stats_enabled=1
		for c in "${CONFIGS[@]}" "${PROFILE[@]}"; do
			[ "$c" = none ] && continue
			attach "$c" || exit 1
			local id s0 s1
			id=$(prog_id "$c")
			s0=$(prog_run_stats "$id")
			workload "$w" >/dev/null
			s1=$(prog_run_stats "$id")
			detach "$c"
			echo "$s0 $s1" | awk -v w="$w" -v c="$c" -v s="$SECS" '{
				runs = $4 - $2
				printf "%s,%s,%.1f,%d,%s\n", w, c,
					runs ? ($3 - $1) / runs : 0, runs, s }' >>"$ns"
			tail -n 1 "$ns"
			sleep 1
		done
		sysctl -qw kernel.bpf_stats_enabled=0
	done
}

main
