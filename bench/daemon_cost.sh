#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# daemon_cost.sh - what tcploggerd itself costs: CPU, wake-ups per second
# and memory, idle and under connection churn.
#
#   bench/daemon_cost.sh BUILD_DIR OUTDIR [SECONDS]      (default 30)
#
# The daemon runs on vB of the benchmark's namespaces; nobody talks to its
# socket during a window. CPU comes from /proc/PID/schedstat (ns), wake-ups
# are its context switches (voluntary: it slept in epoll_wait and an event
# woke it; involuntary: preempted), RSS from /proc/PID/status.
#
#   idle          default configuration, no traffic
#   churn         bench_churn at full speed (4 threads, 100 bytes each),
#                 closed_timeout = 2; log_closed = no. The client cycles
#                 through its ~64,000 ports every few seconds, so a 4-tuple
#                 comes back (a new connection on the same entry) after
#                 ~4 s: with the default 30 s nothing would ever expire,
#                 with 2 s most entries do, one scan a second.
#   churn+log     the same with log_closed = yes (one record per entry; to
#                 stderr here, the journal under systemd)
#
# Each churn window starts after 10 s of churn (the steady state: entries
# arrive and expire at the same rate). Writes OUTDIR/daemon_cost.csv.
set -u

BUILD=$(cd "$1" && pwd)
OUT=$2
WINDOW=${3:-30}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# sample: "CPU_NS SWITCHES" of the daemon now.
sample() {
	local ns sw
	ns=$(awk '{ print $1 }' "/proc/$DPID/schedstat")
	sw=$(awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s }' \
		"/proc/$DPID/status")
	echo "$ns $sw"
}

rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$DPID/status"; }

# window NAME CONN_PER_S: measures WINDOW seconds from now.
window() {
	local s0 s1 exp0 exp1
	exp0=$(ctl --json stats | jq .stats.expired)
	s0=$(sample)
	sleep "$WINDOW"
	s1=$(sample)
	exp1=$(ctl --json stats | jq .stats.expired)
	echo "$s0 $s1" | awk -v name="$1" -v w="$WINDOW" -v rss="$(rss_kb)" \
		-v conn="$2" -v gone=$((exp1 - exp0)) '{
		printf "%s,%.3f,%.2f,%d,%s,%.0f\n", name,
			($3 - $1) / 1e9 / w * 100, ($4 - $2) / w, rss, conn, gone / w
	}' | tee -a "$OUT/daemon_cost.csv"
}

churn_window() {
	local name=$1
	shift
	write_conf "closed_timeout=2" "$@"
	start_daemon || { cat "$DLOG" >&2; return 1; }
	in_a taskset -c 0 "$BUILD/bench/bench_churn" run $ADDR4_B $CHURN_PORT \
		100 4 $((WINDOW + 12)) >"$WORK/churn.out" &
	local pid=$!
	sleep 10
	window "$name" "?" >/dev/null
	wait "$pid"
	stop_daemon
	nsb_unit "$TCPLOGGERD" --config "$CONF" --detach >/dev/null 2>&1
	rm -rf "$PIN"
	: >"$DLOG"
	# The churn rate goes in the row afterwards (the client reports last).
	sed -i "s/^$name,\\(.*\\),?,/$name,\\1,$(awk '{ printf "%.0f", $3 }' \
		"$WORK/churn.out"),/" "$OUT/daemon_cost.csv"
	sleep 2
}

main() {
	bench_setup
	bench_churn_server 1
	echo "workload,cpu_percent,wakeups_per_s,rss_kb,connections_per_s,expired_per_s" \
		>"$OUT/daemon_cost.csv"

	write_conf
	start_daemon || { cat "$DLOG" >&2; exit 1; }
	sleep 2
	window idle 0
	stop_daemon
	nsb_unit "$TCPLOGGERD" --config "$CONF" --detach >/dev/null 2>&1
	rm -rf "$PIN"

	churn_window churn "log_closed=no" || exit 1
	churn_window churn+log "log_closed=yes" || exit 1
}

main
