#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Builds the benchmarks in Release mode and runs them; prints the tables of
# docs/BENCHMARKS.md (Markdown): the datapath cost per packet
# (bench/bench_prog) and the API dump of 10k, 100k and 1M connections
# against bpftool (bench/bench_dump.sh). As root.
#
#   scripts/bench.sh [bench_prog options]   e.g. --repeat 5000000 --rounds 9
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
dir=$top/build-bench
cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DTCPLOG_FUZZ=OFF >/dev/null
cmake --build "$dir" -j "$(nproc)" --target bench_prog fill_map tcploggerd \
	tcplogctl >/dev/null
echo "tcplogger $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?'), $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "## Datapath (BPF_PROG_TEST_RUN)"
"$dir/bench/bench_prog" --markdown "$@"
echo
echo "## API dump"
"$top/bench/bench_dump.sh" "$dir"
