#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# traffic.sh - the datapath under real traffic, side by side with what a
# user would run instead: two namespaces joined by a veth pair, and on the
# receiver's interface (vB), in turn:
#
#   none            nothing
#   empty           the empty program on vB's ingress hook
#   tcplogger       tcploggerd, the real daemon, default configuration
#                   (ingress)
#   tcplogger-both  tcploggerd counting both directions (ingress and
#                   egress of vB); VLAN IDs and owners are in every entry
#   conntrack       nf_conntrack with accounting (nf_conntrack_acct=1, an
#                   nftables `ct state` rule so that B tracks connections)
#   softflowd       softflowd capturing vB (libpcap), exporting NetFlow
#                   to loopback in B
#   pmacctd         pmacctd capturing vB (libpcap), memory plugin keyed by
#                   the 5-tuple, with the buffers that keep up
#   seed            the seed-style program (bench/seed.bpf.c, printk
#                   included, as the demo did)
#
# Three workloads:
#
#   bulk   iperf3, 4 parallel streams (the sender's TSO/GSO: ~60 KB packets)
#   small  iperf3 -N -l 64, 2 streams: 64-byte writes with TCP_NODELAY
#   churn  bench_churn: short connections (100 bytes, server closes first)
#
# Throughput runs have the run-time statistics off (they cost two clock
# reads per program run); each configuration runs REPS times, in a
# rotating order, each run between two runs of no program that are its
# baseline, and the median is reported. Each run also reads the machine's
# busy CPU time (/proc/stat, every CPU: the pinned CPU, the daemon and the
# peers' processes wherever they run), so the cost is stated both ways:
# throughput lost, and CPU time per unit of work (per Mbit or per
# connection) added. A last pass per workload turns
# kernel.bpf_stats_enabled on and reads run_time_ns / run_cnt of the
# program on the hook: nanoseconds per packet under that traffic; the same
# pass measures five more programs: three that show where our nanoseconds
# go (parser alone, parser + hash lookup, the seed without its printk) and
# two of issue 17's candidates (a key sized for IPv4, a per-CPU cache of
# recent flows).
#
#   bench/traffic.sh BUILD_DIR OUTDIR [REPS [SECONDS]]
#
# TRAFFIC_CONFIGS picks configurations (default: all above); TRAFFIC_WORKLOADS
# workloads. Writes OUTDIR/traffic.csv (workload,config,rep,value,unit,
# hook_packets,cpu_s,secs,seq; cpu_s: busy CPU seconds of the whole
# machine during the run of secs seconds; seq: the run's place in its
# repetition)
# and OUTDIR/nsperpkt.csv (workload,config,ns_per_packet,runs,seconds).
set -u

BUILD=$(cd "$1" && pwd)
OUT=$2
REPS=${3:-5}
SECS=${4:-5}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

BASE=$PIN-base
read -r -a CONFIGS <<<"${TRAFFIC_CONFIGS:-none empty tcplogger tcplogger-both conntrack softflowd pmacctd seed}"
PEER_PIDS=()
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
	stop_pids "${PEER_PIDS[@]}"
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
	[split4]=variants.bpf.o:v_split4
	[pcache]=variants.bpf.o:v_pcache
)
PROFILE=(parse lookup seed-noprint split4 pcache)

# The peers, as bench/accuracy.sh runs them (there checked for exactness).
# shellcheck source=peers/peers.sh
. "$(dirname "$0")/peers/peers.sh"

# attach CONFIG: puts CONFIG's program on vB ingress.
attach() {
	case $1 in
	none) ;;
	tcplogger | tcplogger-both)
		if [ "$1" = tcplogger ]; then
			write_conf
		else
			write_conf "directions=ingress egress"
		fi
		start_daemon || { cat "$DLOG" >&2; return 1; }
		;;
	conntrack) conntrack_on tlpeer ;;
	softflowd | pmacctd)
		if [ "$1" = softflowd ]; then
			softflowd_start "$WORK/$1.log"
		else
			pmacctd_start "$1" "$WORK/$1.log" tcp "${PMACCTD_BUFFERED[@]}"
		fi || { tail -n 5 "$WORK/$1.log" >&2; return 1; }
		PEER_PIDS+=("$PEER_PID")
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
	case $1 in
	tcplogger | tcplogger-both)
		stop_daemon
		nsb_unit "$TCPLOGGERD" --config "$CONF" --detach >/dev/null 2>&1
		rm -rf "$PIN"
		;;
	conntrack) conntrack_off tlpeer ;;
	softflowd | pmacctd)
		stop_pids "${PEER_PIDS[@]}"
		PEER_PIDS=()
		;;
	esac
}

# prog_id CONFIG: the program on the hook.
prog_id() {
	if [ "${1%-both}" = tcplogger ]; then
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

# Busy CPU time of the whole machine so far, in USER_HZ ticks: every CPU's
# user, nice, system, irq, softirq and steal time.
busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

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

# measure WORKLOAD CONFIG REP SEQ: one run, a line of traffic.csv.
measure() {
	local p0 p1 t0 t1 res cpu
	attach "$2" || return 1
	p0=$(hook_packets)
	t0=$(busy_ticks)
	res=$(workload "$1")
	t1=$(busy_ticks)
	p1=$(hook_packets)
	detach "$2"
	cpu=$(awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.2f", t / hz }')
	echo "$1,$2,$3,${res% *},${res#* },$((p1 - p0)),$cpu,$SECS,$4" >>"$OUT/traffic.csv"
	printf '%-6s %-14s rep %d: %s, %s CPU s\n' "$1" "$2" "$3" "$res" "$cpu"
	sleep 1 # let TIME_WAIT and softirq backlog settle
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
	for tool in iperf3 jq nft conntrack softflowd softflowctl pmacctd; do
		command -v $tool >/dev/null || skip_all "missing tool: $tool"
	done
	bench_setup bench_cleanup
	start_servers
	sysctl -qw kernel.bpf_stats_enabled=0

	local csv=$OUT/traffic.csv ns=$OUT/nsperpkt.csv w c rep i n
	echo "workload,config,rep,value,unit,hook_packets,cpu_s,secs,seq" >"$csv"
	echo "workload,config,ns_per_packet,runs,seconds" >"$ns"
	# Each configuration runs between two runs of no program, its
	# baseline (report.py): this machine's throughput drifts between
	# regimes over minutes (small segments: 49 or 74 Mbit/s with no
	# program), slower than one run and its neighbours but not than a
	# whole repetition.
	local others=() order
	for c in "${CONFIGS[@]}"; do
		[ "$c" = none ] || others+=("$c")
	done
	n=${#others[@]}
	for w in "${WORKLOADS[@]}"; do
		for ((rep = 1; rep <= REPS; rep++)); do
			order=()
			for ((i = 0; i < n; i++)); do
				[ $n = ${#CONFIGS[@]} ] || order+=(none)
				order+=("${others[$(((i + rep) % n))]}")
			done
			[ $n = ${#CONFIGS[@]} ] || order+=(none)
			for ((i = 0; i < ${#order[@]}; i++)); do
				measure "$w" "${order[$i]}" "$rep" "$i" || exit 1
			done
		done
		sysctl -qw kernel.bpf_stats_enabled=1
		for c in "${CONFIGS[@]}" "${PROFILE[@]}"; do
			case $c in none | conntrack | softflowd | pmacctd) continue ;; esac
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
