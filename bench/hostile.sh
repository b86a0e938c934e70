#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# hostile.sh - a million entries in the map and every careless or hostile
# client of tests/e2e/hostile.py at once: how fast `tcplogctl health`
# answers meanwhile (50 checks a round), the daemon's CPU while the clients
# only wait, and its peak RSS. The goals (issue 13): every check within
# 100 ms, under 10 % of a CPU, RSS under the bound docs/BENCHMARKS.md
# states.
#
#   bench/hostile.sh BUILD_DIR OUTDIR [ROUNDS]       (default: 3 rounds)
#
# Writes OUTDIR/hostile.md. Needs root, like the end-to-end tests.
set -u

BUILD=$(cd "$1" && pwd)
OUT=$2
ROUNDS=${3:-3}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

bench_setup
write_conf "max_connections=1500000" "idle_timeout=0" "closed_timeout=3600" \
	"syn_timeout=3600" "log_closed=no"
start_daemon || { cat "$DLOG" >&2; exit 1; }
ifindex=$(ip -n "$NS_B" -o link show vB | cut -d: -f1)
"$BUILD/tests/fill_map" "$(pin_layout)" 1000000 "$ifindex" >/dev/null || exit 1
wait_counted || { echo "no expiry scan counted the map" >&2; exit 1; }
rss0=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$DPID/status")

# quantiles FILE: "median p95 max" of one number per line.
quantiles() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		printf "%d %d %d", v[int((NR + 1) / 2)], v[int(NR * 0.95 + 0.5)], v[NR] }'
}

# The same 50 checks without any other client, for comparison.
: >"$WORK/quiet.ms"
for ((i = 0; i < 50; i++)); do
	a=$(date +%s%N)
	ctl health >/dev/null
	b=$(date +%s%N)
	echo $(((b - a) / 1000000)) >>"$WORK/quiet.ms"
	sleep 0.08
done
read -r qmed qp95 qmax <<<"$(quantiles "$WORK/quiet.ms")"

{
	echo "| round | health: median / p95 / max ms (50 checks) | exit codes | daemon CPU while they wait | peak RSS |"
	echo "|---|---|---|---:|---:|"
	echo "| no other client | $qmed / $qp95 / $qmax | 0 | - | $((rss0 / 1024)) MiB (RSS) |"
	for ((r = 1; r <= ROUNDS; r++)); do
		hostile_round 12
		read -r med p95 max <<<"$(quantiles "$WORK/health.ms")"
		echo "| $r | $med / $p95 / $max | $(sort -u "$WORK/health.rc" | tr '\n' ' ')| $HOSTILE_CPU_PCT % | $((HOSTILE_HWM_KB / 1024)) MiB |"
		sed 's/^/<!-- /; s/$/ -->/' "$WORK/hostile.out"
		sleep 2
	done
} | tee "$OUT/hostile.md"
