# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# lib.sh - what the real-traffic benchmarks share: the build's programs,
# the end-to-end kit of tests/e2e/lib.sh (namespaces A and B joined by a
# veth, the daemon, captures, a cleanup that runs however a script ends)
# and the churn server. A script sets BUILD and OUT, then sources it.
#
# Traffic stays between the kit's namespaces (198.18.0.0/30, fd00::/64).

TCPLOGGERD=$BUILD/tcploggerd
TCPLOGCTL=$BUILD/tcplogctl
# shellcheck source=../tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tests/e2e/lib.sh"

CHURN_PORT=7100

# bench_setup [CLEANUP]: prerequisites, the cleanup trap (default: the
# kit's cleanup), OUT, the namespaces.
bench_setup() {
	e2e_require
	# shellcheck disable=SC2064 # the function name, now
	trap "${1:-cleanup}" EXIT
	trap 'exit 130' INT TERM
	mkdir -p "$OUT"
	setup_net
}

# bench_churn_server CPU: B accepts 100-byte connections on CHURN_PORT
# (bench_churn, on CPU); A may use 64,000 ports and B hold their TIME_WAIT,
# for thousands of connections a second.
bench_churn_server() {
	in_b taskset -c "$1" "$BUILD/bench/bench_churn" serve $ADDR4_B \
		$CHURN_PORT 100 4 </dev/null >/dev/null 2>&1 &
	BG_PIDS+=($!)
	wait_listen $CHURN_PORT
	in_a sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
	in_b sysctl -qw net.ipv4.tcp_max_tw_buckets=1000000
}
