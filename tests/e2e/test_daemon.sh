#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# test_daemon.sh - tcploggerd end to end: real traffic between two network
# namespaces, counts compared with packet captures of the same interface.
#
#   test_daemon.sh TCPLOGGERD TCPLOGGERD_UPGRADE TCPLOGCTL FOREIGN NOTIFYD
#                  [TEST...]
#
# TCPLOGGERD_UPGRADE is the daemon built with a different program (the
# copying parser forced on), for the upgrade test; TCPLOGCTL reads the
# counts through the daemon's socket; FOREIGN puts somebody else's program on a hook; NOTIFYD plays
# systemd's notification socket.
set -u

TCPLOGGERD=$1
TCPLOGGERD_UPGRADE=$2
TCPLOGCTL=$3
FOREIGN=$4
NOTIFYD=$5
shift 5
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# 1. Several flows of exact sizes at once, IPv4 and IPv6: uploads to B, and
# requests that B answers with bulk data (TSO packets on B's egress), of
# several sizes; both hooks, every field against the capture.
test_exact_flows() {
	write_conf "directions=ingress egress"
	start_daemon || return
	capture_start "$NS_B" vB "$WORK/b.pcapng"
	responder $ADDR4_B 5010
	responder $ADDR6_B 5011
	local pids=() ex
	flow $ADDR4_B 5001 1000000 &
	pids+=($!)
	flow $ADDR4_B 5002 12345 &
	pids+=($!)
	flow $ADDR6_B 5003 777777 &
	pids+=($!)
	flow $ADDR6_B 5004 1 &
	pids+=($!)
	for ex in "$ADDR4_B 5010 300 2000000" "$ADDR4_B 5010 70000 5" \
		"$ADDR4_B 5010 8 1" "$ADDR6_B 5011 4000 900000" \
		"$ADDR6_B 5011 1500 1448"; do
		# shellcheck disable=SC2086
		in_a "$PY" "$CHURN" exchange $ex &
		pids+=($!)
	done
	for ex in "${pids[@]}"; do
		wait "$ex" || fail "a flow or an exchange failed"
	done
	stop_captures
	expect_same_flows "$WORK/b.pcapng" ingress $ADDR4_B
	expect_same_flows "$WORK/b.pcapng" ingress $ADDR6_B
	expect_same_flows "$WORK/b.pcapng" egress $ADDR4_B
	expect_same_flows "$WORK/b.pcapng" egress $ADDR6_B
	# Every TCP frame through vB was counted in exactly one entry.
	expect_eq "counted packets" "$(our_stat counted)" \
		"$(capture_frames "$WORK/b.pcapng")"
	expect_eq "failed inserts" "$(our_stat insert_failed_full)" 0
	expect_fields "$WORK/b.pcapng" $ADDR4_B
	expect_fields "$WORK/b.pcapng" $ADDR6_B
}

# segs_of DIR: "SRC SPORT DST DPORT SEGMENTS" of our entries of one direction.
segs_of() {
	ctl --json dump | jq -r --arg d "$1" '.connections[] | select(.direction
		== $d) | [.src_ip, .src_port, .dst_ip, .dst_port, .segments]
		| map(tostring) | join(" ")' | sort
}

# 1b. Segments with offloads as hosts have them. Ingress: A sends with its
# offloads off (one frame per segment: A's capture is the ground truth)
# and B merges with GRO, so the hook sees fewer, larger packets. Egress:
# B answers with TSO on, the hook sees packets of many segments; the
# ground truth is the capture's payload cut at the MSS of the handshake
# (tests/e2e/segments.py). IPv4 and IPv6.
test_segments() {
	write_conf "directions=ingress egress"
	in_a ethtool -K vA tso off gso off >/dev/null
	in_b ethtool -K vB gro on >/dev/null
	start_daemon || return
	capture_start "$NS_A" vA "$WORK/a.pcapng"
	capture_start "$NS_B" vB "$WORK/b.pcapng"
	responder $ADDR4_B 5013
	responder $ADDR6_B 5014
	flow $ADDR4_B 5011 3000000
	flow $ADDR6_B 5012 2000000
	in_a "$PY" "$CHURN" exchange $ADDR4_B 5013 100 3000000 || fail "exchange v4"
	in_a "$PY" "$CHURN" exchange $ADDR6_B 5014 100 2000000 || fail "exchange v6"
	stop_captures
	in_a ethtool -K vA tso on gso on >/dev/null
	in_b ethtool -K vB gro off >/dev/null
	local h want got merged
	for h in $ADDR4_B $ADDR6_B; do
		expect_same_flows "$WORK/b.pcapng" ingress $h
		expect_same_flows "$WORK/b.pcapng" egress $h
	done
	# Ingress: A's frames, one per segment.
	want=$(capture_flows "$WORK/a.pcapng" | awk '$4 == 5011 || $4 == 5012 ||
		$4 == 5013 || $4 == 5014 { print $1, $2, $3, $4, $5 }' | sort)
	got=$(segs_of ingress)
	same_flows "ingress segments = the sender's frames" \
		"src sport dst dport segments" "$want" "$got"
	merged=$(capture_flows "$WORK/b.pcapng" | awk '$4 == 5011 { print $5 }')
	[ "$merged" -lt "$(capture_flows "$WORK/a.pcapng" | awk '$4 == 5011 { print $5 }')" ] ||
		fail "GRO merged nothing: the ingress check proved little"
	# Egress: the TSO packets' segments from the capture of B's hook.
	want=$("$PY" "$(dirname "$0")/segments.py" "$WORK/b.pcapng" |
		awk '$2 == 5011 || $2 == 5012 || $2 == 5013 || $2 == 5014' | sort)
	got=$(segs_of egress)
	same_flows "egress segments = payload / MSS of the capture" \
		"src sport dst dport segments" "$want" "$got"
	[ "$(capture_flows "$WORK/b.pcapng" | awk '$2 == 5013 { print $5 }')" -lt \
		"$(echo "$got" | awk '$2 == 5013 { print $5 }')" ] ||
		fail "no TSO packet on egress: the egress check proved little"

	# Software GSO: without TSO and GSO on vB, B's TCP still hands TC
	# egress packets of many segments, and the stack cuts them after the
	# hook, where the capture taps: our segments equal the captured frames,
	# while packets count what the hook saw (docs/REFERENCE.md).
	in_b ethtool -K vB tso off gso off >/dev/null
	capture_start "$NS_B" vB "$WORK/sw.pcapng"
	in_a "$PY" "$CHURN" exchange $ADDR4_B 5013 100 1000000 || fail "exchange (software GSO)"
	stop_captures
	in_b ethtool -K vB tso on gso on >/dev/null
	want=$(capture_flows "$WORK/sw.pcapng" | awk '$2 == 5013 { print $1, $2, $3, $4, $5 }')
	got=$(ctl --json dump | jq -r --arg p "$(echo "$want" | awk '{ print $4 }')" \
		'.connections[] | select(.direction == "egress" and .src_port == 5013 and
		(.dst_port | tostring) == $p) | "\(.src_ip) \(.src_port) \(.dst_ip) \(.dst_port) \(.segments) \(.packets)"')
	expect_eq "software GSO: segments = captured frames" "${got% *}" "$want"
	[ "${got##* }" -lt "$(echo "$want" | awk '{ print $5 }')" ] ||
		fail "software GSO: no packet of several segments at the hook ($got)"
	say "software GSO: ${want##* } frames captured = segments; ${got##* } packets at the hook"
}

# restart SIGNAL [BINARY]: stops the daemon with SIGNAL and starts BINARY;
# RESTART_MS is the time from the signal to the new daemon's READY.
restart() {
	local sig=$1 bin=${2:-$TCPLOGGERD} t0
	t0=$(date +%s%N)
	stop_daemon "$sig"
	cat "$DLOG" >>"$DLOG.prev"
	: >"$DLOG"
	start_daemon "$bin" || return 1
	RESTART_MS=$((($(date +%s%N) - t0) / 1000000))
}

# 2. Restarts while a flow runs: SIGTERM then start, SIGKILL then start.
test_restart_under_load() {
	write_conf "directions=ingress egress"
	start_daemon || return
	capture_start "$NS_B" vB "$WORK/b.pcapng"
	slow_flow $ADDR4_B 5021 600 &
	BG_PIDS+=($!)
	sleep 1
	local term kill
	restart TERM || return
	term=$RESTART_MS
	grep -q 'Adopted the pinned maps' "$DLOG" ||
		fail "the daemon restarted after SIGTERM did not adopt the maps"
	sleep 1
	restart KILL || return
	kill=$RESTART_MS
	wait "${BG_PIDS[@]}"
	BG_PIDS=()
	stop_captures
	grep -q 'Adopted the pinned maps' "$DLOG" ||
		fail "the daemon restarted after SIGKILL did not adopt the maps"
	expect_same_flows "$WORK/b.pcapng" ingress $ADDR4_B
	expect_same_flows "$WORK/b.pcapng" egress $ADDR4_B
	say "restart gaps (signal to READY): SIGTERM ${term} ms, SIGKILL ${kill} ms"
}

# Our connection map's id, while it is pinned.
map_id() { bpftool map show pinned "$(pin_layout)/conns" -j 2>/dev/null | jq -r .id; }

# The ingress programs that use map MAP_ID (default: ours now): only this
# run's, whatever else runs on the machine.
prog_ids() {
	local id=${1:-$(map_id)}
	[ -n "$id" ] || return 0
	bpftool prog show -j 2>/dev/null | jq -r --argjson m "$id" \
		'.[] | select(.name == "tcplog_ingress" and
			((.map_ids // []) | index($m))) | .id' | sort
}

# 3. Upgrade: restart with a different program; the counters continue and
# the program is swapped in place (link update, filter replace).
upgrade_case() {
	write_conf "attach_mode=$1"
	start_daemon || return
	capture_start "$NS_B" vB "$WORK/b.pcapng"
	flow $ADDR4_B 5031 200000
	local before after x1 x2
	before=$(prog_ids)
	x1=$(bpftool prog dump xlated id "$before" 2>/dev/null | md5sum)
	restart TERM "$TCPLOGGERD_UPGRADE" || return
	after=$(prog_ids)
	x2=$(bpftool prog dump xlated id "$after" 2>/dev/null | md5sum)
	flow $ADDR4_B 5032 300000
	stop_captures
	grep -q 'Adopted and updated ingress' "$DLOG" ||
		fail "the new daemon did not update the attachment"
	# Exactly one program each time: the old one is gone, not leaked.
	[ "$(printf '%s\n' "$before" | wc -w)" = 1 ] &&
		[ "$(printf '%s\n' "$after" | wc -w)" = 1 ] &&
		[ "$before" != "$after" ] ||
		fail "program ids before '$before' and after '$after'"
	[ "$x1" != "$x2" ] || fail "the upgrade program is not different"
	expect_same_flows "$WORK/b.pcapng" ingress $ADDR4_B
	say "$1: program $before replaced by $after in place"
}

test_upgrade_tcx() { upgrade_case tcx; }
test_upgrade_tc() { upgrade_case tc; }

# Incompatible pinned maps (here: another capacity) are replaced, with a
# log line saying what was dropped; counting goes on in the new map.
test_incompatible_maps() {
	write_conf "max_connections=1000"
	start_daemon || return
	flow $ADDR4_B 5081 5000
	stop_daemon TERM
	write_conf "max_connections=2000"
	capture_start "$NS_B" vB "$WORK/b.pcapng"
	start_daemon || return
	flow $ADDR4_B 5082 7000
	stop_captures
	grep -q "Replacing the pinned map $(pin_layout)/conns: capacity (max_connections) differs (1000 -> 2000 entries); dropping 1 entries" "$DLOG" ||
		fail "no log line for the dropped map"
	expect_same_flows "$WORK/b.pcapng" ingress $ADDR4_B
}

# A restart with another attach_mode moves the attachment: never both.
test_mode_switch() {
	write_conf "attach_mode=tc"
	start_daemon || return
	capture_start "$NS_B" vB "$WORK/b.pcapng"
	flow $ADDR4_B 5101 40000
	stop_daemon TERM
	write_conf "attach_mode=tcx"
	start_daemon || return
	flow $ADDR4_B 5102 40000
	stop_captures
	in_b tc filter show dev vB ingress | grep -q . &&
		fail "the tc filter is still there"
	[ ! -e "$(pin_layout)/att/tc:ingress:vB" ] || fail "the tc record is still there"
	[ -e "$(pin_layout)/att/tcx:ingress:vB" ] || fail "no TCX link"
	expect_same_flows "$WORK/b.pcapng" ingress $ADDR4_B
}

# Our program runs first on the hook: a program that drops everything,
# attached before we start, cannot hide those packets from us.
drop_case() {
	nsb "$FOREIGN" attach-drop "$1" vB ingress "$PIN-foreign" ||
		{ fail "cannot attach the dropping program"; return; }
	write_conf "attach_mode=$1"
	start_daemon || return
	capture_start "$NS_B" vB "$WORK/b.pcapng"
	in_b timeout 5 nc -l $ADDR4_B 5091 >/dev/null &
	BG_PIDS+=($!)
	wait_listen 5091
	# Every SYN is dropped at B's ingress: the connection times out.
	in_a timeout 3 nc -w 2 $ADDR4_B 5091 </dev/null
	stop_captures
	expect_same_flows "$WORK/b.pcapng" ingress $ADDR4_B
	local seen
	seen=$("$FOREIGN" count "$PIN-foreign")
	[ "$seen" -ge 1 ] || fail "the dropping program saw nothing"
	nsb "$FOREIGN" detach "$1" vB ingress "$PIN-foreign"
	rm -rf "$PIN-foreign"
	in_b tc qdisc del dev vB clsact 2>/dev/null
	true
}

test_first_on_hook_tcx() { drop_case tcx; }
test_first_on_hook_tc() { drop_case tc; }

# 4. A foreign program on the hook keeps running and survives our stop and
# --detach, in both attach modes.
foreign_case() {
	local mode=$1
	nsb "$FOREIGN" attach "$mode" vB ingress "$PIN-foreign" ||
		{ fail "cannot attach the foreign program"; return; }
	write_conf "attach_mode=$mode"
	start_daemon || return
	capture_start "$NS_B" vB "$WORK/b.pcapng"
	flow $ADDR4_B 5041 100000
	stop_daemon TERM
	flow $ADDR4_B 5042 50000 # counted while the daemon is stopped
	stop_captures
	start_daemon || return
	expect_same_flows "$WORK/b.pcapng" ingress $ADDR4_B
	stop_daemon TERM
	local n1 n2
	n1=$("$FOREIGN" count "$PIN-foreign")
	[ "$n1" -gt 0 ] || fail "the foreign program saw no packet"
	local mid
	mid=$(map_id)
	[ -n "$mid" ] || fail "cannot find our map's id"
	nsb_unit "$TCPLOGGERD" --config "$CONF" --detach >>"$DLOG" 2>&1 ||
		fail "--detach failed"
	[ ! -e "$(pin_layout)" ] || fail "pins left after --detach: $(ls -R "$PIN")"
	flow $ADDR4_B 5043 1000
	n2=$("$FOREIGN" count "$PIN-foreign")
	[ "$n2" -gt "$n1" ] || fail "the foreign program stopped running ($n1 -> $n2)"
	if [ "$mode" = tc ]; then
		in_b tc filter show dev vB ingress | grep -q 'pref 50 ' ||
			fail "the foreign filter is gone"
		in_b tc filter show dev vB ingress | grep -q 'pref 1 ' &&
			fail "our filter is still there"
		in_b tc qdisc show dev vB | grep -q clsact ||
			fail "the clsact qdisc (not ours) was removed"
	fi
	[ -z "$(prog_ids "$mid")" ] || fail "our program is still loaded: $(prog_ids "$mid")"
	nsb "$FOREIGN" detach "$mode" vB ingress "$PIN-foreign"
	rm -rf "$PIN-foreign"
	say "foreign program saw $n1 then $n2 packets"
}

test_foreign_tcx() { foreign_case tcx; }
test_foreign_tc() { foreign_case tc; }

# tc mode alone: the clsact qdisc we created goes with --detach.
test_tc_own_qdisc() {
	# The foreign test's helper leaves its clsact qdisc: start without one.
	in_b tc qdisc del dev vB clsact 2>/dev/null
	write_conf "attach_mode=tc" "directions=ingress egress"
	start_daemon || return
	in_b tc qdisc show dev vB | grep -q clsact || fail "no clsact qdisc"
	capture_start "$NS_B" vB "$WORK/b.pcapng"
	flow $ADDR6_B 5051 70000
	stop_captures
	expect_same_flows "$WORK/b.pcapng" ingress $ADDR6_B
	expect_same_flows "$WORK/b.pcapng" egress $ADDR6_B
	stop_daemon TERM
	nsb_unit "$TCPLOGGERD" --config "$CONF" --detach >>"$DLOG" 2>&1
	in_b tc qdisc show dev vB | grep -q clsact &&
		fail "our clsact qdisc was left behind"
	true
}

# A start that stopped between replacing the filter's program and renaming
# its pin leaves only tcnew:DIR:IF: the next start still knows the filter
# as ours (with the unit's capabilities), and --detach removes it.
test_tc_interrupted_attach() {
	in_b tc qdisc del dev vB clsact 2>/dev/null
	write_conf "attach_mode=tc"
	start_daemon || return
	stop_daemon TERM
	local att
	att=$(pin_layout)/att
	mv "$att/tc:ingress:vB" "$att/tcnew:ingress:vB"
	start_daemon || return
	grep -q 'Adopted and updated ingress' "$DLOG" ||
		fail "the filter marked by tcnew: was not adopted"
	stop_daemon TERM
	mv "$att/tc:ingress:vB" "$att/tcnew:ingress:vB"
	nsb_unit "$TCPLOGGERD" --config "$CONF" --detach >>"$DLOG" 2>&1
	expect_eq "filters left" "$(in_b tc filter show dev vB ingress | grep -c direct-action)" 0
	in_b tc qdisc show dev vB | grep -q clsact && fail "our clsact qdisc was left behind"
	true
}

# 5. The interface is deleted and recreated while the daemon runs.
test_iface_recreate() {
	write_conf
	start_daemon || return
	ip -n "$NS_B" link del vB
	local t0
	wait_for 80 log_has 'disappeared'
	grep -q 'Interface vB .* disappeared' "$DLOG" ||
		fail "no log line for the vanished interface"
	t0=$(date +%s%N)
	make_veth
	wait_for 40 log_count_ge 2 'Attached ingress to vB'
	local ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$(grep -c 'Attached ingress to vB' "$DLOG")" -ge 2 ] ||
		fail "not re-attached within a second"
	[ "$ms" -le 1000 ] || fail "re-attached after $ms ms"
	capture_start "$NS_B" vB "$WORK/b.pcapng"
	flow $ADDR4_B 5061 123456
	stop_captures
	expect_same_flows "$WORK/b.pcapng" ingress $ADDR4_B
	say "re-attached ${ms} ms after the interface came back"
}

# With tc and both directions, the interface deleted and made again before
# the daemon reads either event (it is stopped meanwhile): both hooks come
# back, and the clsact qdisc the daemon made on the new interface is still
# known as its own, so the stop (keep_attached = no) removes it. Found in
# the Debian 12 VM: forgetting the egress hook after the ingress one was
# attached again dropped the shared record, and the qdisc stayed.
test_tc_recreate_at_once() {
	write_conf "attach_mode=tc" "directions=ingress egress" "keep_attached=no"
	start_daemon || return
	kill -STOP "$DPID"
	ip -n "$NS_B" link del vB
	make_veth
	kill -CONT "$DPID"
	wait_for 80 log_count_ge 2 'Attached egress to vB' ||
		fail "not re-attached: $(tail -n 5 "$DLOG")"
	wait_for 80 log_count_ge 2 'Attached ingress to vB' ||
		fail "ingress not re-attached"
	[ -e "$(pin_layout)/att/qdisc:vB" ] || fail "the qdisc record is gone"
	stop_daemon TERM
	expect_eq "clsact qdiscs left" \
		"$(tc -n "$NS_B" qdisc show dev vB | grep -c clsact)" 0
}

# Once started, the daemon keeps CAP_NET_ADMIN only (effective and
# permitted), and everything after the start still works with it, here
# with tc (the one later operation that needs a capability): re-attaching
# an interface that comes back, a reload that adds a hook, counting
# exactly, reset, and detaching at the stop (keep_attached = no).
test_caps_after_start() {
	write_conf "attach_mode=tc" "keep_attached=no"
	start_daemon || return
	local eff prm
	eff=$(awk '/^CapEff:/ { print $2 }' "/proc/$DPID/status")
	prm=$(awk '/^CapPrm:/ { print $2 }' "/proc/$DPID/status")
	expect_eq "effective" "$eff" 0000000000001000
	expect_eq "permitted" "$prm" 0000000000001000
	log_has 'Keeping CAP_NET_ADMIN only' || fail "no log line"
	ip -n "$NS_B" link del vB
	wait_for 80 log_has 'disappeared'
	make_veth
	wait_for 80 log_count_ge 2 'Attached ingress to vB' ||
		fail "not re-attached with CAP_NET_ADMIN only"
	write_conf "attach_mode=tc" "keep_attached=no" "directions=ingress egress"
	kill -HUP "$DPID"
	wait_for 80 log_has 'Attached egress to vB' || fail "egress not attached"
	capture_start "$NS_B" vB "$WORK/b.pcapng"
	flow $ADDR4_B 5081 54321
	stop_captures
	expect_same_flows "$WORK/b.pcapng" ingress $ADDR4_B
	ctl reset >/dev/null || fail "reset refused"
	stop_daemon TERM
	expect_eq "exit status" "$DAEMON_STATUS" 0
	expect_eq "filters left" "$(in_b tc filter show dev vB ingress | grep -c direct-action)" 0
	expect_eq "filters left" "$(in_b tc filter show dev vB egress | grep -c direct-action)" 0
	[ ! -e "$(pin_layout)" ] || fail "pins left: $(ls -R "$PIN")"
	say "CapEff $eff after the start; re-attach, reload, reset, detach work"
}

# SIGHUP: a new direction is attached, the counters stay.
test_reload() {
	write_conf
	start_daemon || return
	capture_start "$NS_B" vB "$WORK/b.pcapng"
	flow $ADDR4_B 5071 10000
	write_conf "directions=ingress egress"
	kill -HUP "$DPID"
	wait_for 80 log_has 'Attached egress to vB'
	grep -q 'Attached egress to vB' "$DLOG" || fail "egress not attached on SIGHUP"
	flow $ADDR4_B 5072 20000
	stop_captures
	expect_same_flows "$WORK/b.pcapng" ingress $ADDR4_B
	[ "$(our_entries | grep -c '^egress')" -ge 1 ] || fail "no egress entries"
	# And back: the removed direction is detached, its pin removed.
	write_conf
	kill -HUP "$DPID"
	wait_for 80 log_has 'Detached from vB egress'
	grep -q 'Detached from vB egress' "$DLOG" || fail "egress not detached on SIGHUP"
	[ ! -e "$(pin_layout)/att/tcx:egress:vB" ] || fail "egress pin left"
	[ -e "$(pin_layout)/att/tcx:ingress:vB" ] || fail "ingress pin gone"
}

# keep_attached = no: stopping removes the program and every pin.
test_keep_attached_no() {
	write_conf "keep_attached=no" "directions=ingress egress"
	start_daemon || return
	[ -e "$(pin_layout)/att/tcx:ingress:vB" ] || fail "no link pin"
	local mid
	mid=$(map_id)
	[ -n "$mid" ] || fail "cannot find our map's id"
	stop_daemon TERM
	expect_eq "exit status" "$DAEMON_STATUS" 0
	[ ! -e "$(pin_layout)" ] || fail "pins left: $(ls -R "$PIN")"
	[ -z "$(prog_ids "$mid")" ] || fail "the program is still loaded"
}

# One daemon per pin path.
test_second_instance() {
	write_conf
	start_daemon || return
	local out
	out=$(nsb_unit "$TCPLOGGERD" --config "$CONF" 2>&1)
	local rc=$?
	[ "$rc" != 0 ] || fail "a second daemon on the same pin path started"
	case $out in
	*"Another tcploggerd is running on $PIN"*) ;;
	*) fail "unclear message: $out" ;;
	esac
}

# 6. Bad configurations: FILE:LINE: message and a non-zero exit, before the
# kernel is touched (no pins appear).
test_bad_configs() {
	local bad=$WORK/bad.conf line
	# A tunnel: an interface without an Ethernet header.
	ip -n "$NS_B" tuntap add tltun0 mode tun || fail "cannot create a tun device"
	while IFS='|' read -r text lineno msg; do
		printf "pin_path = $PIN-bad\n$text\n" >"$bad"
		for mode in --check-config start; do
			local args=(--config "$bad")
			[ "$mode" = --check-config ] && args+=(--check-config)
			out=$(nsb_unit "$TCPLOGGERD" "${args[@]}" 2>&1)
			rc=$?
			[ "$rc" != 0 ] || fail "'$text' ($mode) exited 0"
			case $out in
			*"$bad:$lineno: $msg"*) ;;
			*) fail "'$text' ($mode): got '$out', want '$bad:$lineno: $msg'" ;;
			esac
		done
	done <<'EOF'
bogus_key = 1|2|unknown key 'bogus_key'
max_connections = lots|2|max_connections: expected a whole number, got 'lots'
attach_mode = xdp|2|attach_mode: expected auto, tcx or tc, got 'xdp'
directions = sideways|2|directions: expected ingress and/or egress, got 'sideways'
interfaces = vB tlnosuch0|2|interfaces: no interface named 'tlnosuch0'
keep_attached = perhaps|2|keep_attached: expected yes or no, got 'perhaps'
socket_group = tlnosuchgroup|2|socket_group: no group 'tlnosuchgroup'
interfaces = vB tltun0|2|interfaces: 'tltun0' has no Ethernet header (link type 65534); only Ethernet and loopback interfaces are supported
idle_timeout =|2|idle_timeout: empty value
EOF
	[ ! -e "$PIN-bad" ] || fail "a bad configuration touched bpffs"
	ip -n "$NS_B" link del tltun0
	write_conf
	out=$(nsb_unit "$TCPLOGGERD" --config "$CONF" --check-config 2>&1)
	expect_eq "a good configuration" "$out" "$CONF: configuration OK"
}

# sd_notify: READY=1 with a STATUS once attached, WATCHDOG=1 while
# running, STOPPING=1 at the end.
test_notify() {
	write_conf
	"$NOTIFYD" "$WORK/notify.sock" >"$WORK/notify.log" &
	BG_PIDS+=($!)
	wait_for 100 test -S "$WORK/notify.sock" || fail "notifyd did not start"
	DAEMON_ENV=(NOTIFY_SOCKET="$WORK/notify.sock" WATCHDOG_USEC=1000000)
	start_daemon || return
	[ -e "$(pin_layout)/att/tcx:ingress:vB" ] || fail "READY before the attachment"
	# WATCHDOG=1 at half of WATCHDOG_USEC.
	wait_for 100 grep -q WATCHDOG=1 "$WORK/notify.log" || fail "no WATCHDOG=1"
	stop_daemon TERM
	wait_for 100 grep -q STOPPING=1 "$WORK/notify.log"
	local log
	log=$(tr '\n' ' ' <"$WORK/notify.log")
	case $log in
	*"READY=1 STATUS=Counting on 1 of 1 hooks: vB/ingress(tcx); 0 connections"*"WATCHDOG=1"*"STOPPING=1"*) ;;
	*) fail "notifications: $log" ;;
	esac
	say "notifications: $(grep -c WATCHDOG=1 "$WORK/notify.log") watchdog ping(s) before the stop"
}

# interfaces = auto: the interfaces of the default routes, followed as the
# routes change.
test_auto_interfaces() {
	in_b ip route add default via $ADDR4_A dev vB
	write_conf "interfaces=auto"
	start_daemon || return
	grep -q 'Attached ingress to vB' "$DLOG" || fail "vB (default route) not attached"
	ip link add vC netns "$NS_A" type veth peer name vD netns "$NS_B"
	ip -n "$NS_A" addr add 198.18.0.5/30 dev vC
	ip -n "$NS_B" addr add 198.18.0.6/30 dev vD
	ip -n "$NS_A" link set vC up
	ip -n "$NS_B" link set vD up
	in_b ip route replace default via 198.18.0.5 dev vD
	wait_for 40 log_has 'Attached ingress to vD'
	grep -q 'Attached ingress to vD' "$DLOG" || fail "vD not attached within 1 s"
	grep -q 'Detached from vB ingress' "$DLOG" || fail "vB still attached"
	in_b ip route del default
	ip -n "$NS_B" link del vD
}

# No bpffs on /sys/fs/bpf (in a private mount namespace here, so the
# host's stays as it is): with the unit's capabilities the daemon cannot
# mount one (systemd's sys-fs-bpf.mount does, before the unit starts) and
# says so; with CAP_SYS_ADMIN (run by hand as root) it mounts one.
test_bpffs_mount() {
	local out
	write_conf "keep_attached=no"
	out=$(unshare -m --propagation private sh -c "
		while mountpoint -q /sys/fs/bpf; do umount /sys/fs/bpf || exit 9; done
		exec nsenter --net=/run/netns/$NS_B ${UNIT_CAPS[*]} $TCPLOGGERD --config $CONF" 2>&1) &&
		fail "started without bpffs and without CAP_SYS_ADMIN"
	case $out in
	*"bpffs is not mounted on /sys/fs/bpf"*"CAP_SYS_ADMIN"*) ;;
	*) fail "no clear message without bpffs: $out" ;;
	esac
	unshare -m --propagation private sh -c "
		while mountpoint -q /sys/fs/bpf; do umount /sys/fs/bpf || exit 9; done
		exec nsenter --net=/run/netns/$NS_B $TCPLOGGERD --config $CONF" \
		>>"$DLOG" 2>&1 &
	DPID=$!
	wait_for 200 log_has 'Started:'
	grep -q 'Mounted bpffs on /sys/fs/bpf' "$DLOG" || fail "bpffs not mounted"
	grep -q 'Started:' "$DLOG" || fail "did not start"
	stop_daemon TERM
	expect_eq "exit status" "$DAEMON_STATUS" 0
}

# Missing privileges: the message names the capability.
test_missing_caps() {
	write_conf
	local out
	out=$(setpriv --bounding-set=-net_admin nsenter --net=/run/netns/"$NS_B" \
		"$TCPLOGGERD" --config "$CONF" 2>&1) && fail "started without CAP_NET_ADMIN"
	case $out in
	*"Missing capability CAP_NET_ADMIN"*) ;;
	*) fail "no CAP_NET_ADMIN message: $out" ;;
	esac
	printf 'interfaces = lo\npin_path = %s\n' "$PIN" >"$WORK/lo.conf"
	out=$(setpriv --bounding-set=-bpf,-sys_admin "$TCPLOGGERD" \
		--config "$WORK/lo.conf" 2>&1) && fail "started without CAP_BPF"
	case $out in
	*"Missing capability CAP_BPF"*) ;;
	*) fail "no CAP_BPF message: $out" ;;
	esac
	[ ! -e "$(pin_layout)" ] || fail "pins made without privileges"
}

# A unit that stopped keeps its name: a server in a unit's cgroup serves one
# connection and exits, the cgroup is removed at once (as systemd does when
# a unit stops), and the dump still names the unit; so does a restarted
# daemon (the names are pinned), which cannot find the cgroup any more.
test_owner_outlives_unit() {
	local unit="tlshort-$$.service" cg got
	make_cgroup "tltest-$$.slice/$unit" || { fail "cannot make a cgroup"; return; }
	cg=$CGROUP_DIR
	write_conf "closed_timeout=3600"
	start_daemon || return
	in_cgroup "$cg" ip netns exec "$NS_B" timeout 30 nc -l $ADDR4_B 7311 >/dev/null &
	local srv=$!
	wait_listen 7311
	head -c 5000 /dev/zero | in_a timeout 30 nc -N $ADDR4_B 7311
	wait "$srv"
	rmdir "$cg" || fail "the cgroup is still in use"
	got=$(ctl --json dump --port 7311 | jq -r '.connections[].unit')
	expect_eq "the stopped unit's name" "$got" "$unit"
	stop_daemon
	start_daemon || return
	got=$(ctl --json dump --port 7311 | jq -r '.connections[].unit')
	expect_eq "the stopped unit's name after a restart" "$got" "$unit"
	say "$unit named after its cgroup went, and after a restart"
}

owner_conns_gone() { ! ctl --json dump | grep -q '"dst_port":730[12]'; }
# scanned_since AGE_MS: a scan ended since counts_age_ms was AGE_MS.
scanned_since() { [ "$(our_stat counts_age_ms)" -lt "$1" ]; }

# The owner: a server in a unit's cgroup (a cgroup named like a systemd
# service: this host's PID 1 is not systemd; the VM and nspawn checks run
# real units) in B, clients in A. Both directions of a connection to it,
# and of one its unit opens to A, name the unit and its cgroup id (the
# directory's inode number); a SYN to a closed port, and the kernel's
# reset, have none. The journal record carries the unit too. stats'
# bytes per unit and direction (live + expired: the connections expire
# meanwhile) equal the capture of those connections.
test_owner() {
	local unit="tlsrv-$$.service" cg id got
	make_cgroup "tltest-$$.slice/$unit" || { fail "cannot make a cgroup"; return; }
	cg=$CGROUP_DIR
	id=$(stat -c %i "$cg")
	write_conf "directions=ingress egress" "closed_timeout=1"
	start_daemon || return
	capture_start "$NS_B" vB "$WORK/b.pcapng"
	in_cgroup "$cg" ip netns exec "$NS_B" timeout 30 nc -l $ADDR4_B 7301 >/dev/null &
	BG_PIDS+=($!)
	wait_listen 7301
	head -c 30000 /dev/zero | in_a timeout 30 nc -N $ADDR4_B 7301
	in_a timeout 30 nc -l $ADDR4_A 7302 >/dev/null &
	BG_PIDS+=($!)
	wait_for 100 sh -c "ip netns exec $NS_A ss -ltnH 'sport = :7302' | grep -q ."
	head -c 20000 /dev/zero |
		in_cgroup "$cg" ip netns exec "$NS_B" timeout 30 nc -N $ADDR4_A 7302
	in_a timeout 5 nc -z $ADDR4_B 7303
	stop_captures
	ctl --json dump >"$WORK/dump.json"
	for port in 7301 7302; do
		got=$(jq -r --argjson p $port '[.connections[] |
			select(.src_port == $p or .dst_port == $p) |
			"\(.direction) \(.cgroup_id) \(.unit)"] | sort | join(",")' "$WORK/dump.json")
		expect_eq "owners of port $port" "$got" "egress $id $unit,ingress $id $unit"
	done
	got=$(jq -r '[.connections[] | select(.src_port == 7303 or .dst_port == 7303) |
		"\(.direction) \(.cgroup_id) \(.unit)"] | sort | join(",")' "$WORK/dump.json")
	expect_eq "owners of a closed port" "$got" "egress 0 null,ingress 0 null"
	wait_for 100 grep -q "dst_port=7301 .*cgroup_id=$id unit=$unit" "$DLOG" ||
		fail "no record with the unit: $(grep 'dst_port=7301' "$DLOG" | head -n2)"
	# Per unit: wait until the connections expired, then for a scan.
	wait_for 100 owner_conns_gone || fail "the connections did not expire"
	wait_for 100 scanned_since "$(our_stat counts_age_ms)" || fail "no scan"
	want=$(capture_flows "$WORK/b.pcapng" | awk -v b=$ADDR4_B '
		($2 == 7301 || $4 == 7301 || $2 == 7302 || $4 == 7302) {
			if ($3 == b) i += $6; else o += $6
		} END { printf "%.0f %.0f", i, o }')
	got=$(ctl --json stats | jq -r --arg u "$unit" '.units[] | select(.unit == $u) |
		"\(.ingress.bytes) \(.egress.bytes)"')
	expect_eq "bytes of $unit in and out (stats)" "$got" "$want"
	ctl stats | grep -q "^$unit " || fail "no row for $unit in the stats table"
	say "both directions of both connections owned by $unit (cgroup $id); a closed port's by none; its bytes in and out: $got"
}

# conn_flows IFNAME FILTER: the connection view's connections on IFNAME
# matching the jq FILTER, as capture_flows lines: the orig direction (the
# opener to the other side) and the reply direction, one line each.
conn_flows() {
	ctl --json dump --connections | jq -r --arg i "$1" ".connections[] |
		select(.ifname == \$i) | select($2) |
		([.src_ip, .src_port, .dst_ip, .dst_port, .orig.packets,
		  .orig.bytes, .orig.ip_bytes], [.dst_ip, .dst_port, .src_ip,
		  .src_port, .reply.packets, .reply.bytes, .reply.ip_bytes]) |
		map(tostring) | join(\" \")" | sort
}

# The connection view against the capture: a connection A opens to a
# server in a unit's cgroup in B, and one a client in that unit opens to
# A; both directions of each equal the capture's two flows, the opener is
# the side that sent the SYN (remote, local), both name the unit, and
# tcplogctl's table shows what came in as RX. On loopback (both ends in
# B, the server and the client in two units) the connection shows once per
# end, each with its owner, both equal to the capture of lo.
test_connections() {
	local srv="tlweb-$$.service" cli="tlcli-$$.service" cg_s cg_c port want got
	make_cgroup "tltest-$$.slice/$srv" || { fail "cannot make a cgroup"; return; }
	cg_s=$CGROUP_DIR
	make_cgroup "tltest-$$.slice/$cli" || { fail "cannot make a cgroup"; return; }
	cg_c=$CGROUP_DIR
	write_conf "interfaces=vB lo" "directions=ingress egress"
	start_daemon || return
	capture_start "$NS_B" vB "$WORK/b.pcapng"
	capture_start "$NS_B" lo "$WORK/lo.pcapng"
	head -c 20000 /dev/zero >"$WORK/20k"
	head -c 5000 /dev/zero >"$WORK/5k"
	# Opened from A: 30,000 bytes up, 20,000 down.
	in_cgroup "$cg_s" ip netns exec "$NS_B" timeout 30 nc -l $ADDR4_B 7401 \
		<"$WORK/20k" >/dev/null &
	BG_PIDS+=($!)
	wait_listen 7401
	head -c 30000 /dev/zero | in_a timeout 30 nc -N $ADDR4_B 7401 >/dev/null
	# Opened from B by the unit: 20,000 up, 5,000 down.
	in_a timeout 30 nc -l $ADDR4_A 7402 <"$WORK/5k" >/dev/null &
	BG_PIDS+=($!)
	wait_for 100 sh -c "ip netns exec $NS_A ss -ltnH 'sport = :7402' | grep -q ."
	in_cgroup "$cg_s" ip netns exec "$NS_B" timeout 30 nc -N $ADDR4_A 7402 \
		<"$WORK/20k" >/dev/null
	# Loopback, server and client in two units.
	in_cgroup "$cg_s" ip netns exec "$NS_B" timeout 30 nc -l 127.0.0.1 7403 \
		<"$WORK/5k" >/dev/null &
	BG_PIDS+=($!)
	wait_listen 7403
	in_cgroup "$cg_c" ip netns exec "$NS_B" timeout 30 nc -N 127.0.0.1 7403 \
		<"$WORK/20k" >/dev/null
	sleep 0.2
	stop_captures
	for port in 7401 7402; do
		want=$(capture_flows "$WORK/b.pcapng" | awk -v p=$port '$2 == p || $4 == p')
		got=$(conn_flows vB ".src_port == $port or .dst_port == $port")
		same_flows "connection $port" "src sport dst dport packets bytes ip_bytes" "$want" "$got"
	done
	ctl --json dump --connections >"$WORK/conns.json"
	expect_eq "opener of 7401" "$(jq -r '.connections[] | select(.dst_port == 7401) |
		"\(.src_ip) \(.direction) \(.opened) \(.unit)"' "$WORK/conns.json")" \
		"$ADDR4_A ingress syn $srv"
	expect_eq "opener of 7402" "$(jq -r '.connections[] | select(.dst_port == 7402) |
		"\(.src_ip) \(.direction) \(.opened) \(.unit)"' "$WORK/conns.json")" \
		"$ADDR4_B egress syn $srv"
	# Each end of the loopback connection: the capture of lo, twice.
	want=$(capture_flows "$WORK/lo.pcapng" | awk '$2 == 7403 || $4 == 7403')
	got=$(conn_flows lo ".dst_port == 7403 and .unit == \"$cli\"")
	same_flows "loopback, the client's end" "src sport dst dport packets bytes ip_bytes" "$want" "$got"
	got=$(conn_flows lo ".dst_port == 7403 and .unit == \"$srv\"")
	same_flows "loopback, the server's end" "src sport dst dport packets bytes ip_bytes" "$want" "$got"
	expect_eq "loopback ends" "$(jq -r '[.connections[] | select(.dst_port == 7403) |
		"\(.direction) \(.unit)"] | sort | join(",")' "$WORK/conns.json")" \
		"egress $cli,ingress $srv"
	# The unit filter, and the table: RX is what came in.
	expect_eq "connections of the client unit" \
		"$(ctl --json dump --connections --unit "$cli" | jq '.connections | length')" 1
	ctl dump --connections --port 7401 >"$WORK/table"
	got=$(awk 'NR == 2 { print $2, $6, $8, $12 }' "$WORK/table")
	want="remote $(jq -r '.connections[] | select(.dst_port == 7401) |
		"\(.orig.bytes) \(.reply.bytes)"' "$WORK/conns.json") $srv"
	expect_eq "table row of 7401 (OPENED RX TX UNIT)" "$got" "$want"
	head -n1 "$WORK/table" | grep -q '^IFACE  *OPENED  *SOURCE  *DESTINATION  *STATE  *RX  *RX_PKTS  *TX  *TX_PKTS' ||
		fail "table header: $(head -n1 "$WORK/table")"
	say "two connections on vB and one on lo (twice, one per end): orig and reply equal the capture; openers and units right"
}

DEFAULT_TESTS=(
	test_bad_configs test_exact_flows test_segments
	test_restart_under_load test_upgrade_tcx test_upgrade_tc
	test_incompatible_maps test_mode_switch test_first_on_hook_tcx
	test_first_on_hook_tc test_foreign_tcx test_foreign_tc
	test_tc_own_qdisc test_tc_interrupted_attach test_iface_recreate
	test_tc_recreate_at_once test_reload
	test_keep_attached_no test_second_instance test_notify
	test_auto_interfaces test_bpffs_mount test_missing_caps test_owner
	test_connections test_owner_outlives_unit
	test_caps_after_start
)

e2e_main "$@"
