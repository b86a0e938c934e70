# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# lib.sh - the end-to-end test kit: two network namespaces joined by a veth
# pair, the real daemon in one of them, packet captures as ground truth,
# and a cleanup trap that removes everything even when a test fails.
#
# Test traffic stays between the namespaces this file creates, on
# 198.18.0.0/30 and fd00::/64.

E2E_ID=$$
NS_A=tlA$E2E_ID
NS_B=tlB$E2E_ID
ADDR4_A=198.18.0.1
ADDR4_B=198.18.0.2
ADDR6_A=fd00::1
ADDR6_B=fd00::2
PIN=/sys/fs/bpf/tltest$E2E_ID
WORK=$(mktemp -d /tmp/tcplog-e2e.XXXXXX)
# Under /run, not in WORK (0700): other users must reach it in some tests.
SOCK_DIR=/run/tltest$E2E_ID
SOCK=$SOCK_DIR/tcploggerd.sock
SOCK_GROUP=root
CONF=$WORK/tcploggerd.conf
DLOG=$WORK/daemon.log
DPID=
CAP_PIDS=()
BG_PIDS=()

# The daemon runs as the shipped unit runs it: with the unit's capability
# bounding set (CapabilityBoundingSet= of tcploggerd.service, read from the
# unit itself), no inheritable capabilities and no new privileges. A call
# that needs more (CAP_SYS_ADMIN, say) fails here as it fails in
# production.
E2E_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY=/usr/bin/python3
CHURN=$E2E_TOP/tests/e2e/churn.py
unit_bounding_set() {
	sed -n 's/^CapabilityBoundingSet=//p' \
		"$E2E_TOP/systemd/tcploggerd.service.in" |
		tr 'A-Z' 'a-z' | sed 's/cap_//g; s/ \+/,+/g; s/^/+/'
}
UNIT_CAPS=(setpriv --bounding-set=-all,"$(unit_bounding_set)" --inh-caps=-all
	--no-new-privs)

passed=0
failed=0
current=
current_failed=0

# ---- reporting ----------------------------------------------------------------

say() { printf '    %s\n' "$*"; }

# Also leaves a mark in a file, so a failure inside a subshell counts.
fail() {
	printf '    FAIL: %s\n' "$*"
	current_failed=1
	: >"$WORK/failed"
}

skip_all() {
	echo "SKIP: $*"
	if [ "${TCPLOGGER_NO_SKIP:-}" = 1 ]; then
		echo "TCPLOGGER_NO_SKIP=1: a skipped test is a failure"
		exit 1
	fi
	exit 77
}

run_test() {
	current=$1
	current_failed=0
	rm -f "$WORK/failed"
	echo "# $current"
	if declare -F "$1" >/dev/null; then
		"$1"
	else
		fail "no such test: $1"
	fi
	[ -e "$WORK/failed" ] && current_failed=1
	stop_daemon KILL
	# Any daemon a test started and lost track of.
	pkill -KILL -f -- "--config $CONF" 2>/dev/null
	stop_captures
	stop_background
	nsb_unit "$TCPLOGGERD" --config "$CONF" --detach >/dev/null 2>&1
	DAEMON_ENV=()
	if [ "$current_failed" = 0 ]; then
		passed=$((passed + 1))
		echo "ok $((passed + failed)) - $current"
	else
		failed=$((failed + 1))
		echo "not ok $((passed + failed)) - $current"
		echo "    daemon log:"
		sed 's/^/      /' "$DLOG" 2>/dev/null | tail -n 30
	fi
	: >"$DLOG"
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
}

# ---- prerequisites and cleanup --------------------------------------------------

e2e_require() {
	[ "$(id -u)" = 0 ] || skip_all "end-to-end tests need root (namespaces, BPF)"
	local tool
	for tool in ip nsenter dumpcap tshark nc ethtool tc bpftool jq; do
		command -v "$tool" >/dev/null 2>&1 ||
			skip_all "missing tool: $tool (scripts/test-deps.sh installs it)"
	done
	if ! mountpoint -q /sys/fs/bpf; then
		mount -t bpf bpf /sys/fs/bpf ||
			skip_all "cannot mount bpffs on /sys/fs/bpf"
	fi
}

# kill_tree PID: PID and every process below it (a background flow is a
# subshell whose nc would otherwise go on sending into the next test).
kill_tree() {
	local child
	for child in $(pgrep -P "$1"); do
		kill_tree "$child"
	done
	kill "$1" 2>/dev/null
}

# stop_pids PID...: each PID's whole tree, then waits until they are gone.
stop_pids() {
	local pid
	for pid in "$@"; do
		kill_tree "$pid"
	done
	for pid in "$@"; do
		wait "$pid" 2>/dev/null
	done
}

stop_background() {
	stop_pids "${BG_PIDS[@]}"
	BG_PIDS=()
}

cleanup() {
	stop_daemon KILL
	pkill -KILL -f -- "--config $CONF" 2>/dev/null
	stop_captures
	stop_background
	[ -f "$CONF" ] && nsb_unit "$TCPLOGGERD" --config "$CONF" --detach >/dev/null 2>&1
	rm -rf "$PIN" "$PIN-foreign" "$PIN-bad" "$SOCK_DIR"
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
	local i
	for ((i = ${#CGROUPS[@]} - 1; i >= 0; i--)); do
		rmdir "${CGROUPS[i]}" 2>/dev/null
	done
	CGROUPS=()
	rm -rf "$WORK"
}

# ---- cgroups -------------------------------------------------------------------------

CGROUPS=()
# make_cgroup PATH: a cgroup at PATH under the cgroup v2 mount (hybrid
# hosts: .../unified), parents first, removed by cleanup; sets CGROUP_DIR
# (not in a subshell: cleanup must know them).
make_cgroup() {
	local root dir part
	root=$(findmnt -n -t cgroup2 -o TARGET | head -n1)
	[ -n "$root" ] || return 1
	dir=$root
	for part in ${1//\// }; do
		dir=$dir/$part
		[ -d "$dir" ] && continue
		mkdir "$dir" || return 1
		CGROUPS+=("$dir")
	done
	CGROUP_DIR=$dir
}

# in_cgroup DIR CMD...: runs CMD in the cgroup DIR.
in_cgroup() {
	local dir=$1
	shift
	sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$dir" "$@"
}

# ---- the network -------------------------------------------------------------------

make_veth() {
	ip link add vA netns "$NS_A" type veth peer name vB netns "$NS_B"
	ip -n "$NS_A" addr add $ADDR4_A/30 dev vA
	ip -n "$NS_B" addr add $ADDR4_B/30 dev vB
	ip -n "$NS_A" addr add $ADDR6_A/64 dev vA nodad
	ip -n "$NS_B" addr add $ADDR6_B/64 dev vB nodad
	ip -n "$NS_A" link set vA up
	ip -n "$NS_B" link set vB up
}

setup_net() {
	ip netns add "$NS_A"
	ip netns add "$NS_B"
	ip -n "$NS_A" link set lo up
	ip -n "$NS_B" link set lo up
	make_veth
}

in_a() { ip netns exec "$NS_A" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }
# pin_layout: the daemon's layout folder under PIN (PIN/vN, N = the map ABI
# that `tcploggerd --version` reports).
pin_layout() {
	echo "$PIN/v$("$TCPLOGGERD" --version | sed -n 's/.*BPF ABI \([0-9]*\).*/\1/p')"
}

# In namespace B, but with the host's bpffs (ip netns exec remounts /sys).
nsb() { nsenter --net=/run/netns/"$NS_B" "$@"; }
# The same, with the unit's capabilities (setpriv after nsenter, which
# needs CAP_SYS_ADMIN for setns).
nsb_unit() { nsenter --net=/run/netns/"$NS_B" "${UNIT_CAPS[@]}" "$@"; }

# wait_for STEPS COMMAND...: runs COMMAND every 25 ms, at most STEPS times,
# until it succeeds.
wait_for() {
	local steps=$1 i
	shift
	for ((i = 0; i < steps; i++)); do
		"$@" && return 0
		sleep 0.025
	done
	return 1
}

# wait_counted: waits (at most 15 s) for an expiry scan that began after
# the call: stats and health report what the last scan counted, never a
# walk of their own (counts_age_ms says how old that is).
wait_counted() {
	local t0 now age i
	t0=$(date +%s%3N)
	for ((i = 0; i < 300; i++)); do
		sleep 0.05
		age=$(ctl --json stats | jq -r '.stats.counts_age_ms // empty')
		now=$(date +%s%3N)
		[ -n "$age" ] && [ $((age + 20)) -lt $((now - t0)) ] && return 0
	done
	return 1
}

# hostile_round SECONDS: every client of tests/e2e/hostile.py at once, as
# a member of the socket's group other than root (uid 65534: root's own
# share of the client slots stays free), for SECONDS (at least 10), with 50
# `tcplogctl health` as root meanwhile, 0.08 s apart. Writes WORK/health.ms
# (each check's milliseconds, start to exit), WORK/health.rc (their exit
# codes) and WORK/hostile.out (the clients' tallies); sets HOSTILE_CPU_PCT
# (the daemon's CPU from 5 s to 9.5 s, once the checks are done and the
# clients only wait: the daemon drops the idle ones at 10 s) and
# HOSTILE_HWM_KB (the daemon's peak RSS so far).
hostile_round() {
	local secs=$1 t0 c0 c1 i a b gid
	gid=$(getent group "$SOCK_GROUP" | cut -d: -f3)
	: >"$WORK/health.ms"
	: >"$WORK/health.rc"
	: >"$WORK/health.at"
	t0=$(date +%s%N)
	setpriv --reuid=65534 --regid=65534 --groups="$gid" \
		"$PY" "$(dirname "${BASH_SOURCE[0]}")/hostile.py" "$SOCK" "$secs" \
		>"$WORK/hostile.out" 2>&1 &
	local hostile=$!
	sleep 0.3 # let them connect and send
	for ((i = 0; i < 50; i++)); do
		a=$(date +%s%N)
		ctl health >/dev/null 2>&1
		echo $? >>"$WORK/health.rc"
		b=$(date +%s%N)
		echo $(((b - a) / 1000000)) >>"$WORK/health.ms"
		echo "$(((a - t0) / 1000000)) $(((b - a) / 1000000))" >>"$WORK/health.at"
		sleep 0.08
	done
	while [ $(($(date +%s%N) - t0)) -lt 5000000000 ]; do sleep 0.05; done
	c0=$(awk '{ print int($1 / 1000) }' "/proc/$DPID/schedstat")
	sleep 4.5
	c1=$(awk '{ print int($1 / 1000) }' "/proc/$DPID/schedstat")
	HOSTILE_CPU_PCT=$(awk -v d=$((c1 - c0)) 'BEGIN { printf "%.2f", d / 45000 }')
	HOSTILE_HWM_KB=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$DPID/status")
	wait $hostile
}

log_has() { grep -q -- "$1" "$DLOG"; }
log_count_ge() { [ "$(grep -c -- "$2" "$DLOG")" -ge "$1" ]; }

# ---- the daemon ---------------------------------------------------------------------

# write_conf KEY=VALUE...: a config for vB with a private pin path.
write_conf() {
	{
		case " $* " in
		*" interfaces="*) ;;
		*) echo "interfaces = vB" ;;
		esac
		echo "pin_path = $PIN"
		echo "socket = $SOCK"
		echo "socket_group = $SOCK_GROUP"
		local kv
		for kv in "$@"; do
			echo "${kv%%=*} = ${kv#*=}"
		done
	} >"$CONF"
}

# start_daemon [BINARY]: runs it in namespace B (keeping the host's bpffs)
# and waits until it says it started. DAEMON_ENV adds to its environment.
DAEMON_ENV=()
start_daemon() {
	local bin=${1:-$TCPLOGGERD} i before
	# The log may hold an earlier daemon's start: wait for a new one.
	before=$(grep -c 'Started:' "$DLOG" 2>/dev/null)
	# The socket's group as a supplementary group, as the unit gives it
	# (SupplementaryGroups=): without CAP_CHOWN the daemon can give its
	# socket only to a group it is in.
	local grp groups=()
	grp=$(sed -n 's/^socket_group = //p' "$CONF")
	[ -n "$grp" ] && [ "$grp" != root ] &&
		groups=(--groups="$(getent group "$grp" | cut -d: -f3)")
	# env, nsenter and setpriv exec: $! is the daemon itself, for signals.
	env "${DAEMON_ENV[@]}" nsenter --net=/run/netns/"$NS_B" \
		"${UNIT_CAPS[@]}" "${groups[@]}" "$bin" --config "$CONF" \
		>>"$DLOG" 2>&1 &
	DPID=$!
	for i in $(seq 100); do
		[ "$(grep -c 'Started:' "$DLOG" 2>/dev/null)" -gt "${before:-0}" ] &&
			return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.05
	done
	fail "the daemon did not start"
	return 1
}

# stop_daemon [SIGNAL]: default TERM; waits for the exit.
stop_daemon() {
	[ -n "$DPID" ] || return 0
	kill -"${1:-TERM}" "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	DAEMON_STATUS=$?
	DPID=
}

ctl() { "$TCPLOGCTL" --socket "$SOCK" "$@"; }

# kill_during_expiry TIMES STEP: SIGKILLs the daemon TIMES times, each
# once it has removed STEP more entries (stats' expired, kept across
# restarts), and starts it again.
kill_during_expiry() {
	local k i now before=0
	for ((k = 1; k <= $1; k++)); do
		for ((i = 0; i < 400; i++)); do
			now=$(ctl --json stats 2>/dev/null | jq -r '.stats.expired // 0')
			[ "${now:-0}" -gt $((before + $2)) ] && break
			sleep 0.01
		done
		kill -9 "$DPID"
		wait "$DPID" 2>/dev/null
		before=${now:-0}
		start_daemon || { fail "restart $k"; return 1; }
	done
}

# Our entries, through `tcplogctl --json dump`: DIR FAMILY SRC SPORT DST
# DPORT BYTES IP_BYTES PACKETS SEGMENTS FLAGS, one line each.
our_entries() {
	ctl --json dump | jq -r '.connections[] | [.direction,
		(if .family == "ipv4" then 4 else 6 end), .src_ip, .src_port,
		.dst_ip, .dst_port, .bytes, .ip_bytes, .packets, .segments,
		(if (.tcp_flags | length) > 0 then .tcp_flags | join(",") else "-" end)]
		| map(tostring) | join(" ")'
}
our_stat() { ctl --json stats | jq -r ".stats.$1"; }
# entries_are N: the map holds exactly N entries (for wait_for).
entries_are() { [ "$(ctl --json dump | jq '.connections | length')" = "$1" ]; }

# records [FILE...]: the connection records in daemon logs (default: this
# daemon's; no journal here) as "DIR SRC SPORT DST DPORT PACKETS BYTES
# IP_BYTES REASON".
records() {
	[ $# -gt 0 ] || set -- "$DLOG"
	sed -n 's/^<6>connection //p' "$@" 2>/dev/null | awk '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		print f["direction"], f["src_ip"], f["src_port"], f["dst_ip"],
			f["dst_port"], f["packets"], f["bytes"], f["ip_bytes"], f["reason"]
	}'
}

# ---- traffic ---------------------------------------------------------------------------

# wait_listen PORT: until namespace B listens on PORT.
wait_listen() {
	local i
	for i in $(seq 100); do
		in_b ss -ltnH "sport = :$1" | grep -q . && return 0
		sleep 0.02
	done
	fail "nothing listens on port $1"
}

# send_to ADDR PORT: sends stdin from A to B's ADDR:PORT over a fresh
# connection (B reads and discards) and waits until both sides closed it.
send_to() {
	local addr=$1 port=$2
	in_b timeout 60 nc -l "$addr" "$port" </dev/null >/dev/null &
	local srv=$!
	wait_listen "$port"
	in_a timeout 60 nc -N "$addr" "$port"
	wait "$srv"
}

# flow ADDR PORT BYTES: exactly BYTES.
flow() { head -c "$3" /dev/zero | send_to "$1" "$2"; }

# slow_flow ADDR PORT CHUNKS: CHUNKS x 2000 bytes, one chunk every 5 ms.
slow_flow() {
	for _ in $(seq "$3"); do
		head -c 2000 /dev/zero
		sleep 0.005
	done | send_to "$1" "$2"
}

# responder ADDR PORT: B answers each request on ADDR:PORT with the number
# of bytes it asks for (churn.py respond / exchange).
responder() {
	in_b "$PY" "$CHURN" respond "$1" "$2" &
	BG_PIDS+=($!)
	wait_listen "$2"
}

# churn_server PORT: B accepts on PORT and reads every connection to EOF.
churn_server() {
	in_b "$PY" "$CHURN" serve $ADDR4_B "$1" &
	BG_PIDS+=($!)
	wait_listen "$1"
}

# ---- ground truth: packet captures --------------------------------------------------------

# capture_start NS IFACE FILE [all]: dumpcap on IFACE in NS, TCP only
# (a capture filter) or, with "all", every frame (a filter's "tcp" misses
# VLAN-tagged frames).
capture_start() {
	local ns=$1 ifc=$2 file=$3 i filter=(-f tcp)
	[ "${4:-}" = all ] && filter=()
	ip netns exec "$ns" dumpcap -q -i "$ifc" -s 128 "${filter[@]}" -w "$file" \
		2>"$file.log" &
	CAP_PIDS+=($!)
	for i in $(seq 100); do
		grep -q 'Capturing on' "$file.log" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "dumpcap did not start: $(cat "$file.log")"
}

# Stops every capture cleanly (SIGINT) and waits until the files are whole.
stop_captures() {
	local pid
	sleep 0.3 # let the last packets of closed connections arrive
	for pid in "${CAP_PIDS[@]}"; do
		kill -INT "$pid" 2>/dev/null
	done
	for pid in "${CAP_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	CAP_PIDS=()
}

# capture_flows FILE: per flow "SRC SPORT DST DPORT PACKETS BYTES IP_BYTES",
# summed from every frame: frame.len (L2 included) and the IP length.
capture_flows() {
	tshark -r "$1" -T fields -E separator='|' -e ip.src -e ipv6.src \
		-e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport \
		-e frame.len -e ip.len -e ipv6.plen 2>/dev/null |
		awk -F'|' '{
			src = $1 != "" ? $1 : $2; dst = $4 != "" ? $4 : $5
			iplen = $8 != "" ? $8 : $9 + 40
			k = src " " $3 " " dst " " $6
			p[k]++; b[k] += $7; ip[k] += iplen
		} END { for (k in p) printf "%s %.0f %.0f %.0f\n", k, p[k], b[k], ip[k] }' | sort
}

# capture_frames FILE: number of TCP frames in the capture.
capture_frames() { tshark -r "$1" 2>/dev/null | wc -l; }

# ours_as_flows DIR: our entries of one direction in capture_flows' format.
ours_as_flows() {
	our_entries | awk -v d="$1" '$1 == d { print $3, $4, $5, $6, $9, $7, $8 }' | sort
}

# expect_same_flows FILE DIR HOST: our DIR entries equal the capture's
# flows whose destination (ingress) or source (egress) is HOST.
expect_same_flows() {
	local file=$1 dir=$2 host=$3 want got
	if [ "$dir" = ingress ]; then
		want=$(capture_flows "$file" | awk -v h="$host" '$3 == h')
	else
		want=$(capture_flows "$file" | awk -v h="$host" '$1 == h')
	fi
	got=$(ours_as_flows "$dir" | awk -v h="$host" -v d="$dir" \
		'(d == "ingress" && $3 == h) || (d == "egress" && $1 == h)')
	same_flows "$dir" "src sport dst dport packets bytes ip_bytes" \
		"$want" "$got"
}

# same_flows WHAT COLUMNS WANT GOT: the capture's flows (WANT) and ours
# (GOT), one per line, must be equal and not empty; both are shown if not.
same_flows() {
	if [ -z "$3" ]; then
		fail "the capture has no $1 flow"
	elif [ "$3" != "$4" ]; then
		fail "$1 counts differ from the capture"
		say "capture ($2):"
		printf '%s\n' "$3" | sed 's/^/      /'
		say "tcploggerd:"
		printf '%s\n' "$4" | sed 's/^/      /'
	else
		say "$1: $(printf '%s\n' "$3" | wc -l) flows equal the capture"
	fi
}

# The kernel tick's upper bound (HZ 100) for first_seen/last_seen checks.
TICK_MS=10

# expect_fields FILE HOST: tcp_flags, state, first_seen and last_seen of
# every entry to or from HOST against the capture (tests/e2e/fieldcheck.py).
expect_fields() {
	ctl --json dump >"$WORK/fields.json"
	if "$PY" "$(dirname "${BASH_SOURCE[0]}")/fieldcheck.py" "$1" \
		"$WORK/fields.json" "$2" $TICK_MS >"$WORK/fields.out"; then
		say "$(tail -n1 "$WORK/fields.out") ($2)"
	else
		fail "fields differ from the capture ($2):"
		sed 's/^/      /' "$WORK/fields.out"
	fi
}

# expect_eq WHAT GOT WANT
expect_eq() {
	if [ "$2" != "$3" ]; then
		fail "$1: got '$2', want '$3'"
	fi
}

# e2e_main [TEST...]: sets up, runs the named tests (default: the script's
# DEFAULT_TESTS) and reports; cleanup runs however it ends.
e2e_main() {
	e2e_require
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	setup_net
	local tests=("$@") t
	[ ${#tests[@]} -gt 0 ] || tests=("${DEFAULT_TESTS[@]}")
	for t in "${tests[@]}"; do
		run_test "$t"
	done
	finish
}
