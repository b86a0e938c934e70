#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# test_api.sh - the socket API and tcplogctl end to end: schema, counts
# against a capture, filters and sorts, health exit codes, permissions,
# and many clients and a huge request while health keeps answering.
#
#   test_api.sh TCPLOGGERD TCPLOGCTL SCHEMA FILL_MAP [TEST...]
set -u

TCPLOGGERD=$1
TCPLOGCTL=$2
SCHEMA=$3
FILL_MAP=$4
shift 4
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

VALIDATE=$(dirname "$0")/validate_json.py

# expect_valid DEF JSON: JSON matches $defs/DEF of the schema.
expect_valid() {
	local out
	out=$(printf '%s\n' "$2" | "$PY" "$VALIDATE" "$SCHEMA" "$1" 2>&1) ||
		fail "$1 response does not match the schema: $out"
}

# expect_exit WANT CMD...: runs CMD and checks its exit status.
expect_exit() {
	local want=$1 rc
	shift
	"$@" >"$WORK/out" 2>&1
	rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, want $want: $(head -c 300 "$WORK/out")"
}

# Every response type validates; dump's counts equal the capture.
test_schema_and_counts() {
	write_conf "directions=ingress egress"
	start_daemon || return
	capture_start "$NS_B" vB "$WORK/b.pcapng"
	flow $ADDR4_B 6001 250000
	flow $ADDR6_B 6002 33333
	stop_captures
	expect_valid dump "$(ctl --json dump)"
	expect_valid dump "$(ctl --json dump --connections)"
	expect_eq "connections of two flows" \
		"$(ctl --json dump --connections | jq '.connections | length')" 2
	expect_valid dump "$(ctl --json dump --connections --sort bytes --limit 1)"
	expect_valid stats "$(ctl --json stats)"
	expect_valid health "$(ctl --json health)"
	expect_valid version "$(ctl --json version)"
	expect_valid metrics "$(ctl --json metrics)"
	expect_valid reset "$(ctl --json reset)"
	expect_valid error "$(printf '{"cmd":"nope"}\n' | nc -U -N "$SOCK")"
	expect_valid error "$(printf 'garbage\n' | nc -U -N "$SOCK")"
	# reset emptied the map: count again from here.
	capture_start "$NS_B" vB "$WORK/c.pcapng"
	flow $ADDR4_B 6003 123456
	flow $ADDR6_B 6004 7777
	stop_captures
	expect_same_flows "$WORK/c.pcapng" ingress $ADDR4_B
	expect_same_flows "$WORK/c.pcapng" ingress $ADDR6_B
	expect_same_flows "$WORK/c.pcapng" egress $ADDR4_B
	expect_same_flows "$WORK/c.pcapng" egress $ADDR6_B
	# The table shows the same connections.
	ctl dump >"$WORK/table"
	head -n1 "$WORK/table" | grep -q '^IFACE  *DIR  *SOURCE  *DESTINATION  *STATE  *BYTES' ||
		fail "no table header: $(head -n1 "$WORK/table")"
	grep -q "\[fd00::1\]:[0-9]* *\[fd00::2\]:6004" "$WORK/table" ||
		fail "no IPv6 row in the table"
	ctl -H dump | grep -q 'KiB' || fail "-H shows no units"
}

# keys_of FILTER...: "src sport dst dport" of the connections a dump with
# these tcplogctl options returns, sorted.
keys_of() {
	ctl --json dump "$@" | jq -r '.connections[] |
		"\(.direction) \(.src_ip) \(.src_port) \(.dst_ip) \(.dst_port)"' | sort
}

# The same selection made by jq on the full dump.
keys_jq() {
	ctl --json dump | jq -r ".connections[] | select($1) |
		\"\(.direction) \(.src_ip) \(.src_port) \(.dst_ip) \(.dst_port)\"" | sort
}

test_filters_and_sorts() {
	write_conf "directions=ingress egress"
	start_daemon || return
	flow $ADDR4_B 6011 1000
	flow $ADDR4_B 6012 50000
	flow $ADDR6_B 6013 20000
	# One connection stays open (no FIN yet).
	in_b timeout 20 nc -l $ADDR4_B 6014 >/dev/null &
	BG_PIDS+=($!)
	wait_listen 6014
	(head -c 3000 /dev/zero; sleep 15) | in_a timeout 20 nc $ADDR4_B 6014 &
	BG_PIDS+=($!)
	local want got n
	# 4 connections, both directions.
	wait_for 200 entries_are 8 ||
		fail "expected 8 entries, got $(ctl --json dump | jq '.connections | length')"
	while IFS='|' read -r opts sel; do
		# shellcheck disable=SC2086
		got=$(keys_of $opts)
		want=$(keys_jq "$sel")
		[ -n "$want" ] || [ "$opts" = "--iface lo" ] || fail "$opts: selects nothing"
		[ "$got" = "$want" ] || fail "dump $opts: got [$got] want [$want]"
	done <<EOF2
--port 6012|.src_port == 6012 or .dst_port == 6012
--host $ADDR6_A|.src_ip == "$ADDR6_A" or .dst_ip == "$ADDR6_A"
--host $ADDR4_B|.src_ip == "$ADDR4_B" or .dst_ip == "$ADDR4_B"
--state open|.state == "open"
--state closed|.state == "closed"
--iface vB|.ifname == "vB"
--iface lo|.ifname == "lo"
--state open --port 6014|.state == "open" and (.src_port == 6014 or .dst_port == 6014)
EOF2
	[ -n "$(keys_of --state open)" ] || fail "no open connection"
	local key
	for key in bytes packets segments first_seen last_seen; do
		got=$(ctl --json dump --sort $key | jq -r "[.connections[].$key] | tostring")
		want=$(ctl --json dump | jq -r "[.connections[].$key] | sort | reverse | tostring")
		[ "$got" = "$want" ] || fail "--sort $key: $got, want $want"
		got=$(ctl --json dump --sort $key --limit 3 | jq -r "[.connections[].$key] | tostring")
		want=$(ctl --json dump | jq -r "[.connections[].$key] | sort | reverse | .[:3] | tostring")
		[ "$got" = "$want" ] || fail "--sort $key --limit 3: $got, want $want"
	done
	n=$(ctl --json dump --limit 2 | jq '.connections | length')
	expect_eq "--limit 2" "$n" 2
	expect_exit 1 ctl dump --sort size
	expect_exit 1 ctl dump --port 70000
	expect_exit 1 ctl dump --host 1.2.3
	expect_exit 1 ctl dump --state half
	expect_exit 1 ctl stats --limit 3
	expect_exit 1 ctl frobnicate
	expect_exit 1 ctl
	stop_background
}

# health: 0 ok, 1 warning (map nearly full), 2 critical, 3 unknown.
test_health_codes() {
	# closed_timeout 10: a scan (which counts for health) every second.
	write_conf "max_connections=10" "closed_timeout=10"
	start_daemon || return
	wait_counted || fail "no expiry scan counted the map"
	expect_exit 0 ctl health
	grep -q '^TCPLOGGER OK - ' "$WORK/out" || fail "summary: $(cat "$WORK/out")"
	local p
	for p in $(seq 6021 6029); do
		flow $ADDR4_B "$p" 100
	done
	wait_counted || fail "no expiry scan counted the map"
	expect_exit 1 ctl health # 9 of 10 entries: 90 %
	grep -q '^TCPLOGGER WARNING - .*map_usage warning (9 of 10' "$WORK/out" ||
		fail "summary: $(cat "$WORK/out")"
	flow $ADDR4_B 6030 100
	flow $ADDR4_B 6031 100 # the map is full: refused and counted
	wait_counted || fail "no expiry scan counted the map"
	expect_exit 2 ctl health
	# Full when a scan counted it, or since then pressure took entries
	# early (a scan 100 ms later may have come first): critical either way.
	grep -q 'map_usage critical (10 of 10' "$WORK/out" ||
		grep -Eq 'map_usage critical .*; [1-9][0-9]* entries expired early' "$WORK/out" ||
		fail "summary: $(cat "$WORK/out")"
	grep -q 'insert_failures warning' "$WORK/out" || fail "no insert failures: $(cat "$WORK/out")"
	expect_eq "insert_failed_full" "$(our_stat insert_failed_full)" "$(ctl --json stats | jq .stats.insert_failed_full)"
	[ "$(our_stat insert_failed_full)" -gt 0 ] || fail "no failed insert counted"
	expect_exit 2 ctl --json health # the plugin codes hold with --json too
	stop_daemon TERM
	expect_exit 3 ctl health
	grep -q '^TCPLOGGER UNKNOWN' "$WORK/out" || fail "summary: $(cat "$WORK/out")"
	expect_exit 3 ctl dump
}

# Socket permissions: 0660 and the group; reset is root's.
test_permissions() {
	local grp=tlg$E2E_ID gid
	groupadd "$grp" || { fail "cannot create a test group"; return; }
	gid=$(getent group "$grp" | cut -d: -f3)
	SOCK_GROUP=$grp write_conf
	start_daemon || { groupdel "$grp"; return; }
	expect_eq "socket mode" "$(stat -c '%a %G' "$SOCK")" "660 $grp"
	local nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	local member=(setpriv --reuid=65534 --regid=65534 --groups="$gid")
	expect_exit 3 "${nobody[@]}" "$TCPLOGCTL" --socket "$SOCK" dump
	grep -q "permission denied on $SOCK: run as root or join the group '$grp'" "$WORK/out" ||
		fail "message: $(cat "$WORK/out")"
	expect_exit 0 "${member[@]}" "$TCPLOGCTL" --socket "$SOCK" dump
	expect_exit 0 "${member[@]}" "$TCPLOGCTL" --socket "$SOCK" health
	expect_exit 2 "${member[@]}" "$TCPLOGCTL" --socket "$SOCK" reset
	grep -q 'permission_denied' "$WORK/out" || fail "message: $(cat "$WORK/out")"
	expect_exit 0 ctl reset
	stop_daemon TERM
	groupdel "$grp"
}

# 200 clients at once (more than the daemon keeps), a 10 MB request line
# and garbage, while health keeps answering.
test_many_clients() {
	write_conf
	start_daemon || return
	local i t0 ms
	for i in $(seq 200); do
		sleep 30 | nc -U "$SOCK" >/dev/null 2>&1 &
		BG_PIDS+=($!)
	done
	head -c 10000000 /dev/zero | tr '\0' 'a' | nc -U -N "$SOCK" >"$WORK/big" 2>/dev/null &
	BG_PIDS+=($!)
	head -c 1000000 /dev/urandom | nc -U -N "$SOCK" >/dev/null 2>&1 &
	BG_PIDS+=($!)
	for i in $(seq 20); do
		t0=$(date +%s%N)
		expect_exit 0 ctl health
		ms=$((($(date +%s%N) - t0) / 1000000))
		[ "$ms" -lt 2000 ] || fail "health took $ms ms"
		sleep 0.05
	done
	wait_for 80 grep -q too_large "$WORK/big"
	expect_valid error "$(head -n1 "$WORK/big")"
	grep -q '"code":"too_large"' "$WORK/big" || fail "no too_large answer: $(head -c 200 "$WORK/big")"
	kill -0 "$DPID" || fail "the daemon died"
	expect_eq "clients kept" "$(ctl --json stats | jq '.stats.clients <= 64')" true
	stop_background
	say "20 health checks answered beside 200 idle clients and a 10 MB line"
}

# A client whose request the daemon has not read yet (it came in with a
# burst of connections while the loop was busy) waits for an answer: making
# room for newcomers must drop one of the idle ones, never it.
test_room_spares_asking() {
	write_conf
	start_daemon || return
	local gid
	gid=$(getent group "$SOCK_GROUP" | cut -d: -f3)
	kill -STOP "$DPID"
	setpriv --reuid=65534 --regid=65534 --groups="$gid" "$PY" -c '
import socket, sys
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    return s
asking = conn()
asking.sendall(b"{\"cmd\":\"stats\"}\n")
idle = [conn() for _ in range(40)]
print("connected", flush=True)
asking.settimeout(10)
data = b""
try:
    while not data.endswith(b"\n"):
        chunk = asking.recv(65536)
        if not chunk:
            break
        data += chunk
except OSError:
    pass
sys.stdout.buffer.write(data)
' "$SOCK" >"$WORK/asking.out" 2>&1 &
	local py=$!
	BG_PIDS+=($py)
	wait_for 100 grep -q connected "$WORK/asking.out"
	kill -CONT "$DPID"
	wait "$py"
	[ "$(sed 1d "$WORK/asking.out" | jq -c .ok 2>/dev/null)" = true ] ||
		fail "the asking client got: $(head -c 300 "$WORK/asking.out")"
	log_has "dropped the longest-idle" || fail "no idle client was dropped"
	say "41 clients of one user at once: idle ones dropped, the one that asked answered"
}

# watch: redraws in place with rates, q quits and restores the terminal.
test_watch() {
	command -v tmux >/dev/null || { fail "tmux is missing"; return; }
	write_conf
	start_daemon || return
	local tm=tlw$E2E_ID i
	slow_flow $ADDR4_B 6041 400 &
	BG_PIDS+=($!)
	wait_for 200 entries_are 1 || fail "the flow did not start"
	tmux new-session -d -s "$tm" -x 160 -y 30 \
		"echo before-watch; $TCPLOGCTL --socket $SOCK watch --interval 0.3; echo \$? >$WORK/watch.rc; sleep 30"
	# Until the running flow's row shows a rate (the second frame on).
	screen_has_rate() {
		tmux capture-pane -p -t "$tm" >"$WORK/screen1"
		awk '$3 ~ /^198\.18\.0\.1:/ && $4 ~ /:6041$/ && $6 > 0 { found = 1 } END { exit !found }' \
			"$WORK/screen1"
	}
	wait_for 200 screen_has_rate
	grep -q '^tcplogctl watch: .* sorted by bytes (q quits)' "$WORK/screen1" ||
		fail "no watch header: $(cat "$WORK/screen1")"
	grep -q 'BYTES/s' "$WORK/screen1" || fail "no rate column"
	# The running flow's row shows a rate above zero.
	awk '$3 ~ /^198\.18\.0\.1:/ && $4 ~ /:6041$/ && $6 > 0 { found = 1 } END { exit !found }' \
		"$WORK/screen1" || fail "no row with a rate: $(cat "$WORK/screen1")"
	grep -q before-watch "$WORK/screen1" && fail "watch does not draw on its own screen"
	tmux send-keys -t "$tm" q
	for i in $(seq 40); do
		[ -s "$WORK/watch.rc" ] && break
		sleep 0.05
	done
	expect_eq "watch exit status after q" "$(cat "$WORK/watch.rc" 2>/dev/null)" 0
	tmux capture-pane -p -t "$tm" >"$WORK/screen2"
	grep -q before-watch "$WORK/screen2" || fail "the terminal was not restored: $(cat "$WORK/screen2")"
	tmux kill-session -t "$tm"
	stop_background
}

# Socket activation: the daemon takes the socket systemd passes (here
# systemd-socket-activate, which does the same).
test_socket_activation() {
	command -v systemd-socket-activate >/dev/null ||
		{ fail "systemd-socket-activate is missing"; return; }
	write_conf
	mkdir -p "$SOCK_DIR"
	systemd-socket-activate -l "$SOCK" nsenter --net=/run/netns/"$NS_B" \
		"${UNIT_CAPS[@]}" "$TCPLOGGERD" --config "$CONF" >>"$DLOG" 2>&1 &
	DPID=$!
	# The socket file appears at bind(), a moment before listen().
	wait_for 80 ctl health >/dev/null 2>&1 ||
		fail "no answer through the activated socket"
	expect_exit 0 ctl health
	wait_for 80 log_has 'Listening on the socket passed by systemd' ||
		fail "the passed socket was not used"
	expect_exit 0 ctl dump
	stop_daemon TERM
}

# A client that sends nothing is dropped after 10 s; one that stops
# reading a dump half-way is dropped without harm to others.
test_idle_and_disconnect() {
	write_conf "max_connections=300000"
	start_daemon || return
	local ifindex t0 s
	ifindex=$(ip -n "$NS_B" -o link show vB | cut -d: -f1)
	"$FILL_MAP" "$(pin_layout)" 200000 "$ifindex" >/dev/null || fail "fill_map"
	# Reads 1 KB of a ~65 MB answer, then closes.
	ctl --json dump | head -c 1000 >/dev/null
	t0=$(date +%s)
	sleep 30 | nc -U "$SOCK" >/dev/null &
	local idle=$!
	BG_PIDS+=($idle)
	expect_exit 0 ctl health
	wait_for 600 sh -c "! kill -0 $idle 2>/dev/null" ||
		fail "the idle client was not dropped"
	s=$(($(date +%s) - t0))
	[ "$s" -ge 9 ] && [ "$s" -le 13 ] || fail "idle client dropped after $s s"
	kill -0 "$DPID" || fail "the daemon died"
	# (Only the synthetic ones: a late packet of an earlier test's
	# connection may add a real entry.)
	expect_eq "entries" "$(ctl --json dump |
		jq '[.connections[] | select(.dst_ip == "198.19.0.1")] | length')" 200000
	say "idle client dropped after $s s; a client leaving mid-dump did no harm"
}

# Tables print 64-bit counters exactly (they went through doubles once,
# exact only to 2^53); with --json every failure is a JSON error object.
test_exact_tables_and_json_errors() {
	write_conf
	start_daemon || return
	local ifindex big=18446744073709551557 out
	ifindex=$(ip -n "$NS_B" -o link show vB | cut -d: -f1)
	"$FILL_MAP" "$(pin_layout)" 1 "$ifindex" $big >/dev/null || fail "fill_map"
	# (jq reads numbers as doubles: the text itself, then.)
	expect_eq "json bytes" "$(ctl --json dump --port 443 | grep -o '"bytes":[0-9]*')" "\"bytes\":$big"
	out=$(ctl dump --port 443 | awk 'NR == 2 { print $6 }')
	expect_eq "table bytes" "$out" "$big"
	out=$(ctl --json stats)
	expect_eq "stats table" "$(ctl stats | awk '$1 == "packets_seen" { print $2 }')" \
		"$(jq -r .stats.packets_seen <<<"$out")"
	# Client-side failures, as JSON on stdout, with the usual exit codes.
	out=$("$TCPLOGCTL" --json --socket "$WORK/nothing.sock" stats)
	expect_eq "unreachable rc" "$?" 3
	expect_eq "unreachable code" "$(jq -r .error.code <<<"$out")" unreachable
	expect_eq "unreachable ok" "$(jq -r .ok <<<"$out")" false
	out=$(ctl --json dump --port 70000)
	expect_eq "usage rc" "$?" 1
	expect_eq "usage code" "$(jq -r .error.code <<<"$out")" usage
	out=$(ctl --json stats --limit 3)
	expect_eq "misfit rc" "$?" 1
	expect_eq "misfit message" "$(jq -r .error.message <<<"$out")" "stats takes no --limit"
	out=$(ctl --json frobnicate)
	expect_eq "unknown command" "$(jq -r .error.code <<<"$out")" usage
	out=$(ctl --json --bogus stats)
	expect_eq "unknown option" "$(jq -r .error.code <<<"$out")" usage
	out=$("$TCPLOGCTL" --json --socket "$WORK/nothing.sock" health)
	expect_eq "health unreachable rc" "$?" 3
	expect_eq "health unreachable" "$(jq -r .error.code <<<"$out")" unreachable
	# Without --json: text on stderr, nothing on stdout.
	out=$(ctl dump --port 70000 2>/dev/null)
	expect_eq "text usage stdout" "$out" ""
	stop_daemon TERM
	say "tables exact at 2^64 - 59; --json failures are JSON"
}

DEFAULT_TESTS=(
	test_schema_and_counts test_filters_and_sorts test_health_codes
	test_permissions test_many_clients test_room_spares_asking test_watch
	test_socket_activation
	test_idle_and_disconnect test_exact_tables_and_json_errors
)

e2e_main "$@"
