#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The one command behind docs/BENCHMARKS.md. As root, on an otherwise idle
# machine:
#
#   sudo scripts/bench.sh [--quick]
#
# Installs what the benchmarks need (iperf3, conntrack, nftables, pmacct,
# softflowd, matplotlib), builds in Release mode (build-bench/) and runs,
# in this order, writing everything to build-bench/results/:
#
#   machine.txt     the machine it ran on
#   prog.md         datapath ns/packet with BPF_PROG_TEST_RUN (bench_prog)
#   dump.md         tcplogctl dump of 10k/100k/1M entries vs bpftool
#   traffic.csv     throughput and ns/packet under real veth traffic
#   nsperpkt.csv      (bench/traffic.sh)
#   scale.csv       100k and 1M connections (bench/scale.sh)
#   accuracy.md     tcploggerd vs capture, conntrack, pmacctd, softflowd
#                     (bench/accuracy.sh)
#   daemon_cost.csv the daemon's CPU, wake-ups, RSS (bench/daemon_cost.sh)
#   ipfix.csv       CPU per IPFIX record, the expiry path (bench/ipfix.sh)
#   metrics.csv     the scan with the sums, CPU per metrics request
#                     (bench/metrics.sh)
#   profile.txt     perf profile of the small-segment workload
#                     (bench/profile.sh)
#   report.md       the tables; traffic.png the plot (bench/report.py)
#
# About 25 minutes; --quick (2 repetitions of 2 s, 100k only) about 6, for
# checking that everything runs, not for figures.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
dir=$top/build-bench
out=$dir/results
quick=0
[ "${1:-}" = --quick ] && quick=1

[ "$(id -u)" = 0 ] || { echo "bench.sh: run as root (namespaces, BPF)" >&2; exit 1; }

# test-deps.sh has them all, and keeps the peers' services off.
"$top/scripts/test-deps.sh" >/dev/null

cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DTCPLOG_BUILD_TESTS=ON \
	-DTCPLOG_BUILD_BENCH=ON -DTCPLOG_FUZZ=OFF >/dev/null
cmake --build "$dir" -j "$(nproc)" --target bench_prog bench_attach bench_churn \
	bench_insert fill_map tcploggerd tcplogctl >/dev/null
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
	reps=2 secs=2 sizes=(100000) window=5 prog_args=(--repeat 100000 --rounds 3)
else
	reps=7 secs=4 sizes=(100000 1000000) window=30
	prog_args=(--repeat 3000000 --rounds 9 --new-flows 100000)
fi

step "datapath, BPF_PROG_TEST_RUN"
"$dir/bench/bench_prog" --markdown "${prog_args[@]}" | tee "$out/prog.md"
if [ $quick = 0 ]; then
	step "API dump vs bpftool"
	"$top/bench/bench_dump.sh" "$dir" | tee "$out/dump.md"
fi
step "real traffic: throughput and ns/packet"
"$top/bench/traffic.sh" "$dir" "$out" "$reps" "$secs"
step "scale"
"$top/bench/scale.sh" "$dir" "$out" "${sizes[@]}"
step "accuracy against peers"
"$top/bench/accuracy.sh" "$dir" "$out" || echo "accuracy: tcploggerd differs from the capture (see accuracy.md)"
step "the daemon's own cost"
"$top/bench/daemon_cost.sh" "$dir" "$out" "$window"
step "IPFIX export: CPU per record, the expiry path"
"$top/bench/ipfix.sh" "$dir" "$out" "${sizes[0]}"
step "Prometheus metrics: the scan with the sums, CPU per request"
"$top/bench/metrics.sh" "$dir" "$out" "${sizes[0]}"
step "profile of the small-segment workload"
"$top/bench/profile.sh" "$dir" "$out"
step "report"
/usr/bin/python3 "$top/bench/report.py" "$out"
echo
echo "Results in $out (report.md, traffic.png, accuracy.md, *.csv)"
