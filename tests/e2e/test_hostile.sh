#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# test_hostile.sh - hostile traffic and hostile clients, end to end: a
# flood of spoofed SYNs several times the map's capacity, against packet
# captures; careless and hostile clients on a million-entry map.
#
#   test_hostile.sh TCPLOGGERD TCPLOGCTL FILL_MAP NOTIFYD [TEST...]
set -u

TCPLOGGERD=$1
TCPLOGCTL=$2
FILL_MAP=$3
NOTIFYD=$4
shift 4
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)

mac_of() { ip -n "$1" link show "$2" | awk '/link\/ether/ { print $2 }'; }

# The flood's sources, 198.18.128.0/17, are reached through A: B's
# SYN-ACKs to them leave through vB (and die in A, which does not forward).
# One SYN-ACK each, never retransmitted: once the capture stops, no packet
# the capture misses is counted.
spoofed_route() {
	in_b ip route add 198.18.128.0/17 via $ADDR4_A
	in_b sysctl -qw net.ipv4.tcp_synack_retries=0
}

# live_packets: packets of the live entries; sum_refused: failed inserts.
live_packets() { jq '[.connections[].packets] | add // 0' "$1"; }

# A spoofed SYN flood four times the capacity, to a listening port: every
# established connection (idle through the flood) stays with its exact
# counts; connections opened during the flood are counted (their SYN may
# be refused while the embryonic share is full: then everything after it
# is counted, exactly); those opened after it are exact; refused inserts
# are counted and health says what happened; live + expired + refused =
# every packet the capture saw.
test_syn_flood() {
	local cap=1024 flood=4096
	write_conf "directions=ingress egress" "max_connections=$cap" \
		"closed_timeout=60" "syn_timeout=30" "log_closed=no"
	spoofed_route
	start_daemon || return
	capture_start "$NS_B" vB "$WORK/b.pcapng"
	churn_server 8081
	# 20 connections that send, then stay idle through the flood.
	in_a "$PY" "$CHURN" hold $ADDR4_B 8081 20 3000 120 &
	local hold=$!
	BG_PIDS+=($hold)
	wait_for 200 sh -c "[ \$(ip netns exec $NS_B ss -Htn state established '( sport = :8081 )' | wc -l) -ge 20 ]" ||
		fail "the held connections did not open"
	sleep 0.5
	local t0 t1 sent
	t0=$(date +%s.%N)
	in_a "$PY" "$HERE/synflood.py" vA "$(mac_of "$NS_A" vA)" \
		"$(mac_of "$NS_B" vB)" $ADDR4_B 8081 $flood 4 >"$WORK/flood.out" &
	local flooder=$!
	# Real connections while the flood runs.
	local i
	for i in $(seq 12); do
		sleep 0.3
		in_a "$PY" "$CHURN" churn $ADDR4_B 8081 1 2000 ||
			fail "a connection during the flood failed"
	done
	wait $flooder || fail "the flooder failed"
	t1=$(date +%s.%N)
	sent=$(cat "$WORK/flood.out")
	expect_eq "spoofed SYNs sent" "$sent" $flood
	# And after it.
	sleep 0.5
	in_a "$PY" "$CHURN" churn $ADDR4_B 8081 10 2000 ||
		fail "a connection after the flood failed"
	# Pressure on the share goes on until it is back to half: wait for
	# it, then keep everything where it is while we look.
	wait_for 800 log_has 'Embryonic entries back to' ||
		fail "the embryonic share was never relieved"
	stop_captures
	sed -i 's/^closed_timeout = .*/closed_timeout = 3600/; s/^syn_timeout = .*/syn_timeout = 3600/' "$CONF"
	echo "idle_timeout = 0" >>"$CONF"
	kill -HUP "$DPID"
	wait_for 200 log_has 'Received SIGHUP' || fail "no reload"
	wait_counted || fail "no scan after the reload"

	ctl --json dump >"$WORK/dump.json"
	ctl --json stats >"$WORK/stats.json"
	if "$PY" "$HERE/floodcheck.py" "$WORK/b.pcapng" "$WORK/dump.json" \
		$ADDR4_A "$t0" "$t1" >"$WORK/check.out"; then
		say "$(tail -n1 "$WORK/check.out")"
	else
		fail "real connections against the capture:"
		sed 's/^/      /' "$WORK/check.out"
	fi
	# Everything the capture saw is live, expired or refused.
	local live expired refused frames
	live=$(live_packets "$WORK/dump.json")
	expired=$(jq .stats.expired_packets "$WORK/stats.json")
	refused=$(jq '.stats.insert_failed_full + .stats.insert_failed_other' "$WORK/stats.json")
	frames=$(capture_frames "$WORK/b.pcapng")
	expect_eq "live + expired + refused packets" \
		"$((live + expired + refused))" "$frames"
	[ "$refused" -gt 0 ] || fail "no SYN refused: the share was never full"
	[ "$(jq .stats.expired_pressure "$WORK/stats.json")" -gt 0 ] ||
		fail "no embryonic entry expired early"
	local emb embmax
	emb=$(jq .stats.embryonic "$WORK/stats.json")
	embmax=$(jq .stats.embryonic_max "$WORK/stats.json")
	expect_eq "embryonic_max" "$embmax" $((cap / 2))
	[ "$emb" -le "$embmax" ] || fail "$emb embryonic entries, share $embmax"
	# health: warning, and it says why.
	ctl health >"$WORK/health"
	expect_eq "health exit" "$?" 1
	grep -q 'insert_failures warning.*a SYN flood or a scan' "$WORK/health" ||
		fail "health does not tell: $(cat "$WORK/health")"
	log_has 'a SYN flood or a scan' || fail "nothing logged"
	say "$flood spoofed SYNs: $refused refused, $(jq .stats.expired_pressure "$WORK/stats.json") embryonic entries expired early, $emb left of $embmax"
	stop_background
}

# A million entries and every hostile client at once (tests/e2e/hostile.py:
# pipelined requests never read, dumps read slowly after a half-close,
# ten unlimited sorted dumps never read, idle connections, a 10 MB line):
# every one of 50 health checks answers ok, none slow (the figures, under
# 100 ms, are bench/hostile.sh's), sorted dumps beyond the budget get
# `busy`, the daemon's peak RSS stays under 400 MiB, systemd's watchdog
# (1 s here, pinged every 0.5 s) never waits a second for a ping, and it
# serves as before once they are gone.
test_hostile_clients() {
	write_conf "max_connections=1500000" "idle_timeout=0" \
		"closed_timeout=3600" "syn_timeout=3600" "log_closed=no"
	"$NOTIFYD" "$WORK/notify.sock" "$WORK/watchdog.ms" >/dev/null &
	BG_PIDS+=($!)
	wait_for 100 test -S "$WORK/notify.sock" || fail "notifyd did not start"
	DAEMON_ENV=(NOTIFY_SOCKET="$WORK/notify.sock" WATCHDOG_USEC=1000000)
	start_daemon || return
	DAEMON_ENV=()
	local ifindex
	ifindex=$(ip -n "$NS_B" -o link show vB | cut -d: -f1)
	"$FILL_MAP" "$(pin_layout)" 1000000 "$ifindex" >/dev/null ||
		{ fail "fill_map"; return; }
	wait_counted || fail "no scan counted the map"
	expect_eq "entries" "$(ctl --json stats | jq .stats.entries)" 1000000
	hostile_round 12
	expect_eq "health exit codes" "$(sort -u "$WORK/health.rc" | tr '\n' ' ')" "0 "
	expect_eq "health checks" "$(wc -l <"$WORK/health.ms")" 50
	local max median
	max=$(sort -n "$WORK/health.ms" | tail -n1)
	median=$(sort -n "$WORK/health.ms" | sed -n 25p)
	[ "$max" -lt 2000 ] || fail "a health check took $max ms"
	kill -0 "$DPID" 2>/dev/null || { fail "the daemon died"; return; }
	sed 's/^/      /' "$WORK/hostile.out"
	grep -q '^sorted connected=10 .*busy:' "$WORK/hostile.out" ||
		fail "no sorted dump got busy"
	grep -q '^pipelined connected=4 ' "$WORK/hostile.out" ||
		fail "the pipelined clients did not connect"
	# AddressSanitizer's shadow memory and quarantine are not ours, and
	# it runs the daemon several times slower.
	local asan=false gap_max=1000
	ldd "$TCPLOGGERD" | grep -q libasan && asan=true gap_max=3000
	if $asan; then
		say "sanitizer build: peak RSS not held to the bound"
	elif [ "$HOSTILE_HWM_KB" -ge $((400 * 1024)) ]; then
		fail "peak RSS $HOSTILE_HWM_KB KiB"
	fi
	# Served as before: a whole dump, every entry.
	expect_eq "dump after" "$(ctl --json dump | jq '.connections | length')" 1000000
	local pings gap
	pings=$(wc -l <"$WORK/watchdog.ms")
	gap=$(awk 'NR > 1 && $1 - p > m { m = $1 - p } { p = $1 } END { print m + 0 }' "$WORK/watchdog.ms")
	[ "$pings" -ge 20 ] || fail "$pings watchdog pings"
	[ "$gap" -lt $gap_max ] || fail "the watchdog waited $gap ms for a ping"
	say "health: median $median ms, max $max ms; daemon CPU while they wait: $HOSTILE_CPU_PCT %; peak RSS $((HOSTILE_HWM_KB / 1024)) MiB; $pings watchdog pings, at most $gap ms apart"
}

DEFAULT_TESTS=(test_syn_flood test_hostile_clients)

e2e_main "$@"
