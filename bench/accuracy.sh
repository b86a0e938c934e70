#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# accuracy.sh - tcploggerd against its peers on the same traffic in the
# same run: a packet capture (frame and IP bytes, the ground truth),
# conntrack with accounting, pmacctd and softflowd, all watching vB in
# namespace B, both directions at once. Three rounds, each on a fresh veth:
#   default  veth defaults: the sender's TSO/GSO on, no receiver GRO
#   off      TSO, GSO and GRO off at both ends: one packet per segment
#   gro      the sender's TSO/GSO off, GRO on at the receiver (vB)
#
#   bench/accuracy.sh BUILD_DIR OUTDIR        (as root)
#
# OUTDIR/MODE/ holds each tool's raw output and its per-flow file
# (*.flows: SRC SPORT DST DPORT PACKETS BYTES ...) and diffs.txt, every
# flow that differs from the capture; OUTDIR/accuracy.md the table for
# docs/BENCHMARKS.md; OUTDIR/accuracy-notes.md why numbers differ, with
# the evidence measured in this run. Exit status 0 when tcploggerd equals
# the capture in every flow of every round, 1 otherwise, 77 when a tool
# is missing.
#
# Traffic stays between the two namespaces of tests/e2e/lib.sh
# (198.18.0.0/30, fd00::/64); softflowd exports to loopback inside B.
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 BUILD_DIR OUTDIR" >&2
	exit 2
fi
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd) || exit 2
mkdir -p "$2" || exit 2
out=$(cd "$2" && pwd)

# CMake puts the programs at the top of the build tree; accept daemon/ and
# client/ below it as well.
find_prog() {
	local p
	for p in "$build/$1" "$build/$2/$1"; do
		[ -x "$p" ] && { echo "$p"; return 0; }
	done
	echo "$build/$1"
}
TCPLOGGERD=$(find_prog tcploggerd daemon)
TCPLOGCTL=$(find_prog tcplogctl client)
SEND=$top/bench/peers/send.py
# shellcheck source-path=SCRIPTDIR source=../tests/e2e/lib.sh
. "$top/tests/e2e/lib.sh"
# shellcheck source=peers/peers.sh
. "$top/bench/peers/peers.sh"

MODES=(default off gro)
# Fast enough to finish in seconds, slow enough that no pcap reader drops
# (with every offload off this is about 35,000 packets a second at vB).
RATE_MBIT=400
# The traffic of every round: label, server port, what A sends to B (for
# "answer": a request of A bytes that B answers with B bytes of bulk, paced
# like the others, so B's egress carries data too). The server port names
# the flow in every report (7101 + index). The answers are left out of the
# round "off": without TSO and GSO on vB, B's TCP still hands TC egress
# packets of many segments and the stack cuts them after the hook, where
# the capture taps; tcploggerd counts those packets once (and their
# segments in `segments`), the capture each segment (tests/e2e
# test_segments checks that case against the capture's frames).
FLOWS=(
	"v4-20MB 7101 bulk $ADDR4_B 20000000 $RATE_MBIT"
	"v4-1MB 7102 bulk $ADDR4_B 1000000 $RATE_MBIT"
	"v4-10KB 7103 bulk $ADDR4_B 10000 $RATE_MBIT"
	"v6-5MB 7104 bulk $ADDR6_B 5000000 $RATE_MBIT"
	"v4-small 7105 small $ADDR4_B 2000 64 300"
	"v4-short 7106 churn $ADDR4_B 200 1000"
	"v6-short 7107 churn $ADDR6_B 50 1000"
	"v4-answer 7108 answer $ADDR4_B 200 5000000"
	"v6-answer 7109 answer $ADDR6_B 4000 1000000"
)
FILLER_PORT=9   # UDP to B, nobody listens: pushes pcap buffers (see flush)
PEER_PIDS=()
declare -A PM_PID # pmacctd instance name -> pid
# The two pmacctd instances: one configured so that it keeps up, and one
# as it runs with the defaults (one hand-off per packet), to show the
# difference.
PM_NAMES=(pmacctd pmacctd-default)

die() {
	echo "accuracy: $*" >&2
	exit 1
}

# ---- peers ----------------------------------------------------------------------------

stop_peers() {
	stop_pids "${PEER_PIDS[@]}"
	PEER_PIDS=()
	PM_PID=()
}

acc_cleanup() {
	stop_peers
	cleanup
}

# start_pmacctd NAME DIR: "pmacctd" with the buffers that keep up (and so
# the filler UDP let in: below), "pmacctd-default" as it runs by default.
start_pmacctd() {
	local name=$1 log=$2/$1.log
	if [ "$name" = pmacctd ]; then
		pmacctd_start "$name" "$log" "tcp or (udp and dst port $FILLER_PORT)" \
			"${PMACCTD_BUFFERED[@]}"
	else
		pmacctd_start "$name" "$log" tcp
	fi || die "$name did not start: $(tail -n 3 "$log")"
	PM_PID[$name]=$PEER_PID
	PEER_PIDS+=("$PEER_PID")
}

# pm_received NAME DIR: packets the kernel gave pmacctd's socket (its
# SIGUSR1 statistics), then its drops.
pm_received() {
	local log=$2/$1.log n
	n=$(grep -c 'received_packets=' "$log")
	kill -USR1 "${PM_PID[$1]}"
	wait_for 200 log_count_gt "$log" "$n" 'received_packets=' || return 1
	grep 'received_packets=' "$log" | tail -n 1 |
		sed 's/.*received_packets=\([0-9]*\) dropped_packets=\([0-9]*\).*/\1 \2/'
}
log_count_gt() { [ "$(grep -c -- "$3" "$1")" -gt "$2" ]; }

# TCP packets in pmacctd's memory table.
pm_sum() {
	pmacct -p "$WORK/$1.pipe" -s -O csv |
		awk -F, '$5 == "tcp" { s += $6 } END { print s + 0 }'
}

# softflowd with every timeout a day long, so that no flow is expired (and
# so leaves the table, or is split) during the round.
start_softflowd() {
	local t timeouts=()
	for t in tcp tcp.rst tcp.fin udp icmp general maxlife expint; do
		timeouts+=(-t "$t=86400")
	done
	softflowd_start "$1/softflowd.log" -v 10 "${timeouts[@]}" ||
		die "softflowd did not start: $(tail -n 3 "$1/softflowd.log")"
	PEER_PIDS+=("$PEER_PID")
}

sf_stat() {
	softflowctl -c "$WORK/softflowd.ctl" statistics |
		awk -v k="$1" 'index($0, k) == 1 { print $NF; exit }'
}

# flush_peers DIR: makes the pcap readers account for every packet the
# kernel gave them, and writes what it took to DIR/flush.txt.
#
# softflowd opens libpcap with no timeout: libpcap 1.10 then asks for a
# TPACKET_V3 ring of 256 KiB blocks that never time out (retire_blk_tov
# UINT_MAX), so packets reach softflowd only when a block is full; the
# buffered pmacctd keeps its last buffer. Both are pushed out with UDP
# filler, which no TCP counter sees, until each has processed as many
# packets as the kernel had given it before the filler.
flush_peers() {
	local dir=$1 pm_recv pm_drop pm_before sf_recv sf_before i
	read -r pm_recv pm_drop <<<"$(pm_received pmacctd "$dir")"
	[ -n "$pm_recv" ] || die "pmacctd did not report its statistics"
	pm_before=$(pm_sum pmacctd)
	sf_recv=$(sf_stat "Packets received by libpcap:")
	sf_before=$(sf_stat "Packets processed:")
	for ((i = 0; i < 40; i++)); do
		[ "$(pm_sum pmacctd)" -ge "$pm_recv" ] &&
			[ "$(sf_stat "Packets processed:")" -ge "$sf_recv" ] && break
		in_a "$PY" "$SEND" udp "$ADDR4_B" $FILLER_PORT 200 1400
		sleep 0.1
	done
	{
		echo "pmacctd received $pm_recv dropped $pm_drop table_before $pm_before" \
			"table_after $(pm_sum pmacctd)" \
			"failed_writes $(grep -c 'Failed during write' "$dir/pmacctd.log")"
		echo "softflowd received $sf_recv processed_before $sf_before" \
			"processed_after $(sf_stat "Packets processed:")"
		echo "filler $i rounds of 200 datagrams"
	} >"$dir/flush.txt"
}

# The default pmacctd has nothing buffered in its core: its ring blocks
# time out after 1 s. Wait until its table stops growing.
settle_pmacctd_default() {
	local dir=$1 recv drop last=-1 now i
	for ((i = 0; i < 20; i++)); do
		now=$(pm_sum pmacctd-default)
		[ "$now" = "$last" ] && [ "$i" -ge 6 ] && break
		last=$now
		sleep 0.25
	done
	read -r recv drop <<<"$(pm_received pmacctd-default "$dir")"
	echo "pmacctd-default received $recv dropped $drop table $now" \
		"failed_writes $(grep -c 'Failed during write' "$dir/pmacctd-default.log")" \
		>>"$dir/flush.txt"
}

# ---- one round ---------------------------------------------------------------------------

# The pair is deleted and made again, so no offload setting or queue state
# carries over from the previous round.
fresh_link() {
	local mode=$1
	ip -n "$NS_A" link del vA 2>/dev/null
	make_veth
	case $mode in
	off)
		in_a ethtool -K vA tso off gso off gro off || return 1
		in_b ethtool -K vB tso off gso off gro off || return 1
		;;
	gro)
		in_a ethtool -K vA tso off gso off || return 1
		in_b ethtool -K vB gro on || return 1
		;;
	esac
	wait_for 200 link_up
}
link_up() {
	in_a ip link show vA | grep -q LOWER_UP &&
		in_b ip link show vB | grep -q LOWER_UP
}

# offloads NS IFACE: "tso gso gro" as ethtool reports them now.
offloads() {
	ip netns exec "$1" ethtool -k "$2" | awk '
		/^tcp-segmentation-offload:/ { t = $2 }
		/^generic-segmentation-offload:/ { s = $2 }
		/^generic-receive-offload:/ { r = $2 }
		END { print t, s, r }'
}

check_offloads() {
	local mode=$1 a b want_a want_b
	a=$(offloads "$NS_A" vA)
	b=$(offloads "$NS_B" vB)
	case $mode in
	default) want_a="on on off" want_b="on on off" ;;
	off) want_a="off off off" want_b="off off off" ;;
	gro) want_a="off off off" want_b="on on on" ;;
	esac
	OFFLOADS="vA tso/gso/gro $a, vB $b"
	if [ "$a" != "$want_a" ] || [ "$b" != "$want_b" ]; then
		die "$mode: offloads are '$OFFLOADS', want vA '$want_a', vB '$want_b'"
	fi
}

# A round starts from empty maps: the last round's program is detached and
# its pins removed before the link it counted on goes away.
drop_daemon() {
	stop_daemon
	nsb_unit "$TCPLOGGERD" --config "$CONF" --detach >/dev/null 2>&1
	rm -rf "$PIN"
	: >"$DLOG"
}

# in_round KIND: whether flows of KIND run in this round.
in_round() { [ "$1" != answer ] || [ "$ROUND" != off ]; }

start_servers() {
	local f label port kind addr
	for f in "${FLOWS[@]}"; do
		read -r label port kind addr _ <<<"$f"
		in_round "$kind" || continue
		if [ "$kind" = answer ]; then
			in_b "$PY" "$CHURN" respond "$addr" "$port" "$RATE_MBIT" &
		else
			in_b "$PY" "$CHURN" serve "$addr" "$port" &
		fi
		BG_PIDS+=($!)
		wait_listen "$port"
	done
}

# One flow after the other: the pcap readers see one flow's rate at a time.
send_traffic() {
	local f label port kind addr a b c
	for f in "${FLOWS[@]}"; do
		read -r label port kind addr a b c <<<"$f"
		in_round "$kind" || continue
		case $kind in
		bulk) in_a "$PY" "$SEND" bulk "$addr" "$port" "$a" "$b" ;;
		small) in_a "$PY" "$SEND" small "$addr" "$port" "$a" "$b" "$c" ;;
		churn) in_a "$PY" "$CHURN" churn "$addr" "$port" "$a" "$b" ;;
		answer) in_a "$PY" "$CHURN" exchange "$addr" "$port" "$a" "$b" ;;
		esac || die "$label: the sender failed"
	done
}

# ---- per-flow files: SRC SPORT DST DPORT PACKETS BYTES [...] --------------------------------

# The capture per flow and direction: frames, frame bytes, IP bytes (IPv6:
# payload length + 40), TCP payload, the payload's sequence space (what
# the application wrote, each byte once) and the retransmitted segments.
capture_table() {
	tshark -r "$1" -T fields -E separator='|' -e ip.src -e ipv6.src \
		-e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport \
		-e frame.len -e ip.len -e ipv6.plen -e tcp.len -e tcp.seq \
		-e tcp.analysis.retransmission 2>/dev/null |
		awk -F'|' '{
			src = $1 != "" ? $1 : $2; dst = $4 != "" ? $4 : $5
			iplen = $8 != "" ? $8 : $9 + 40
			k = src " " $3 " " dst " " $6
			p[k]++; b[k] += $7; ip[k] += iplen; pl[k] += $10
			# Relative sequence numbers: data starts at 1 (and the ACK
			# after a FIN is one past the data).
			if ($10 > 0 && $11 + $10 - 1 > seq[k]) seq[k] = $11 + $10 - 1
			if ($12 != "") rtx[k]++
		} END {
			for (k in p) printf "%s %.0f %.0f %.0f %.0f %.0f %.0f\n", k, p[k], b[k], ip[k], pl[k], seq[k], rtx[k]
		}' | sort
}

# "spurious N lost M": retransmissions of data B had already acknowledged,
# and gaps in a sequence (a segment lost before vB, so unseen by all).
capture_analysis() {
	tshark -r "$1" -Y 'tcp.analysis.spurious_retransmission or
		tcp.analysis.lost_segment' -T fields \
		-e tcp.analysis.spurious_retransmission \
		-e tcp.analysis.lost_segment 2>/dev/null |
		awk -F'\t' '$1 != "" { s++ } $2 != "" { l++ }
			END { print "spurious", s + 0, "lost", l + 0 }'
}

# The largest frame A sent to B: GSO and GRO packets are larger than the MTU.
capture_max_frame() {
	tshark -r "$1" -T fields -e frame.len -Y "ip.dst == $ADDR4_B" \
		2>/dev/null | sort -n | tail -n 1
}

# tcploggerd, from its dump: SRC SPORT DST DPORT PACKETS BYTES IP_BYTES
# SEGMENTS DIRECTION
ours_table() {
	jq -r '.connections[] | [.src_ip, .src_port, .dst_ip, .dst_port,
		.packets, .bytes, .ip_bytes, .segments, .direction]
		| map(tostring) | join(" ")' "$1" | sort
}

# conntrack: the original direction is A to B, the reply B to A.
conntrack_table() {
	awk '$3 == "tcp" {
		n = 0
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "src") { n++; s[n] = kv[2] }
			else if (kv[1] == "dst") d[n] = kv[2]
			else if (kv[1] == "sport") sp[n] = kv[2]
			else if (kv[1] == "dport") dp[n] = kv[2]
			else if (kv[1] == "packets") p[n] = kv[2]
			else if (kv[1] == "bytes") b[n] = kv[2]
		}
		for (i = 1; i <= 2; i++)
			if (p[i] > 0) print s[i], sp[i], d[i], dp[i], p[i], b[i]
	}' "$1" | sort
}

pmacct_table() {
	awk -F, '$5 == "tcp" { print $1, $3, $2, $4, $6, $7 }' "$1" | sort
}

# softflowd keeps both directions in one flow: ">" counts from the first
# endpoint to the second, "<" the other way.
softflowd_table() {
	awk '$1 == "ACTIVE" && $6 == "proto:6" {
		a = $3; b = $5
		sub(/^\[/, "", a); sub(/^\[/, "", b)
		split(a, x, "]:"); split(b, y, "]:")
		for (i = 7; i <= NF; i++) { split($i, kv, ":"); v[kv[1]] = kv[2] }
		if (v["packets>"] > 0)
			print x[1], x[2], y[1], y[2], v["packets>"], v["octets>"]
		if (v["packets<"] > 0)
			print y[1], y[2], x[1], x[2], v["packets<"], v["octets<"]
	}' "$1" | sort
}

# compare REF REF_PCOL REF_BCOL TOOL TOOL_PCOL TOOL_BCOL DIFFS: prints
# "FLOWS PACKETS BYTES EQUAL REF_FLOWS" for the tool's flows, and appends
# to DIFFS every flow that differs or that only one side has.
compare() {
	awk -v rp="$2" -v rb="$3" -v tp="$5" -v tb="$6" -v diffs="$7" '
		function label(sp, dp) {
			if (sp >= 7101 && sp <= 7107) return names[sp]
			if (dp >= 7101 && dp <= 7107) return names[dp]
			return "other"
		}
		BEGIN {
			split("v4-20MB v4-1MB v4-10KB v6-5MB v4-small v4-short v6-short", n, " ")
			for (i = 1; i <= 7; i++) names[7100 + i] = n[i]
		}
		FNR == NR { k = $1 " " $2 " " $3 " " $4; R[k] = 1; RP[k] = $rp; RB[k] = $rb; nref++; next }
		{
			k = $1 " " $2 " " $3 " " $4; T[k] = 1
			flows++; packets += $tp; bytes += $tb
			if (!(k in R))
				printf "%s %s: not in the capture (%d packets, %d bytes)\n", label($2, $4), k, $tp, $tb >>diffs
			else if ($tp == RP[k] && $tb == RB[k])
				equal++
			else
				printf "%s %s: packets %d vs %d (%+d), bytes %d vs %d (%+d)\n", label($2, $4), k, $tp, RP[k], $tp - RP[k], $tb, RB[k], $tb - RB[k] >>diffs
		}
		END {
			for (k in R) if (!(k in T)) {
				split(k, f, " ")
				printf "%s %s: missing (capture: %d packets, %d bytes)\n", label(f[2], f[4]), k, RP[k], RB[k] >>diffs
			}
			print flows + 0, packets + 0, bytes + 0, equal + 0, nref + 0
		}' "$1" "$4"
}

# ---- one round, end to end ----------------------------------------------------------------------

run_mode() {
	local mode=$1 dir=$out/$1 t0 name
	ROUND=$mode
	mkdir -p "$dir"
	rm -f "$dir"/*
	echo "# $mode"
	drop_daemon
	fresh_link "$mode" || die "$mode: cannot set up vA/vB"
	check_offloads "$mode"
	in_b conntrack -F >/dev/null 2>&1
	start_daemon "$TCPLOGGERD" || die "tcploggerd did not start: $(tail -n 5 "$DLOG")"
	capture_start "$NS_B" vB "$dir/capture.pcapng"
	for name in "${PM_NAMES[@]}"; do
		start_pmacctd "$name" "$dir"
	done
	start_softflowd "$dir"
	start_servers
	t0=$(date +%s%N)
	send_traffic
	say "traffic sent in $((($(date +%s%N) - t0) / 1000000)) ms"
	stop_captures
	stop_background

	# Everything is read before the filler: it is not TCP, but it is
	# traffic all the same.
	ctl --json dump >"$dir/tcploggerd.json"
	in_b conntrack -L -o extended >"$dir/conntrack.txt" 2>/dev/null
	flush_peers "$dir"
	settle_pmacctd_default "$dir"
	for name in "${PM_NAMES[@]}"; do
		pmacct -p "$WORK/$name.pipe" -s -O csv >"$dir/$name.csv"
	done
	softflowctl -c "$WORK/softflowd.ctl" dump-flows >"$dir/softflowd.txt"
	softflowctl -c "$WORK/softflowd.ctl" statistics >"$dir/softflowd-stats.txt"
	stop_peers
	stop_daemon

	capture_table "$dir/capture.pcapng" >"$dir/capture.flows"
	ours_table "$dir/tcploggerd.json" >"$dir/tcploggerd.flows"
	conntrack_table "$dir/conntrack.txt" >"$dir/conntrack.flows"
	for name in "${PM_NAMES[@]}"; do
		pmacct_table "$dir/$name.csv" >"$dir/$name.flows"
	done
	softflowd_table "$dir/softflowd.txt" >"$dir/softflowd.flows"
	report_mode "$mode" "$dir"
}

# ---- reports -------------------------------------------------------------------------------------

OURS_OK=1

# row TOOL COUNTERS "FLOWS PACKETS BYTES EQUAL REF" [ref]
row() {
	local flows packets bytes equal ref
	read -r flows packets bytes equal ref <<<"$3"
	if [ "${4:-}" = ref ]; then
		printf '| %s | %s | %s | %d | %d | %d | reference |\n' \
			"$MODE" "$1" "$2" "$flows" "$packets" "$bytes"
	else
		printf '| %s | %s | %s | %d | %d | %d | %d / %d |\n' \
			"$MODE" "$1" "$2" "$flows" "$packets" "$bytes" "$equal" "$ref"
	fi
}

# The traffic was what it should be: per server port, the connections and
# the TCP payload A sent to B in the capture against what the senders
# wrote. Prints "yes" or the ports that differ.
check_payloads() {
	local f label port kind addr a b want=""
	for f in "${FLOWS[@]}"; do
		read -r label port kind addr a b _ <<<"$f"
		in_round "$kind" || continue
		case $kind in
		bulk) want+="$port 1 $a"$'\n' ;;
		small) want+="$port 1 $((a * b))"$'\n' ;;
		churn) want+="$port $a $((a * b))"$'\n' ;;
		answer) want+="$port 1 $a"$'\n' ;;
		esac
	done
	awk -v want="$want" '
		BEGIN { n = split(want, w, "\n"); for (i = 1; i <= n; i++) if (w[i] != "") { split(w[i], x, " "); W[x[1]] = x[2] " " x[3] } }
		$4 in W { c[$4]++; p[$4] += $9 }
		END {
			bad = ""
			for (k in W) if (c[k] " " p[k] != W[k]) bad = bad " " k ": " c[k] + 0 " connections " p[k] + 0 " bytes, want " W[k] ";"
			print bad == "" ? "yes" : "no" bad
		}' "$1"
}

# vs TITLE REF_BCOL TOOL TOOL_BCOL: compares a tool with the capture (its
# packets with the frames, its bytes with column REF_BCOL) into diffs.txt.
vs() {
	echo "## $1" >>"$DIR/diffs.txt"
	compare "$DIR/capture.flows" 5 "$2" "$DIR/$3.flows" 5 "$4" "$DIR/diffs.txt"
}

report_mode() {
	local mode=$1 s flows equal ref cap_b cap_ip ours_b ours_ip ct pm pmd sf \
		maxf pkts segs d_cap
	MODE=$mode DIR=$2 ROUND=$mode
	: >"$DIR/diffs.txt"
	cap_b=$(awk '{ f++; p += $5; b += $6 } END { print f, p, b, f, f }' "$DIR/capture.flows")
	cap_ip=$(awk '{ f++; p += $5; b += $7 } END { print f, p, b, f, f }' "$DIR/capture.flows")
	ours_b=$(vs "tcploggerd bytes vs frame bytes" 6 tcploggerd 6)
	ours_ip=$(vs "tcploggerd ip_bytes vs IP bytes" 7 tcploggerd 7)
	ct=$(vs "conntrack vs IP bytes" 7 conntrack 6)
	pm=$(vs "pmacctd (10 KiB buffers) vs IP bytes" 7 pmacctd 6)
	pmd=$(vs "pmacctd (default buffer) vs IP bytes" 7 pmacctd-default 6)
	sf=$(vs "softflowd vs IP bytes" 7 softflowd 6)

	# tcploggerd must equal the capture in every flow, no flow more or less.
	for s in "$ours_b" "$ours_ip"; do
		read -r flows _ _ equal ref <<<"$s"
		if [ "$flows" != "$ref" ] || [ "$equal" != "$ref" ]; then
			OURS_OK=0
		fi
	done

	{
		row "capture (dumpcap)" "frames, frame.len" "$cap_b" ref
		row "**tcploggerd**" "packets, bytes" "$ours_b"
		row "capture (dumpcap)" "frames, IP length" "$cap_ip" ref
		row "**tcploggerd**" "packets, ip_bytes" "$ours_ip"
		row "conntrack (acct)" "packets, bytes" "$ct"
		row "pmacctd 1.7.7, 10 KiB plugin buffers" "packets, bytes" "$pm"
		row "pmacctd 1.7.7, default plugin buffer" "packets, bytes" "$pmd"
		row "softflowd 1.1.0" "packets, octets" "$sf"
	} >"$DIR/table.md"

	d_cap=$(sed -n 's/.*received\/dropped on interface .vB.: [0-9]*\/\([0-9]*\).*/\1/p' \
		"$DIR/capture.pcapng.log")
	maxf=$(capture_max_frame "$DIR/capture.pcapng")
	read -r pkts segs <<<"$(awk '$9 == "ingress" { p += $5; s += $8 }
		END { print p + 0, s + 0 }' "$DIR/tcploggerd.flows")"
	{
		echo "offloads $OFFLOADS"
		echo "largest_frame_a_to_b $maxf"
		echo "a_to_b_packets $pkts segments $segs"
		echo "payload_exact $(check_payloads "$DIR/capture.flows")"
		echo "retransmitted $(awk '{ s += $10 } END { print s + 0 }' "$DIR/capture.flows")" \
			"$(capture_analysis "$DIR/capture.pcapng")"
		echo "conntrack_states $(awk '$3 == "tcp" { print $6 }' "$DIR/conntrack.txt" |
			sort | uniq -c | awk '{ printf "%s%s=%s", (NR > 1 ? "," : ""), $2, $1 }')" \
			"time_wait_timeout $(in_b sysctl -n net.netfilter.nf_conntrack_tcp_timeout_time_wait)"
		echo "drops dumpcap $d_cap" \
			"pmacctd $(awk '$1 == "pmacctd" { print $5 }' "$DIR/flush.txt")" \
			"pmacctd-default $(awk '$1 == "pmacctd-default" { print $5 }' "$DIR/flush.txt")" \
			"softflowd $(awk -F': ' '/dropped by libpcap/ { print $2 }' "$DIR/softflowd-stats.txt")" \
			"softflowd_if $(awk -F': ' '/dropped by interface/ { print $2 }' "$DIR/softflowd-stats.txt")"
		cat "$DIR/flush.txt"
	} >"$DIR/facts.txt"
	cat "$DIR/table.md"
	sed 's/^/    /' "$DIR/facts.txt"
	if grep -qv '^##' "$DIR/diffs.txt"; then
		say "flows that differ from the capture, per tool (first 3 each; all in $DIR/diffs.txt):"
		awk '/^##/ { t = $0; n = 0; next } ++n <= 3 { print "      " t ": " $0 }' \
			"$DIR/diffs.txt"
	fi
}

# fact MODE KEY [FIELD]: a value from MODE's facts.txt (FIELD counts from
# the key, 2 = the first value; "2-" = the first value to the end).
fact() {
	awk -v k="$2" -v f="${3:-2}" '$1 == k {
		n = f + 0; s = $n
		if (f ~ /-$/) for (i = n + 1; i <= NF; i++) s = s " " $i
		print s; exit
	}' "$out/$1/facts.txt"
}

# diff_summary MODE TITLE: the differences of one comparison in diffs.txt,
# "N flows differ (packets +P, bytes +B)" or "every flow equal".
diff_summary() {
	awk -v t="## $2" '
		/^##/ { on = index($0, t) == 1; next }
		!on { next }
		$6 == "packets" { n++; p += $7 - $9; b += $12 - $14; next }
		{ n++; other++ }
		END {
			if (!n) { printf "every flow equal"; exit }
			printf "%d flows differ (packets %+d, bytes %+d", n, p, b
			if (other) printf "; %d flows seen by one side only", other
			printf ")"
		}' "$out/$1/diffs.txt"
}

write_summary() {
	local mode
	{
		echo "## Accuracy against peers (same traffic, same run)"
		echo
		echo "Reproduce (as root): \`bench/accuracy.sh BUILD_DIR OUTDIR\`"
		echo
		echo "tcplogger $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?'),"\
			"$(date -u +%Y-%m-%d), kernel $(uname -r). Every tool watches vB in namespace B,"
		echo "both directions, during the same traffic from A: IPv4 20 MB, 1 MB, 10 KB and IPv6"
		echo "5 MB (exact payloads, paced at $RATE_MBIT Mbit/s), 2,000 writes of 64 bytes with"
		echo "TCP_NODELAY, 200 short IPv4 and 50 short IPv6 connections of 1,000 bytes, and two"
		echo "requests that B answers with 5 MB (IPv4) and 1 MB (IPv6), paced alike. Modes:"
		echo "\`default\` (veth defaults: sender TSO/GSO on, receiver GRO off), \`off\` (TSO, GSO,"
		echo "GRO off at both ends), \`gro\` (sender TSO/GSO off, GRO on at vB). Sums over all"
		echo "flows, both directions; a flow (4-tuple and direction) is equal when its packets"
		echo "and bytes both equal the capture's. Why anything differs: accuracy-notes.md."
		echo
		echo "| mode | tool | counters | flows | packets | bytes | flows equal to the capture |"
		echo "|---|---|---|---:|---:|---:|---:|"
		for mode in "${MODES[@]}"; do
			cat "$out/$mode/table.md"
		done
		echo
		for mode in "${MODES[@]}"; do
			# shellcheck disable=SC2016 # Markdown backquotes
			printf -- '- `%s`: largest frame A to B %s bytes; A to B %s packets carrying %s segments; pcap drops: dumpcap %s, pmacctd %s and %s, softflowd %s.\n' \
				"$mode" "$(fact "$mode" largest_frame_a_to_b)" \
				"$(fact "$mode" a_to_b_packets)" "$(fact "$mode" a_to_b_packets 4)" \
				"$(fact "$mode" drops 3)" "$(fact "$mode" drops 5)" \
				"$(fact "$mode" drops 7)" "$(fact "$mode" drops 9)"
		done
		echo
		if [ "$OURS_OK" = 1 ]; then
			echo "tcploggerd equals the capture in every flow of every mode, in packets, bytes and ip_bytes."
		else
			echo "**tcploggerd differs from the capture**: see MODE/diffs.txt."
		fi
	} >"$out/accuracy.md"
}

write_notes() {
	local mode frames ipb fb recv tab fail
	{
		echo "## Why the numbers differ (or do not)"
		echo
		echo "Measured in this run; per-flow differences in MODE/diffs.txt."
		echo
		echo "- **The traffic is exact**: per server port, the connections and the TCP payload"
		echo "  A sent to B (its sequence space) in the capture equal what the senders wrote:"
		echo "  $(
			for mode in "${MODES[@]}"; do
				printf '%s %s; ' "$mode" "$(fact "$mode" payload_exact 2-)"
			done | sed 's/; $//'). Packet counts still vary from run to run, mostly"
		echo "  in the ACKs B sends (delayed ACKs) and in retransmissions, which every tool"
		echo "  sees and counts like any other packet: retransmitted segments $(
			for mode in "${MODES[@]}"; do
				printf '%s %s (%s spurious), ' "$mode" "$(fact "$mode" retransmitted)" \
					"$(fact "$mode" retransmitted 4)"
			done | sed 's/, $//'). No segment was lost before vB (no sequence gap in"
		echo "  the capture: $(
			for mode in "${MODES[@]}"; do
				printf '%s %s, ' "$mode" "$(fact "$mode" retransmitted 6)"
			done | sed 's/, $//')): what one tool saw, all saw."
		echo "- **tcploggerd against the capture**: $(
			for mode in "${MODES[@]}"; do
				printf '%s: %s; ' "$mode" "$(diff_summary "$mode" "tcploggerd bytes")"
			done)ip_bytes: $(
			for mode in "${MODES[@]}"; do
				printf '%s: %s; ' "$mode" "$(diff_summary "$mode" "tcploggerd ip_bytes")"
			done | sed 's/; $//')."
		echo "- **Frame bytes against IP bytes**: the difference is the 14-byte Ethernet"
		echo "  header of every packet: $(
			for mode in "${MODES[@]}"; do
				frames=$(awk '{ s += $5 } END { print s }' "$out/$mode/capture.flows")
				fb=$(awk '{ s += $6 } END { print s }' "$out/$mode/capture.flows")
				ipb=$(awk '{ s += $7 } END { print s }' "$out/$mode/capture.flows")
				printf '%s %d - %d = %d = 14 x %d; ' "$mode" "$fb" "$ipb" $((fb - ipb)) "$frames"
			done | sed 's/; $//')."
		echo "- **Packets change with the mode, never between tools**: a GSO packet (sender"
		echo "  TSO/GSO on) crosses the veth whole, and GRO at vB merges segments before the"
		echo "  taps, the TC hook and conntrack's PREROUTING hook; every tool sees the same"
		echo "  packets and counts each once. A to B: $(
			for mode in "${MODES[@]}"; do
				printf '%s %s packets carrying %s segments, largest frame %s bytes; ' "$mode" \
					"$(fact "$mode" a_to_b_packets)" "$(fact "$mode" a_to_b_packets 4)" \
					"$(fact "$mode" largest_frame_a_to_b)"
			done | sed 's/; $//')."
		echo "- **conntrack** (nf_conntrack_acct=1, orig = A to B, reply = B to A): $(
			for mode in "${MODES[@]}"; do
				printf '%s: %s; ' "$mode" "$(diff_summary "$mode" "conntrack")"
			done | sed 's/; $//'). It counts IP length (IPv6: payload length + 40),"
		echo "  the first SYN included (it creates the entry). Closed connections stay listed"
		echo "  in TIME_WAIT for nf_conntrack_tcp_timeout_time_wait, longer than a round, so"
		echo "  none is missing when it is read: $(
			for mode in "${MODES[@]}"; do
				printf '%s states %s, timeout %s s; ' "$mode" \
					"$(fact "$mode" conntrack_states)" "$(fact "$mode" conntrack_states 4)"
			done | sed 's/; $//')."
		echo "- **softflowd 1.1.0**: $(
			for mode in "${MODES[@]}"; do
				printf '%s: %s; ' "$mode" "$(diff_summary "$mode" "softflowd")"
			done | sed 's/; $//'). It counts IP length (IPv6: payload length + 40), one"
		echo "  bidirectional flow per connection, split here into its two directions."
		echo "  It opens libpcap with no timeout, so libpcap 1.10 asks for a TPACKET_V3 ring of"
		echo "  256 KiB blocks that never time out (tp_retire_blk_tov = UINT_MAX; gdb on its"
		echo "  setsockopt(PACKET_RX_RING) showed block 262144 x 8, tov 4294967295, when this"
		echo "  script was written; pmacctd's shows tov 1000 ms): packets reach"
		echo "  softflowd only when a block fills. When the traffic ended it had processed: $(
			for mode in "${MODES[@]}"; do
				printf '%s %s of %s; ' "$mode" \
					"$(awk '$1 == "softflowd" { print $5 }' "$out/$mode/flush.txt")" \
					"$(awk '$1 == "softflowd" { print $3 }' "$out/$mode/flush.txt")"
			done | sed 's/; $//'). UDP"
		echo "  filler (not TCP, so no TCP counter sees it) fills the block; then every packet"
		echo "  is processed and the numbers above are equal. Flows are kept in its table:"
		echo "  every timeout is set to a day (-t), so none is expired or exported."
		echo "- **pmacctd 1.7.7 with the default plugin buffer** loses records: the core hands"
		echo "  each packet to the memory plugin with one write on a non-blocking socket pair;"
		echo "  when the plugin falls behind the write fails with EAGAIN (\"Failed during"
		echo "  write: Resource temporarily unavailable\" in its log) and that record is gone,"
		echo "  while the kernel dropped nothing. Lost = failed writes, exactly: $(
			for mode in "${MODES[@]}"; do
				read -r _ _ recv _ _ _ tab _ fail <<<"$(awk '$1 == "pmacctd-default"' "$out/$mode/flush.txt")"
				printf '%s %d received - %d in the table = %d, %d failed writes; ' \
					"$mode" "$recv" "$tab" $((recv - tab)) "$fail"
			done | sed 's/; $//')."
		echo "- **pmacctd with plugin_buffer_size 10240 and plugin_pipe_size 10240000** (one"
		echo "  hand-off per 10 KiB of records) keeps up: failed writes $(
			for mode in "${MODES[@]}"; do
				printf '%s %s, ' "$mode" "$(awk '$1 == "pmacctd" { print $11 }' "$out/$mode/flush.txt")"
			done | sed 's/, $//'). Right after the traffic its table"
		echo "  held $(
			for mode in "${MODES[@]}"; do
				printf '%s %s of %s; ' "$mode" \
					"$(awk '$1 == "pmacctd" { print $7 }' "$out/$mode/flush.txt")" \
					"$(awk '$1 == "pmacctd" { print $3 }' "$out/$mode/flush.txt")"
			done | sed 's/; $//') packets: the rest were in the pcap"
		echo "  ring (its blocks time out after 1 s) and in the last, partly filled buffer,"
		echo "  which stays in the core until more packets fill it (the core flushes only on"
		echo "  exit, and exit loses the memory table); its pcap filter lets the UDP filler in"
		echo "  for that. Then: $(
			for mode in "${MODES[@]}"; do
				printf '%s: %s; ' "$mode" "$(diff_summary "$mode" "pmacctd (10 KiB")"
			done | sed 's/; $//'). Bytes are the IP length (IPv6: payload length + 40)."
		echo "- **No reader dropped a packet** (kernel drop counters): $(
			for mode in "${MODES[@]}"; do
				printf '%s: dumpcap %s, pmacctd %s and %s, softflowd %s; ' "$mode" \
					"$(fact "$mode" drops 3)" "$(fact "$mode" drops 5)" \
					"$(fact "$mode" drops 7)" "$(fact "$mode" drops 9)"
			done | sed 's/; $//'). Senders are paced at $RATE_MBIT Mbit/s"
		echo "  (SO_MAX_PACING_RATE) and run one after the other."
	} >"$out/accuracy-notes.md"
}

# ---- main -----------------------------------------------------------------------------------------

e2e_require
for tool in conntrack nft pmacctd pmacct softflowd softflowctl; do
	command -v "$tool" >/dev/null 2>&1 || skip_all "missing tool: $tool"
done
if [ ! -x "$TCPLOGGERD" ] || [ ! -x "$TCPLOGCTL" ]; then
	skip_all "no tcploggerd/tcplogctl in $build"
fi
trap acc_cleanup EXIT
trap 'exit 130' INT TERM
start_s=$(date +%s)
setup_net
write_conf "directions=ingress egress" "closed_timeout=600" "idle_timeout=600"
conntrack_on tlacc || die "no conntrack accounting, or cannot load the nft table"

for m in "${MODES[@]}"; do
	run_mode "$m"
done
write_summary
write_notes
echo "wrote $out/accuracy.md and accuracy-notes.md in $(($(date +%s) - start_s)) s"
[ "$OURS_OK" = 1 ]
