#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The one command behind docs/BENCHMARKS.md. As root, on an otherwise idle
# machine:
#
#   sudo scripts/bench.sh [--quick] [--build DIR] [--out DIR]
#
# Installs what the benchmarks need (iperf3, conntrack, nftables, pmacct,
# softflowd, perf, matplotlib), builds in Release mode (build-bench/, or
# uses the build DIR given, configured with TCPLOG_BUILD_BENCH=ON) and
# runs, in this order, writing everything to build-bench/results/ (or the
# --out DIR):
#
#   machine.txt     the machine it ran on
#   prog.md         datapath ns/packet with BPF_PROG_TEST_RUN, the
#                     candidate designs, two CPUs on one flow (bench_prog)
#   dump.md         tcplogctl dump of 10k/100k/1M entries vs bpftool
#   traffic.csv     throughput, CPU and ns/packet under real veth traffic,
#   nsperpkt.csv      tcploggerd side by side with conntrack, softflowd
#                     and pmacctd (bench/traffic.sh)
#   scale.csv       100k and 1M connections (bench/scale.sh)
#   accuracy.md     tcploggerd vs capture, conntrack, pmacctd, softflowd
#                     (bench/accuracy.sh)
#   daemon_cost.csv the daemon's CPU, wake-ups, RSS (bench/daemon_cost.sh)
#   ipfix.csv       CPU per IPFIX record, the expiry path (bench/ipfix.sh)
#   metrics.csv     the scan with the sums, CPU per metrics request
#                     (bench/metrics.sh)
#   profile.txt     perf profile of the small-segment workload
#                     (bench/profile.sh)
#   report.md       the tables; traffic.png and peers.png the plots
#                     (bench/report.py)
#
# About 45 minutes. --quick (every script at its smallest: 2 repetitions
# of 1 s, 20,000 connections; the accuracy comparison left to the test
# e2e.peers) about 5: it checks that everything runs, its figures mean
# nothing. CI runs it as the test bench.scripts (tests/e2e/bench_smoke.sh).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
dir=
out=
quick=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--build) dir=$(cd "${2:?--build DIR}" && pwd) && shift ;;
	--out) out=${2:?--out DIR} && shift ;;
	*)
		echo "usage: $0 [--quick] [--build DIR] [--out DIR]" >&2
		exit 2
		;;
	esac
	shift
done

[ "$(id -u)" = 0 ] || { echo "bench.sh: run as root (namespaces, BPF)" >&2; exit 1; }

# test-deps.sh has them all, and keeps the peers' services off.
"$top/scripts/test-deps.sh" >/dev/null

if [ -z "$dir" ]; then
	dir=$top/build-bench
	cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DTCPLOG_BUILD_TESTS=ON \
		-DTCPLOG_BUILD_BENCH=ON -DTCPLOG_FUZZ=OFF >/dev/null
fi
cmake --build "$dir" -j "$(nproc)" --target bench_prog bench_attach bench_churn \
	bench_insert fill_map tcploggerd tcplogctl >/dev/null
out=${out:-$dir/results}
rm -rf "$out"
mkdir -p "$out"

{
	echo "tcplogger $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?'), run $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs" \
		"($(systemd-detect-virt 2>/dev/null || echo unknown virtualization))"
	echo "Memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 2^20 }' /proc/meminfo)"
	echo "Kernel: $(uname -r); Debian $(cat /etc/debian_version)"
	echo "libbpf $(pkg-config --modversion libbpf); $(clang --version | head -n 1)"
	echo "iperf3 $(iperf3 --version | head -n 1 | awk '{ print $2 }');" \
		"pmacct $(dpkg-query -W -f '${Version}' pmacct);" \
		"softflowd $(dpkg-query -W -f '${Version}' softflowd);" \
		"conntrack $(dpkg-query -W -f '${Version}' conntrack)"
} | tee "$out/machine.txt"

step() { echo; echo "== $* ($(date -u +%H:%M:%S))"; }

if [ $quick = 1 ]; then
	reps=2 secs=1 sizes=(20000) window=2 profile_secs=1
	prog_args=(--repeat 100000 --rounds 3 --new-flows 2000)
	# The expiry benchmarks' waits, at their shortest.
	export SCALE_IDLE=4 SCALE_WATCH=1 IPFIX_IDLE=10 IPFIX_WATCH=7
	export METRICS_WATCH=2 METRICS_REQ=50
else
	# 9 paired repetitions: each median gets a 96 % interval from the
	# order statistics (report.py).
	reps=9 secs=2 sizes=(100000 1000000) window=30 profile_secs=4
	prog_args=(--repeat 3000000 --rounds 9 --new-flows 100000)
fi

step "datapath, BPF_PROG_TEST_RUN"
"$dir/bench/bench_prog" --markdown "${prog_args[@]}" | tee "$out/prog.md"
if [ $quick = 0 ]; then
	step "API dump vs bpftool"
	"$top/bench/bench_dump.sh" "$dir" | tee "$out/dump.md"
fi
step "real traffic, side by side with the peers: throughput, CPU, ns/packet"
"$top/bench/traffic.sh" "$dir" "$out" "$reps" "$secs"
step "scale"
"$top/bench/scale.sh" "$dir" "$out" "${sizes[@]}"
if [ $quick = 0 ]; then
	step "accuracy against peers"
	"$top/bench/accuracy.sh" "$dir" "$out" ||
		echo "accuracy: tcploggerd differs from the capture (see accuracy.md)"
fi
step "the daemon's own cost"
"$top/bench/daemon_cost.sh" "$dir" "$out" "$window"
step "IPFIX export: CPU per record, the expiry path"
"$top/bench/ipfix.sh" "$dir" "$out" "${sizes[0]}"
step "Prometheus metrics: the scan with the sums, CPU per request"
"$top/bench/metrics.sh" "$dir" "$out" "${sizes[0]}"
step "profile of the small-segment workload"
"$top/bench/profile.sh" "$dir" "$out" "$profile_secs"
step "report"
/usr/bin/python3 "$top/bench/report.py" "$out"
echo
echo "Results in $out (report.md, traffic.png, peers.png, accuracy.md, *.csv)"
