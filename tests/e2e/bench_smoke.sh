#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# bench_smoke.sh - keeps the benchmarks working: runs the one command
# behind docs/BENCHMARKS.md, `scripts/bench.sh --quick`, on this build
# (every benchmark at its smallest, the peers included, then report.py)
# and checks that every table has its rows with plausible values. The
# figures themselves mean nothing at these sizes; scripts/bench.sh without
# --quick makes the real ones.
#
#   bench_smoke.sh BUILD_DIR
set -u

build=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d /tmp/tcplog-bench-smoke.XXXXXX)
trap 'rm -rf "$out"' EXIT
failed=0

fail() {
	echo "FAIL: $*"
	failed=1
}

# run NAME COMMAND...: 77 (a missing tool) is passed on as a skip.
run() {
	local name=$1 rc
	shift
	echo "# $name"
	"$@"
	rc=$?
	[ $rc = 77 ] && exit 77
	[ $rc = 0 ] || fail "$name exited $rc"
}

run bench.sh "$top/scripts/bench.sh" --quick --build "$build" --out "$out"
n=20000 # the --quick size

# BPF_PROG_TEST_RUN: the production program, the candidates, two CPUs.
for row in "| tcplogger | established IPv4 |" "| variant: per-CPU cache of recent flows |" \
	"| variant: 20-byte IPv4 key" "| flavour: LRU hash" "two CPUs, the same flow" \
	"| flavour: per-CPU values, plain add, no clock | two CPUs, a flow each |"; do
	grep -qF -- "$row" "$out/prog.md" || fail "prog.md has no row '$row'"
done
# Every workload x program has a positive figure.
for w in bulk small churn; do
	# Throughput and the machine's busy CPU time of every configuration,
	# the peers included.
	for c in none empty tcplogger tcplogger-both conntrack softflowd pmacctd seed; do
		awk -F, -v w=$w -v c=$c '$1 == w && $2 == c && $4 > 0 && $7 > 0 { ok = 1 }
			END { exit !ok }' "$out/traffic.csv" ||
			fail "traffic.csv: no $w/$c throughput and CPU time"
	done
	for c in empty tcplogger tcplogger-both seed parse lookup seed-noprint split4 pcache; do
		awk -F, -v w=$w -v c=$c '$1 == w && $2 == c && $3 > 0 && $4 > 0 { ok = 1 }
			END { exit !ok }' "$out/nsperpkt.csv" ||
			fail "nsperpkt.csv: no $w/$c ns per packet"
	done
done
awk -F, -v n=$n 'NR == 2 && $1 == n && $3 > 0 && $NF == n { ok = 1 } END { exit !ok }' \
	"$out/scale.csv" || fail "scale.csv: $(cat "$out/scale.csv")"
for w in idle churn churn+log; do
	grep -q "^$w," "$out/daemon_cost.csv" || fail "daemon_cost.csv: no $w row"
done
# Each mode: every entry had its active and its end record, none lost.
for m in off udp tcp; do
	awk -F, -v m=$m -v n=$n '$1 == m && $2 == n && $5 > 0 &&
		$7 == (m == "off" ? 0 : 2 * n) && $9 == 0 { ok = 1 } END { exit !ok }' \
		"$out/ipfix.csv" || fail "ipfix.csv: no good $m row: $(cat "$out/ipfix.csv")"
done
awk -F, -v n=$n 'NR == 2 && $1 == n && $3 > 0 && $5 > 0 && $6 > 0 && $8 > 0 { ok = 1 } END { exit !ok }' \
	"$out/metrics.csv" || fail "metrics.csv: $(cat "$out/metrics.csv")"
grep -q "tcplog_ingress" "$out/profile.txt" ||
	fail "the profile has no sample of the program: $(cat "$out/profile.txt")"
[ -s "$out/traffic.png" ] || fail "report.py made no plot"
[ -s "$out/peers.png" ] || fail "report.py made no plot of the peers"
grep -q "tcploggerd" "$out/report.md" || fail "report.md has no tcploggerd row"
for c in "conntrack with accounting" "softflowd" "pmacctd"; do
	grep -q "| $c" "$out/report.md" || fail "report.md has no $c row"
done
grep -q "goal: at most a third" "$out/report.md" || fail "report.md has no goal table"
[ $failed = 0 ] && echo "bench scripts: ok"
exit $failed
