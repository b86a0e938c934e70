#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# bench_smoke.sh - keeps the benchmark scripts working: runs traffic.sh,
# scale.sh and daemon_cost.sh at the smallest sizes and report.py on what
# they wrote, and checks that every row is there with a plausible value.
# The figures themselves mean nothing at these sizes; scripts/bench.sh
# makes the real ones.
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

run traffic env TRAFFIC_WORKLOADS="small churn" \
	"$top/bench/traffic.sh" "$build" "$out" 1 1
run scale env SCALE_IDLE=4 SCALE_WATCH=1 "$top/bench/scale.sh" "$build" "$out" 2000
run daemon_cost "$top/bench/daemon_cost.sh" "$build" "$out" 2
run ipfix env IPFIX_IDLE=10 IPFIX_WATCH=7 "$top/bench/ipfix.sh" "$build" "$out" 2000
run metrics env METRICS_WATCH=2 METRICS_REQ=50 "$top/bench/metrics.sh" "$build" "$out" 2000
run report /usr/bin/python3 "$top/bench/report.py" "$out"

# Every workload x program has a positive figure.
for w in small churn; do
	for c in none empty tcplogger seed; do
		awk -F, -v w=$w -v c=$c '$1 == w && $2 == c && $4 > 0 { ok = 1 }
			END { exit !ok }' "$out/traffic.csv" ||
			fail "traffic.csv: no $w/$c throughput"
	done
	for c in empty tcplogger seed parse lookup seed-noprint; do
		awk -F, -v w=$w -v c=$c '$1 == w && $2 == c && $3 > 0 && $4 > 0 { ok = 1 }
			END { exit !ok }' "$out/nsperpkt.csv" ||
			fail "nsperpkt.csv: no $w/$c ns per packet"
	done
done
awk -F, 'NR == 2 && $1 == 2000 && $3 > 0 && $NF == 2000 { ok = 1 } END { exit !ok }' \
	"$out/scale.csv" || fail "scale.csv: $(cat "$out/scale.csv")"
for w in idle churn churn+log; do
	grep -q "^$w," "$out/daemon_cost.csv" || fail "daemon_cost.csv: no $w row"
done
# Each mode: every entry had its active and its end record, none lost.
for m in off udp tcp; do
	awk -F, -v m=$m '$1 == m && $2 == 2000 && $5 > 0 &&
		$7 == (m == "off" ? 0 : 4000) && $9 == 0 { ok = 1 } END { exit !ok }' \
		"$out/ipfix.csv" || fail "ipfix.csv: no good $m row: $(cat "$out/ipfix.csv")"
done
awk -F, 'NR == 2 && $1 == 2000 && $3 > 0 && $5 > 0 && $6 > 0 && $8 > 0 { ok = 1 } END { exit !ok }' \
	"$out/metrics.csv" || fail "metrics.csv: $(cat "$out/metrics.csv")"
[ -s "$out/traffic.png" ] || fail "report.py made no plot"
grep -q "tcploggerd" "$out/report.md" || fail "report.md has no tcploggerd row"
[ $failed = 0 ] && echo "bench scripts: ok"
exit $failed
