#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# test_lifecycle.sh - expiry, the connection log and a full map, end to
# end, against packet captures.
#
#   test_lifecycle.sh TCPLOGGERD TCPLOGCTL FILL_MAP [TEST...]
set -u

TCPLOGGERD=$1
TCPLOGCTL=$2
FILL_MAP=$3
shift 3
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"


# live_keys: "DIR SRC SPORT DST DPORT" of the entries in the map now.
live_keys() {
	ctl --json dump | jq -r '.connections[] |
		"\(.direction) \(.src_ip) \(.src_port) \(.dst_ip) \(.dst_port)"'
}

# live_count PORTS: live entries with a port matching the pattern PORTS.
live_count() { live_keys | grep -c " $1\$\| $1 "; }
live_count_is() { [ "$(live_count "$2")" = "$1" ]; }

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
	# Every direction of the three: 7001 both ways, 7002's SYN in and RST
	# out, 7003 both ways.
	wait_for 200 live_count_is 6 "700[123]" ||
		fail "$(live_count "700[123]") entries right after the traffic, want 6"
	# closed_timeout 2 s (+1 s period): 7001 goes; 7003 (idle_timeout 4 s)
	# must still be there.
	wait_for 200 live_count_is 0 7001 || fail "closed connection 7001 still there"
	expect_eq "open connection 7003 still there" "$(live_count 7003)" 2
	# idle_timeout 4 s (+1 s period): all go.
	wait_for 300 live_count_is 0 "700[123]" ||
		fail "entries left: $(live_keys | grep ' 700[123]')"
	stop_captures
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

# freeze_expiry: no expiry from now on (a reload with timeouts that never
# come), so that a snapshot taken after it and the records do not overlap:
# the reload runs in the daemon's loop before the next request.
freeze_expiry() {
	sed -i 's/^closed_timeout = .*/closed_timeout = 3600/; s/^idle_timeout = .*/idle_timeout = 0/' "$CONF"
	grep -q '^closed_timeout' "$CONF" || echo "closed_timeout = 3600" >>"$CONF"
	grep -q '^idle_timeout' "$CONF" || echo "idle_timeout = 0" >>"$CONF"
	kill -HUP "$DPID"
	wait_for 200 log_has 'Received SIGHUP' || fail "no reload"
}

# per_connection SNAPSHOT: the snapshot's live entries and every record of
# an expired one, summed per connection and direction, in capture_flows'
# format (a connection's 4-tuple on vB says its direction).
per_connection() {
	{
		jq -r '.connections[] | [.src_ip, .src_port, .dst_ip, .dst_port,
			.packets, .bytes, .ip_bytes] | map(tostring) | join(" ")' "$1"
		records | awk '{ print $2, $3, $4, $5, $6, $7, $8 }'
	} | awk '{ k = $1 " " $2 " " $3 " " $4; p[k] += $5; b[k] += $6; ip[k] += $7 }
		END { for (k in p) printf "%s %.0f %.0f %.0f\n", k, p[k], b[k], ip[k] }' | sort
}

# 1,000 short connections and two long ones while expiry runs: for every
# connection, in both directions, its live entry + its expiry records equal
# the capture, exactly.
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
	# Until most entries expired (the short ones closed long ago).
	wait_for 200 sh -c "[ \$(\"$TCPLOGCTL\" --socket $SOCK --json stats |
		jq .stats.expired) -ge 1500 ]" || fail "only $(our_stat expired) entries expired"
	stop_captures
	freeze_expiry
	ctl --json dump >"$WORK/snap.json"
	local want got expired
	want=$(capture_flows "$WORK/b.pcapng")
	got=$(per_connection "$WORK/snap.json")
	same_flows "live + expired, per connection and direction" \
		"src sport dst dport packets bytes ip_bytes" "$want" "$got"
	expired=$(jq .stats.expired "$WORK/snap.json")
	expect_eq "one record per expired entry" "$(records | wc -l)" "$expired"
	say "$(printf '%s\n' "$want" | wc -l) connection directions, $expired entries expired"
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
	# it back under 90 %: health (which reports how full the last scan
	# found the map) must have said critical meanwhile.
	local i critical=0
	for i in $(seq 160); do
		ctl health >"$WORK/health" 2>&1
		[ $? = 2 ] && critical=1 && break
		sleep 0.025
	done
	[ $critical = 1 ] || fail "health never went critical: $(cat "$WORK/health")"
	grep -q 'map_usage critical' "$WORK/health" || fail "health: $(cat "$WORK/health")"
	wait "${BG_PIDS[1]}" || fail "the hold client failed"
	stop_captures
	kill -0 "$DPID" || { fail "the daemon died"; return; }
	freeze_expiry
	ctl --json dump >"$WORK/snap.json"
	local refused packets want
	refused=$(ctl --json stats | jq '.stats.insert_failed_full + .stats.insert_failed_other')
	[ "$refused" -gt 0 ] || fail "no failed insert counted"
	log_has 'entries early, embryonic and closed ones first' || fail "no pressure expiry logged"
	[ "$(ctl --json stats | jq .stats.expired_pressure)" -gt 0 ] ||
		fail "no pressure expiry counted"
	packets=$(jq '([.connections[].packets] | add // 0) + .stats.expired_packets' "$WORK/snap.json")
	# Ingress only here: the frames sent to B.
	want=$(capture_flows "$WORK/b.pcapng" |
		awk -v b=$ADDR4_B '$3 == b { p += $5 } END { print p + 0 }')
	expect_eq "counted + refused packets" "$((packets + refused))" "$want"
	# No connection has more than the capture saw.
	local over
	over=$(join <(capture_flows "$WORK/b.pcapng" | awk '{ print $1":"$2">"$3":"$4, $5 }' | sort) \
		<({ records | awk '$1 == "ingress" { print $2":"$3">"$4":"$5, $6 }'
		    jq -r '.connections[] | "\(.src_ip):\(.src_port)>\(.dst_ip):\(.dst_port) \(.packets)"' "$WORK/snap.json"; } |
		awk '{ s[$1] += $2 } END { for (k in s) print k, s[k] }' | sort) |
		awk '$3 > $2')
	[ -z "$over" ] || fail "connections counted above the capture: $over"
	say "$refused packets refused, $(ctl --json stats | jq .stats.expired_pressure) entries expired under pressure"
	stop_background
}

# Thousands of expirations in seconds: at most 4,500 records per 30 s go
# out (journald's default rate limit is 10,000 per 30 s per service, and it
# drops the rest unseen); the others are counted, said in one line, and
# records + suppressed = entries expired, exactly.
test_record_limit() {
	write_conf "directions=ingress egress" "closed_timeout=1" "idle_timeout=30"
	start_daemon || return
	churn_server 7200
	local t0 stats expired written suppressed expired0
	expired0=$(our_stat expired)
	t0=$(date +%s)
	in_a "$PY" "$CHURN" churn $ADDR4_B 7200 3000 100 ||
		fail "the churn client failed"
	wait_for 300 sh -c "[ \$(\"$TCPLOGCTL\" --socket $SOCK --json stats |
		jq .stats.expired) -ge 5600 ]" || fail "only $(our_stat expired) entries expired"
	say "$(our_stat expired) entries expired in $(($(date +%s) - t0)) s"
	freeze_expiry
	stats=$(ctl --json stats)
	expired=$(($(jq .stats.expired <<<"$stats") - expired0))
	written=$(jq .stats.log_records <<<"$stats")
	suppressed=$(jq .stats.log_suppressed <<<"$stats")
	expect_eq "records in the log" "$(records | wc -l)" "$written"
	expect_eq "records + suppressed" "$((written + suppressed))" "$expired"
	[ "$suppressed" -gt 0 ] || fail "nothing suppressed: $written records"
	[ "$written" -le 9000 ] || fail "$written records"
	# The window ends 30 s after it began (the first scan), and the next
	# scan (every 10 s after the freeze) says what it suppressed.
	wait_for 1800 log_has "Suppressed $suppressed connection records" ||
		fail "no summary of the suppressed records"
	say "$written records, $suppressed suppressed and counted, of $expired expired"
	stop_background
}

# SIGKILL in the middle of expiring 200,000 entries, five times, each
# restart going on where the last stopped: in the end every entry is
# expired and the expired packets are exactly what was written, whatever
# removal a kill cut in two (the next start adds what the shared state
# recorded; the log says when).
test_kill_mid_scan() {
	local n=200000 want ifindex
	write_conf "max_connections=262144" "idle_timeout=2" \
		"closed_timeout=3600" "syn_timeout=3600" "log_closed=no"
	start_daemon || return
	ifindex=$(ip -n "$NS_B" -o link show vB | cut -d: -f1)
	"$FILL_MAP" "$(pin_layout)" $n "$ifindex" >/dev/null ||
		{ fail "fill_map"; return; }
	# fill_map writes 10 + i % 1000 packets into entry i.
	want=$(awk -v n=$n 'BEGIN { for (i = 0; i < n; i++) s += 10 + i % 1000; printf "%.0f", s }')
	kill_during_expiry 5 3000 || return
	wait_for 2000 sh -c "[ \"\$($TCPLOGCTL --socket $SOCK --json stats | jq .stats.expired)\" = $n ]" ||
		fail "not all expired: $(ctl --json stats | jq -c '.stats | {expired, entries}')"
	expect_eq "expired packets" "$(ctl --json stats | jq .stats.expired_packets)" "$want"
	expect_eq "live entries" "$(ctl --json dump | jq '.connections | length')" 0
	say "5 kills mid-scan; $(grep -c 'stopped while removing an entry' "$DLOG") removals cut in two and recovered; expired packets = written ($want)"
}

DEFAULT_TESTS=(test_timeouts test_conservation test_full_map test_record_limit
	test_kill_mid_scan)

e2e_main "$@"
