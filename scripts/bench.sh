#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Builds the benchmarks in Release mode and runs them; prints the tables of
# docs/BENCHMARKS.md (Markdown). Needs root for BPF_PROG_TEST_RUN.
#
#   scripts/bench.sh [bench_prog options]   e.g. --repeat 5000000 --rounds 9
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
dir=$top/build-bench
cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DTCPLOG_BUILD_TESTS=OFF \
	>/dev/null
cmake --build "$dir" -j "$(nproc)" --target bench_prog >/dev/null
echo "tcplogger $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?'), $(date -u +%Y-%m-%dT%H:%MZ)"
"$dir/bench/bench_prog" --markdown "$@"
