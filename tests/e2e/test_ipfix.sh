#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# test_ipfix.sh - IPFIX export to real collectors, end to end: pmacct's
# nfacctd, nfdump's nfcapd and a TCP collector, all in namespace B on its
# loopback, and tshark's IPFIX decoder for every field of what was sent.
# Per connection direction, the collectors' sums must equal the packet
# capture on vB, across daemon kills, an upgrade from the previous
# release and collectors that go away.
#
#   test_ipfix.sh TCPLOGGERD TCPLOGCTL FILL_MAP PREV_TCPLOGGERD [TEST...]
#
# PREV_TCPLOGGERD: the daemon of the previous release that exported IPFIX
# (same map layout; tests/tools/build_release.sh builds it).
set -u

TCPLOGGERD=$1
TCPLOGCTL=$2
FILL_MAP=$3
PREV_TCPLOGGERD=$4
shift 4
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

# long_flows PORT: long_flow to B's IPv4 address on PORT and to its IPv6
# address on PORT + 1, 9 s each, in the background.
long_flows() {
	long_flow $ADDR4_B "$1" 9 &
	BG_PIDS+=($!)
	long_flow $ADDR6_B $(($1 + 1)) 9 &
	BG_PIDS+=($!)
}

# long_flows_done PORT: the long flows of long_flows PORT ended, and every
# entry expired.
long_flows_done() {
	wait_for 600 sh -c "! ip netns exec $NS_A ss -tnH | grep -qE ':($1|$(($1 + 1)))( |$)'" ||
		fail "the long flows did not end"
	wait_for 400 all_expired || fail "entries left: $(ctl dump)"
}

# active_records PORT [COLLECTOR_PORT]: the directions of the connection
# on PORT with three or more active records (flowEndReason 2) at the
# collector on COLLECTOR_PORT (default: nfacctd's).
active_records() {
	awk -v p="${2:-$P_NFACCT}" -v port="$1" '$1 == p && ($3 == port || $5 == port) &&
		match($9, /2:[0-9]+/) { n = substr($9, RSTART + 2, RLENGTH - 2); if (n >= 3) c++ }
		END { print c + 0 }' "$WORK/decoded"
}

# fill_vb N: N entries of vB's ingress written straight into the map
# (fill_map: entry i has 10 + i % 1000 packets); FILLED_PACKETS gets the
# sum of their packets.
fill_vb() {
	local ifindex
	ifindex=$(ip -n "$NS_B" -o link show vB | cut -d: -f1)
	"$FILL_MAP" "$(pin_layout)" "$1" "$ifindex" >/dev/null || { fail "fill_map"; return 1; }
	FILLED_PACKETS=$(awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) s += 10 + i % 1000; printf "%.0f", s }')
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
	long_flows 7101
	flow $ADDR4_B 7001 5000
	flow $ADDR6_B 7002 70000
	sleep 3
	# Killed while records of the long connections are due.
	stop_daemon KILL
	flow $ADDR4_B 7003 12345 # counted while no daemon runs
	sleep 1
	start_daemon || return
	flow $ADDR6_B 7004 3000
	long_flows_done 7101
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
	local ends
	ends=$(awk -v p=$P_NFACCT '$1 == p && $9 !~ /(^|,)3:1(,|$)/' "$WORK/decoded")
	[ -z "$ends" ] || fail "directions without exactly one end record: $ends"
	expect_eq "directions of 7101 with 3 or more active records" "$(active_records 7101)" 2
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
	local n=20000 want got
	start_sink
	ipfix_capture "$WORK/ipfix.pcapng"
	write_conf "directions=ingress egress" "idle_timeout=1" "max_connections=65536" \
		"ipfix_collectors=tcp://127.0.0.1:$P_TCP"
	start_daemon || return
	fill_vb $n || return
	want=$FILLED_PACKETS
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
	local n=950 want got live
	start_sink
	ipfix_capture "$WORK/ipfix.pcapng"
	write_conf "max_connections=1000" "idle_timeout=3600" \
		"ipfix_collectors=tcp://127.0.0.1:$P_TCP"
	start_daemon || return
	fill_vb $n || return
	want=$FILLED_PACKETS
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

# An upgrade from the previous release while it exports (the package's
# stop and start): its active records of two long connections, then this
# build's over the same pins, the program replaced under them. Per
# direction the collectors' sums equal the capture: the positions the old
# daemon kept are where the new one goes on, nothing sent twice or lost.
# The previous release kept the expired sums in a store without
# BPF_F_MMAPABLE: this build takes them over, so the Prometheus packet
# counters also equal the capture.
test_upgrade_from_release() {
	ipfix_require
	[ -x "$PREV_TCPLOGGERD" ] || { fail "no previous release at $PREV_TCPLOGGERD"; return; }
	local want m_in m_out c_in c_out
	rm -f "$DLOG.prev"
	start_nfacctd
	start_sink
	ipfix_capture "$WORK/ipfix.pcapng"
	capture_start "$NS_B" vB "$WORK/vb.pcapng"
	write_conf "directions=ingress egress" "closed_timeout=1" \
		"ipfix_collectors=udp://127.0.0.1:$P_NFACCT tcp://127.0.0.1:$P_TCP" \
		"ipfix_active_timeout=2"
	start_daemon "$PREV_TCPLOGGERD" || return
	long_flows 7401
	flow $ADDR4_B 7403 5000
	flow $ADDR6_B 7404 7000
	# Records of the long ones made by the previous release, and of the
	# short ones expired by it.
	sleep 4
	stop_daemon TERM
	cat "$DLOG" >>"$DLOG.prev"
	: >"$DLOG"
	start_daemon || return
	log_has "from the older daemon's store" ||
		fail "the previous release's sums were not taken over"
	flow $ADDR4_B 7405 3000
	long_flows_done 7401
	sleep 1
	stop_nfacctd
	stop_captures
	want=$(truth "$WORK/vb.pcapng")
	decode_all "$WORK/ipfix.pcapng"
	same_sums "tshark, the TCP collector's stream" "$want" "$(decoded $P_TCP)"
	same_sums "tshark, nfacctd's messages" "$want" "$(decoded $P_NFACCT)"
	same_sums "nfacctd" "$want" "$(nfacctd_sums)"
	# Active records from both daemons for the long connections.
	expect_eq "directions of 7401 with 3 or more active records" \
		"$(active_records 7401 $P_TCP)" 2
	# Everything expired: the counters are the pinned sums, the previous
	# release's removals included.
	ctl metrics >"$WORK/metrics.txt" || fail "tcplogctl metrics"
	m_in=$(awk '/^tcplogger_packets_total\{.*direction="ingress"/ { s += $NF } END { printf "%.0f", s }' "$WORK/metrics.txt")
	m_out=$(awk '/^tcplogger_packets_total\{.*direction="egress"/ { s += $NF } END { printf "%.0f", s }' "$WORK/metrics.txt")
	c_in=$(awk -v a=$ADDR4_B -v b=$ADDR6_B '$3 == a || $3 == b { s += $5 } END { printf "%.0f", s }' <<<"$want")
	c_out=$(awk -v a=$ADDR4_B -v b=$ADDR6_B '$1 == a || $1 == b { s += $5 } END { printf "%.0f", s }' <<<"$want")
	expect_eq "tcplogger_packets_total, ingress" "$m_in" "$c_in"
	expect_eq "tcplogger_packets_total, egress" "$m_out" "$c_out"
	say "$(echo "$want" | wc -l) directions across the upgrade; records by the previous release: $(grep -c 'reason=' "$DLOG.prev"), by this build: $(grep -c 'reason=' "$DLOG")"
}

# Collectors that never take what is sent: a TCP one that accepts and
# never reads, a TCP one whose SYN goes unanswered (an address on vB's
# link that no one has), a UDP port no one listens on. 250,000 entries
# (fill_map) expire meanwhile, each with its end record (~15 MB for each
# collector, more than a socket's 4 MiB buffer and the queue's 4 MiB). The daemon goes on: every entry is removed and its counts
# kept in the totals, `stats` answers all along, the records the stalled
# collector could not take are dropped and counted (logged once), the
# refusals counted, its memory bounded by the 4 MiB queue, and it stops at
# once.
test_stalled_collectors() {
	ipfix_require
	local n=250000 want slow=0 t0 dt max_ms=0 st hwm
	ip -n "$NS_B" route add 198.18.7.0/24 dev vB
	# Accepts, never reads; a small receive buffer fills at once.
	ip netns exec "$NS_B" "$PY" -c '
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind(("127.0.0.1", '"$P_TCP"'))
s.listen(1)
c, _ = s.accept()
time.sleep(3600)
' &
	BG_PIDS+=($!)
	wait_for 200 sh -c "ip netns exec $NS_B ss -ltnH 'sport = :$P_TCP' | grep -q ." ||
		fail "the stalled collector does not listen"
	write_conf "idle_timeout=1" "max_connections=400000" "log_closed=no" \
		"ipfix_collectors=tcp://127.0.0.1:$P_TCP tcp://198.18.7.7:4739 udp://127.0.0.1:4749"
	start_daemon || return
	fill_vb $n || return
	want=$FILLED_PACKETS
	# The socket answers while the records pile up.
	while :; do
		t0=$(date +%s%N)
		st=$(timeout 5 "$TCPLOGCTL" --socket "$SOCK" --json stats) ||
			{ fail "stats did not answer within 5 s"; break; }
		dt=$((($(date +%s%N) - t0) / 1000000))
		[ $dt -le $max_ms ] || max_ms=$dt
		[ "$(jq .stats.expired <<<"$st")" = $n ] && break
		slow=$((slow + 1))
		[ $slow -lt 600 ] || { fail "not all expired: $(jq -c '.stats | {expired, entries}' <<<"$st")"; break; }
		sleep 0.05
	done
	expect_eq "expired packets = written" "$(jq .stats.expired_packets <<<"$st")" "$want"
	[ "$(jq .stats.ipfix_send_errors <<<"$st")" -gt 0 ] ||
		fail "no send error counted: $(jq -c .stats <<<"$st")"
	# Logged once for the stalled one, not per message dropped.
	expect_eq "'queue is full' lines of the stalled collector" \
		"$(grep -c "127.0.0.1:$P_TCP: the queue is full" "$DLOG")" 1
	log_has "198.18.7.7:4739: the queue is full" ||
		fail "the unreachable collector's queue did not fill"
	# Every other datagram is refused: logged once, not per message.
	expect_eq "refusal lines of the UDP collector" \
		"$(grep -c "udp://127.0.0.1:4749: an earlier message was refused" "$DLOG")" 1
	# Two queues of 4 MiB at most (not under ASan, whose heap is larger).
	hwm=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$DPID/status")
	ldd "$TCPLOGGERD" | grep -q libasan || [ "$hwm" -lt $((64 * 1024)) ] ||
		fail "peak RSS $hwm KiB"
	t0=$(date +%s%N)
	stop_daemon TERM
	dt=$((($(date +%s%N) - t0) / 1000000))
	[ $dt -lt 5000 ] || fail "the daemon took $dt ms to stop"
	say "$n removals with three stalled collectors: $(jq -c '.stats | {ipfix_records, ipfix_messages, ipfix_send_errors}' <<<"$st"); slowest stats answer $max_ms ms; peak RSS $((hwm / 1024)) MiB; stopped in $dt ms"
}

# A reload that moves the export from one collector to another, with a
# new observation domain, while long connections run: what was made
# before goes to the first (the message being built included), what is
# made after to the second; per direction the two sums together equal
# the capture, nothing twice.
test_reload_collectors() {
	ipfix_require
	local want both
	start_nfacctd
	start_sink
	ipfix_capture "$WORK/ipfix.pcapng"
	capture_start "$NS_B" vB "$WORK/vb.pcapng"
	write_conf "directions=ingress egress" "closed_timeout=1" \
		"ipfix_collectors=tcp://127.0.0.1:$P_TCP" \
		"ipfix_active_timeout=2" "ipfix_observation_domain=3"
	start_daemon || return
	long_flows 7501
	flow $ADDR4_B 7503 5000
	sleep 4
	write_conf "directions=ingress egress" "closed_timeout=1" \
		"ipfix_collectors=udp://127.0.0.1:$P_NFACCT" \
		"ipfix_active_timeout=2" "ipfix_observation_domain=4"
	kill -HUP "$DPID"
	wait_for 200 log_has 'Received SIGHUP' || fail "no reload"
	flow $ADDR6_B 7504 6000
	long_flows_done 7501
	sleep 1
	stop_nfacctd
	stop_captures
	want=$(truth "$WORK/vb.pcapng")
	decode_all "$WORK/ipfix.pcapng"
	[ -n "$(decoded $P_TCP)" ] && [ -n "$(decoded $P_NFACCT)" ] ||
		fail "not both collectors got records"
	both=$({ decoded $P_TCP; decoded $P_NFACCT; } | awk '{ k = $1 " " $2 " " $3 " " $4
		p[k] += $5; b[k] += $6 } END { for (k in p) printf "%s %.0f %.0f\n", k, p[k], b[k] }' | sort)
	same_sums "the first collector + the second" "$want" "$both"
	expect_eq "domains at nfacctd" "$(tshark -r "$WORK/ipfix.pcapng" -d udp.port==$P_NFACCT,cflow \
		-Y cflow -T fields -e cflow.od_id 2>/dev/null | sort -u | tr '\n' ' ')" "4 "
	expect_eq "sessions to the first collector" "$(ls "$WORK"/tcp.[0-9]* | wc -l)" 1
}

DEFAULT_TESTS=(test_exact test_kill_mid_export test_pressure test_collector_restart
	test_biflow test_upgrade_from_release test_stalled_collectors test_reload_collectors)

e2e_main "$@"
