#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# test_lifecycle.sh - expiry, the connection log and a full map, end to
# end, against packet captures.
#
#   test_lifecycle.sh TCPLOGGERD TCPLOGCTL [TEST...]
set -u

TCPLOGGERD=$1
TCPLOGCTL=$2
shift 2
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
CHURN=$(dirname "$0")/churn.py

# live_keys: "DIR SRC SPORT DST DPORT" of the entries in the map now.
live_keys() {
	ctl --json dump | jq -r '.connections[] |
		"\(.direction) \(.src_ip) \(.src_port) \(.dst_ip) \(.dst_port)"'
}

# Idle and closed connections go after their timeouts, each with exactly
# one record whose reason and counts are right.
test_timeouts() {
	write_conf "directions=ingress egress" "closed_timeout=2" "idle_timeout=4"
	start_daemon || return
	capture_start "$NS_B" vB "$WORK/b.pcapng"
	flow $ADDR4_B 7001 5000                               # FIN both ways
	in_a timeout 3 nc -w 1 $ADDR4_B 7002 </dev/null       # SYN, then RST
	in_b timeout 30 nc -l $ADDR4_B 7003 >/dev/null &
	BG_PIDS+=($!)
	wait_listen 7003
	(head -c 1000 /dev/zero; sleep 20) | in_a timeout 30 nc $ADDR4_B 7003 &
	BG_PIDS+=($!)
	sleep 0.5
	local n
	n=$(live_keys | grep -c ' 700[123]$\| 700[123] ')
	[ "$n" -ge 5 ] || fail "only $n entries right after the traffic"
	sleep 3 # closed_timeout 2 s (+1 s period) passed, idle_timeout not
	live_keys | grep -q ':\?7001\b' && true
	live_keys | grep -q ' 7001$\| 7001 ' && fail "closed connection 7001 still there"
	live_keys | grep -q ' 7003$\| 7003 ' || fail "open connection 7003 expired too early"
	sleep 2.5 # idle_timeout 4 s (+1 s period) passed
	stop_captures
	live_keys | grep -q ' 700[123]$\| 700[123] ' &&
		fail "entries left: $(live_keys | grep ' 700[123]')"
	# One record per direction of each connection, equal to the capture.
	local want got
	want=$(capture_flows "$WORK/b.pcapng" | awk -v b=$ADDR4_B '{
		dir = $3 == b ? "ingress" : "egress"
		print dir, $1, $2, $3, $4, $5, $6, $7 }' | sort)
	got=$(records | awk '{ print $1, $2, $3, $4, $5, $6, $7, $8 }' | sort)
	[ "$want" = "$got" ] || fail "records differ from the capture:
capture: $want
records: $got"
	# Reasons: FIN both ways for 7001, RST back and idle SYN for 7002,
	# idle both ways for 7003.
	expect_eq "fin records" "$(records | awk '$3 == 7001 || $5 == 7001' | grep -c ' fin$')" 2
	expect_eq "rst record" "$(records | awk '$3 == 7002' | grep -c ' rst$')" 1
	expect_eq "idle SYN record" "$(records | awk '$5 == 7002' | grep -c ' idle$')" 1
	expect_eq "idle records" "$(records | awk '$3 == 7003 || $5 == 7003' | grep -c ' idle$')" 2
	expect_eq "records in all" "$(records | wc -l)" "$(printf '%s\n' "$want" | wc -l)"
	stop_background
}

# sum_capture FILE: "PACKETS BYTES" of every frame in the capture.
sum_capture() {
	tshark -r "$1" -T fields -e frame.len 2>/dev/null |
		awk '{ p++; b += $1 } END { print p + 0, b + 0 }'
}

# live + expired: "PACKETS BYTES" of everything we counted.
sum_ours() {
	local live exp
	live=$(ctl --json dump | jq -r '[([.connections[].packets] | add) // 0,
		([.connections[].bytes] | add) // 0] | map(tostring) | join(" ")')
	exp=$(ctl --json stats | jq -r '[.stats.expired_packets, .stats.expired_bytes] |
		map(tostring) | join(" ")')
	echo "$live $exp" | awk '{ print $1 + $3, $2 + $4 }'
}

# 1,000 short connections and two long ones while expiry runs: live +
# expired equals the capture of the whole run, exactly.
test_conservation() {
	write_conf "directions=ingress egress" "closed_timeout=1" "idle_timeout=2"
	start_daemon || return
	capture_start "$NS_B" vB "$WORK/b.pcapng"
	churn_server 7100
	slow_flow $ADDR4_B 7101 800 &
	BG_PIDS+=($!)
	slow_flow $ADDR4_B 7102 800 &
	BG_PIDS+=($!)
	in_a "$PY" "$CHURN" churn $ADDR4_B 7100 1000 3000 ||
		fail "the churn client failed"
	wait "${BG_PIDS[1]}" "${BG_PIDS[2]}"
	sleep 2.5 # most entries expire meanwhile
	stop_captures
	local want got expired
	want=$(sum_capture "$WORK/b.pcapng")
	got=$(sum_ours)
	expired=$(ctl --json stats | jq .stats.expired)
	[ "$expired" -ge 1500 ] || fail "only $expired entries expired"
	expect_eq "live + expired (packets bytes)" "$got" "$want"
	expect_eq "records" "$(records | wc -l)" "$expired"
	say "capture $want = live + expired $got; $expired entries expired"
	stop_background
}

# A 64-entry map and 500 connections at once: inserts fail and are
# counted, health goes critical, pressure expiry runs and logs, and every
# packet is either counted or counted as refused.
test_full_map() {
	write_conf "max_connections=64" "closed_timeout=1" "idle_timeout=30"
	start_daemon || return
	capture_start "$NS_B" vB "$WORK/b.pcapng"
	churn_server 7200
	in_a "$PY" "$CHURN" hold $ADDR4_B 7200 500 200 3 &
	BG_PIDS+=($!)
	# The map fills at once; pressure expiry (every second here) brings
	# it back under 90 %: health must have said critical meanwhile.
	local i critical=0
	for i in $(seq 40); do
		ctl health >"$WORK/health" 2>&1
		[ $? = 2 ] && critical=1 && break
		sleep 0.025
	done
	[ $critical = 1 ] || fail "health never went critical: $(cat "$WORK/health")"
	grep -q 'map_usage critical' "$WORK/health" || fail "health: $(cat "$WORK/health")"
	wait "${BG_PIDS[1]}" || fail "the hold client failed"
	sleep 2.5
	stop_captures
	kill -0 "$DPID" || { fail "the daemon died"; return; }
	local refused packets want
	refused=$(ctl --json stats | jq '.stats.insert_failed_full + .stats.insert_failed_other')
	[ "$refused" -gt 0 ] || fail "no failed insert counted"
	log_has 'longest-idle entries early' || fail "no pressure expiry logged"
	[ "$(ctl --json stats | jq .stats.expired_pressure)" -gt 0 ] ||
		fail "no pressure expiry counted"
	packets=$(sum_ours | cut -d' ' -f1)
	# Ingress only here: the frames sent to B.
	want=$(capture_flows "$WORK/b.pcapng" |
		awk -v b=$ADDR4_B '$3 == b { p += $5 } END { print p + 0 }')
	expect_eq "counted + refused packets" "$((packets + refused))" "$want"
	# No connection has more than the capture saw.
	local over
	over=$(join <(capture_flows "$WORK/b.pcapng" | awk '{ print $1":"$2">"$3":"$4, $5 }' | sort) \
		<({ records | awk '$1 == "ingress" { print $2":"$3">"$4":"$5, $6 }'
		    ctl --json dump | jq -r '.connections[] | "\(.src_ip):\(.src_port)>\(.dst_ip):\(.dst_port) \(.packets)"'; } |
		awk '{ s[$1] += $2 } END { for (k in s) print k, s[k] }' | sort) |
		awk '$3 > $2')
	[ -z "$over" ] || fail "connections counted above the capture: $over"
	say "$refused packets refused, $(ctl --json stats | jq .stats.expired_pressure) entries expired under pressure"
	stop_background
}

DEFAULT_TESTS=(test_timeouts test_conservation test_full_map)

e2e_main "$@"
