#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# test_ipfix.sh - IPFIX export to real collectors, end to end: pmacct's
# nfacctd, nfdump's nfcapd and a TCP collector, all in namespace B on its
# loopback, and tshark's IPFIX decoder for every field of what was sent.
# Per connection direction, the collectors' sums must equal the packet
# capture on vB, across daemon kills and collectors that go away.
#
#   test_ipfix.sh TCPLOGGERD TCPLOGCTL FILL_MAP [TEST...]
set -u

TCPLOGGERD=$1
TCPLOGCTL=$2
FILL_MAP=$3
shift 3
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

CHECK=$E2E_TOP/tests/e2e/ipfixcheck.py
P_NFACCT=4739 # nfacctd, UDP
P_TCP=4740    # the TCP collector (ipfixcheck.py sink)
P_NFCAP=4741  # nfcapd, UDP
DECODE=(udp.port==$P_NFACCT udp.port==$P_NFCAP udp.port==$P_TCP)

# ipfix_require: the collectors' tools, and no file of an earlier test.
ipfix_require() {
	rm -rf "$WORK"/nfacctd.* "$WORK/nfcap" "$WORK"/tcp.* "$WORK"/*.pcap*
	local tool
	for tool in nfacctd nfcapd nfdump; do
		command -v "$tool" >/dev/null 2>&1 ||
			skip_all "missing tool: $tool (scripts/test-deps.sh installs it)"
	done
}

# ---- the collectors, in namespace B on 127.0.0.1 ------------------------------------

start_nfacctd() {
	cat >"$WORK/nfacctd.conf" <<-EOC
		daemonize: false
		nfacctd_ip: 127.0.0.1
		nfacctd_port: $P_NFACCT
		nfacctd_pipe_size: 4194304
		nfacctd_templates_file: $WORK/nfacctd.templates
		plugins: print
		aggregate: src_host, dst_host, src_port, dst_port, proto
		print_output: csv
		print_output_file: $WORK/nfacctd.csv
		print_output_file_append: true
		print_refresh_time: 1
	EOC
	ip netns exec "$NS_B" nfacctd -f "$WORK/nfacctd.conf" >>"$WORK/nfacctd.log" 2>&1 &
	NFACCT_PID=$!
	BG_PIDS+=($NFACCT_PID)
	wait_for 200 sh -c "ip netns exec $NS_B ss -lunH 'sport = :$P_NFACCT' | grep -q ." ||
		fail "nfacctd does not listen"
}

# stop_nfacctd: after its last refresh, so the file has every record.
# Its core process does not always end on SIGTERM: KILL, as the file is
# written at each refresh.
stop_nfacctd() {
	sleep 2.5
	pkill -KILL -P "$NFACCT_PID" 2>/dev/null
	kill -KILL "$NFACCT_PID" 2>/dev/null
	wait "$NFACCT_PID" 2>/dev/null
}

start_nfcapd() {
	mkdir -p "$WORK/nfcap"
	ip netns exec "$NS_B" nfcapd -b 127.0.0.1 -p $P_NFCAP -w "$WORK/nfcap" -t 3600 \
		>>"$WORK/nfcapd.log" 2>&1 &
	NFCAP_PID=$!
	BG_PIDS+=($NFCAP_PID)
	wait_for 200 sh -c "ip netns exec $NS_B ss -lunH 'sport = :$P_NFCAP' | grep -q ." ||
		fail "nfcapd does not listen"
}

# stop_nfcapd: SIGTERM writes its last file.
stop_nfcapd() {
	kill -TERM "$NFCAP_PID" 2>/dev/null
	wait "$NFCAP_PID" 2>/dev/null
}

start_sink() {
	ip netns exec "$NS_B" "$PY" "$CHECK" sink 127.0.0.1 $P_TCP "$WORK/tcp" &
	SINK_PID=$!
	BG_PIDS+=($SINK_PID)
	wait_for 200 sh -c "ip netns exec $NS_B ss -ltnH 'sport = :$P_TCP' | grep -q ." ||
		fail "the TCP collector does not listen"
}

# ipfix_capture FILE: every IPFIX packet on B's loopback, whole (the
# kit's captures keep 128 bytes of each frame).
ipfix_capture() {
	local i
	ip netns exec "$NS_B" dumpcap -q -i lo -f "port $P_NFACCT or port $P_TCP or port $P_NFCAP" \
		-w "$1" 2>"$1.log" &
	CAP_PIDS+=($!)
	for i in $(seq 100); do
		grep -q 'Capturing on' "$1.log" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "dumpcap did not start: $(cat "$1.log")"
}

# ---- what each side counted: "SRC SPORT DST DPORT PACKETS IP_BYTES" ------------------

# The capture on vB (every frame of both directions).
truth() { capture_flows "$1" | awk '{ print $1, $2, $3, $4, $5, $7 }'; }

nfacctd_sums() {
	awk -F, 'NR > 1 && $1 != "SRC_IP" { k = $1 " " $3 " " $2 " " $4
		p[k] += $6; b[k] += $7 }
		END { for (k in p) { split(k, f, " "); printf "%s %s %s %s %.0f %.0f\n",
			f[1], f[2], f[3], f[4], p[k], b[k] } }' "$WORK/nfacctd.csv" | sort
}

nfdump_sums() {
	nfdump -R "$WORK/nfcap" -q -N -o 'fmt:%sa %sp %da %dp %pkt %byt' 2>/dev/null |
		awk 'NF == 6 { k = $1 " " $2 " " $3 " " $4; p[k] += $5; b[k] += $6 }
		END { for (k in p) printf "%s %.0f %.0f\n", k, p[k], b[k] }' | sort
}

# decoded PORT: tshark's decode of what went to PORT, as above.
decoded() {
	awk -v p="$1" '$1 == p { print $2, $3, $4, $5, $6, $8 }' "$WORK/decoded"
}

# decode_all PCAP: every message checked (ipfixcheck.py decode): the UDP
# ones as captured on B's loopback, the TCP collector's as it received
# them, each message in a datagram of its own (tshark's reassembly of IPFIX
# over TCP loses messages cut across segments).
decode_all() {
	local ifindex
	ifindex=$(ip -n "$NS_B" -o link show vB | cut -d: -f1)
	if ls "$WORK"/tcp.* >/dev/null 2>&1; then
		"$PY" "$CHECK" topcap "$WORK/tcp.pcap" $P_TCP "$WORK"/tcp.[0-9]* \
			>"$WORK/topcap.out" ||
			fail "the TCP collector's streams: $(cat "$WORK/topcap.out")"
		mergecap -F pcapng -w "$WORK/all.pcapng" "$1" "$WORK/tcp.pcap"
	else
		cp "$1" "$WORK/all.pcapng"
	fi
	"$PY" "$CHECK" decode "$WORK/all.pcapng" "$ifindex" "${DECODE[@]}" >"$WORK/decoded" ||
		fail "tshark's decode: $(grep ERROR "$WORK/decoded" | head -5)"
	say "$(grep '^#' "$WORK/decoded")"
}

# tcp_fields FIELD: one IPFIX field of every record the TCP collector got.
tcp_fields() {
	tshark -r "$WORK/tcp.pcap" -d udp.port==$P_TCP,cflow -T fields -e "$1" 2>/dev/null |
		tr ',' '\n' | grep .
}

# same_sums WHAT WANT GOT: equal, per direction of each connection.
same_sums() {
	same_flows "$1" "src sport dst dport packets ip_bytes" "$2" "$3"
}

# long_flow ADDR PORT SECONDS: 1000 bytes every 0.2 s for SECONDS.
long_flow() {
	local n=$(($3 * 5))
	for _ in $(seq $n); do
		head -c 1000 /dev/zero
		sleep 0.2
	done | send_to "$1" "$2"
}

# all_expired: nothing of ours left in the map.
all_expired() { [ "$(ctl --json dump | jq '.connections | length')" = 0 ]; }

# ---- the tests -----------------------------------------------------------------------

# Short and long connections (several active timeouts), IPv4 and IPv6,
# both directions, with a SIGKILL of the daemon in the middle of the long
# ones: per direction of each connection the sums at nfacctd, nfcapd, the
# TCP collector and in tshark's decode equal the capture.
test_exact() {
	ipfix_require
	start_nfacctd
	start_nfcapd
	start_sink
	ipfix_capture "$WORK/ipfix.pcapng"
	capture_start "$NS_B" vB "$WORK/vb.pcapng"
	write_conf "directions=ingress egress" "closed_timeout=1" \
		"ipfix_collectors=udp://127.0.0.1:$P_NFACCT tcp://127.0.0.1:$P_TCP udp://127.0.0.1:$P_NFCAP" \
		"ipfix_active_timeout=2" "ipfix_observation_domain=7"
	start_daemon || return
	long_flow $ADDR4_B 7101 9 &
	BG_PIDS+=($!)
	long_flow $ADDR6_B 7102 9 &
	BG_PIDS+=($!)
	flow $ADDR4_B 7001 5000
	flow $ADDR6_B 7002 70000
	sleep 3
	# Killed while records of the long connections are due.
	stop_daemon KILL
	flow $ADDR4_B 7003 12345 # counted while no daemon runs
	sleep 1
	start_daemon || return
	flow $ADDR6_B 7004 3000
	wait_for 600 sh -c "! ip netns exec $NS_A ss -tnH | grep -q ':710[12]'" ||
		fail "the long flows did not end"
	wait_for 400 all_expired || fail "entries left: $(ctl dump)"
	# The last records out before the collectors stop.
	sleep 1
	stop_nfacctd
	stop_nfcapd
	stop_captures
	local want stats
	want=$(truth "$WORK/vb.pcapng")
	decode_all "$WORK/ipfix.pcapng"
	same_sums "tshark, nfacctd's messages" "$want" "$(decoded $P_NFACCT)"
	same_sums "tshark, the TCP collector's stream" "$want" "$(decoded $P_TCP)"
	same_sums "tshark, nfcapd's messages" "$want" "$(decoded $P_NFCAP)"
	same_sums "nfacctd" "$want" "$(nfacctd_sums)"
	same_sums "nfdump" "$want" "$(nfdump_sums)"
	# Layer 2: layer2OctetDeltaCount = frame.len.
	expect_eq "layer2 octets" \
		"$(awk -v p=$P_NFACCT '$1 == p { s += $7 } END { print s }' "$WORK/decoded")" \
		"$(capture_flows "$WORK/vb.pcapng" | awk '{ s += $6 } END { print s }')"
	# Every direction ended with one end record (FIN: 3); the long ones
	# had active records (2) before.
	local ends active
	ends=$(awk -v p=$P_NFACCT '$1 == p && $9 !~ /(^|,)3:1(,|$)/' "$WORK/decoded")
	[ -z "$ends" ] || fail "directions without exactly one end record: $ends"
	active=$(awk -v p=$P_NFACCT '$1 == p && ($3 == 7101 || $5 == 7101) &&
		match($9, /2:[0-9]+/) { n = substr($9, RSTART + 2, RLENGTH - 2); if (n >= 3) c++ }
		END { print c + 0 }' "$WORK/decoded")
	expect_eq "directions of 7101 with 3 or more active records" "$active" 2
	# The observation domain, in every message header.
	tshark -r "$WORK/ipfix.pcapng" -d udp.port==$P_NFACCT,cflow -T fields \
		-e cflow.od_id 2>/dev/null | grep -v '^7$' | grep -q . &&
		fail "an observation domain other than 7"
	stats=$(ctl --json stats | jq -c '.stats | {ipfix_records, ipfix_messages, ipfix_send_errors}')
	expect_eq "send errors" "$(jq .ipfix_send_errors <<<"$stats")" 0
	[ "$(jq .ipfix_records <<<"$stats")" -gt 0 ] || fail "no records counted: $stats"
	log_has "Sending the\|stopped while sending\|Started:" || true
	say "$(echo "$want" | wc -l) directions; stats after the restart: $stats"
}

# The same entries written straight into the map (fill_map: entry i has
# 10 + i % 1000 packets), all expired while the daemon is killed five
# times in the middle: the TCP collector got exactly every packet, each
# entry once (the journal resends what a kill cut, nothing twice).
test_kill_mid_export() {
	ipfix_require
	local n=20000 ifindex want got
	start_sink
	ipfix_capture "$WORK/ipfix.pcapng"
	write_conf "directions=ingress egress" "idle_timeout=1" "max_connections=65536" \
		"ipfix_collectors=tcp://127.0.0.1:$P_TCP"
	start_daemon || return
	ifindex=$(ip -n "$NS_B" -o link show vB | cut -d: -f1)
	"$FILL_MAP" "$(pin_layout)" $n "$ifindex" >/dev/null || { fail "fill_map"; return; }
	want=$(awk -v n=$n 'BEGIN { for (i = 0; i < n; i++) s += 10 + i % 1000; printf "%.0f", s }')
	kill_during_expiry 5 2000 || return
	wait_for 2000 sh -c "[ \"\$($TCPLOGCTL --socket $SOCK --json stats | jq .stats.expired)\" = $n ]" ||
		fail "not all expired: $(ctl --json stats | jq -c '.stats | {expired, entries}')"
	sleep 1
	stop_daemon TERM
	stop_captures
	decode_all "$WORK/ipfix.pcapng"
	got=$(awk -v p=$P_TCP '$1 == p { s += $6; n++ } END { printf "%.0f %d", s, n }' "$WORK/decoded")
	expect_eq "packets at the collector, entries" "$got" "$want $n"
	# One record per entry: the end (idle: 1), never twice.
	expect_eq "entries with other than one end record" \
		"$(awk -v p=$P_TCP '$1 == p && $9 != "1:1"' "$WORK/decoded" | wc -l)" 0
	say "5 kills while exporting $n removals: $(grep -c 'made but not sent' "$DLOG") journals resent, $(grep -c 'stopped while removing' "$DLOG") removals recovered, $(grep -c 'wait in the daemon' "$DLOG") times records waited in the daemon; packets = written ($want)"
}

# Map pressure: 950 entries in a map of 1,000 (fill_map: entry i has
# 10 + i % 1000 packets), nothing idle: the daemon expires down to 80 %
# early, each removal with its end record (lack of resources, 5); what the
# collector got plus what is still in the map is what was written.
test_pressure() {
	ipfix_require
	local n=950 ifindex want got live
	start_sink
	ipfix_capture "$WORK/ipfix.pcapng"
	write_conf "max_connections=1000" "idle_timeout=3600" \
		"ipfix_collectors=tcp://127.0.0.1:$P_TCP"
	start_daemon || return
	ifindex=$(ip -n "$NS_B" -o link show vB | cut -d: -f1)
	"$FILL_MAP" "$(pin_layout)" $n "$ifindex" >/dev/null || { fail "fill_map"; return; }
	want=$(awk -v n=$n 'BEGIN { for (i = 0; i < n; i++) s += 10 + i % 1000; printf "%.0f", s }')
	wait_for 400 sh -c "[ \"\$($TCPLOGCTL --socket $SOCK --json stats | jq .stats.expired_pressure)\" -ge 150 ]" ||
		fail "no pressure expiry: $(ctl --json stats | jq -c '.stats | {entries, expired_pressure}')"
	sleep 1
	stop_daemon TERM
	stop_captures
	decode_all "$WORK/ipfix.pcapng"
	got=$(awk -v p=$P_TCP '$1 == p { s += $6; n++ } END { printf "%.0f %d", s, n }' "$WORK/decoded")
	expect_eq "records of reason 5 only" \
		"$(awk -v p=$P_TCP '$1 == p && $9 != "5:1"' "$WORK/decoded" | wc -l)" 0
	start_daemon || return
	live=$(ctl --json dump | jq '[.connections[].packets] | add // 0')
	expect_eq "exported + live packets" "$(( ${got% *} + live ))" "$want"
	say "pressure took ${got#* } entries, each with one end record; exported + live = written ($want)"
}

# A collector that goes away and comes back: the TCP one reconnects (with
# the templates first) and gets what was queued meanwhile; nfacctd, gone
# for a while, decodes again from its templates file.
test_collector_restart() {
	ipfix_require
	local want
	start_nfacctd
	start_sink
	ipfix_capture "$WORK/ipfix.pcapng"
	capture_start "$NS_B" vB "$WORK/vb.pcapng"
	write_conf "directions=ingress egress" "closed_timeout=1" \
		"ipfix_collectors=udp://127.0.0.1:$P_NFACCT tcp://127.0.0.1:$P_TCP"
	start_daemon || return
	flow $ADDR4_B 7201 4000
	wait_for 400 all_expired || fail "entries left"
	# Both collectors away.
	stop_nfacctd
	kill_tree "$SINK_PID"
	wait "$SINK_PID" 2>/dev/null
	flow $ADDR4_B 7202 5000
	wait_for 400 all_expired || fail "entries left"
	sleep 1
	start_nfacctd
	start_sink
	# Reconnected (within the retry delay) and the queue sent.
	wait_for 800 log_count_ge 2 "connected" || fail "no reconnect: $(grep IPFIX "$DLOG")"
	flow $ADDR4_B 7203 6000
	wait_for 400 all_expired || fail "entries left"
	sleep 1
	stop_nfacctd
	stop_captures
	want=$(truth "$WORK/vb.pcapng")
	decode_all "$WORK/ipfix.pcapng"
	# TCP: nothing lost, the queue kept what came while it was away.
	same_sums "tshark, the TCP collector's stream" "$want" "$(decoded $P_TCP)"
	# UDP: what came while nfacctd was away is lost (no one listened);
	# the rest is decoded, also after its restart.
	same_sums "nfacctd" "$(grep -v ' 7202 \| 7202$' <<<"$want")" \
		"$(nfacctd_sums | grep -v ' 7202 \| 7202$')"
	expect_eq "tcp sessions decoded with templates" \
		"$(tshark -r "$WORK/tcp.pcap" -d udp.port==$P_TCP,cflow -Y 'cflow.flowset_id == 2' 2>/dev/null | wc -l)" 2
	say "send errors (UDP refused while away): $(our_stat ipfix_send_errors)"
}

# RFC 5103 biflows: one record per connection, the opener forward, both
# directions' counts equal the capture.
test_biflow() {
	ipfix_require
	local want
	start_sink
	ipfix_capture "$WORK/ipfix.pcapng"
	capture_start "$NS_B" vB "$WORK/vb.pcapng"
	write_conf "directions=ingress egress" "closed_timeout=1" \
		"ipfix_collectors=tcp://127.0.0.1:$P_TCP" "ipfix_biflow=yes" \
		"ipfix_active_timeout=2"
	start_daemon || return
	long_flow $ADDR4_B 7301 5 &
	BG_PIDS+=($!)
	flow $ADDR4_B 7302 8000
	flow $ADDR6_B 7303 9000
	# B opens one too: its opener is B.
	in_a timeout 30 nc -l $ADDR4_A 7304 >/dev/null &
	BG_PIDS+=($!)
	wait_for 100 sh -c "ip netns exec $NS_A ss -ltnH 'sport = :7304' | grep -q ."
	head -c 3000 /dev/zero | in_b timeout 30 nc -N $ADDR4_A 7304
	wait_for 400 sh -c "! ip netns exec $NS_A ss -tnH | grep -q ':7301'"
	wait_for 400 all_expired || fail "entries left"
	sleep 1
	stop_captures
	want=$(truth "$WORK/vb.pcapng")
	decode_all "$WORK/ipfix.pcapng"
	same_sums "biflow (forward and reverse)" "$want" "$(decoded $P_TCP)"
	# The opener forward: each record's destination is the listener.
	expect_eq "records with a listener's port as source" \
		"$(tcp_fields cflow.srcport | grep -c '^730[1234]$')" 0
	tcp_fields cflow.dstport | grep -q '^7304$' ||
		fail "B's connection: the listener on A is not the destination"
	expect_eq "records of an unknown opener" \
		"$(tcp_fields cflow.biflow_direction | grep -vc '^1$')" 0
}

DEFAULT_TESTS=(test_exact test_kill_mid_export test_pressure test_collector_restart
	test_biflow)

e2e_main "$@"
