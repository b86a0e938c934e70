#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# test_upgrade.sh - upgrading from the previous release, whose maps have
# another layout (map ABI 2: no owner in the value), while it counts:
# the previous release's daemon runs and expires connections, stops
# (leaving its program counting), and this build starts over it with
# connections still open and new ones arriving. Checked against a capture
# of the hooked interface, per connection: live entries + the previous
# release's expiry records + entries folded at the upgrade equal the
# capture; the totals agree; one program on the hook, the new one; the old
# pins gone. In tcx and tc mode, with the unit's capabilities.
#
#   test_upgrade.sh TCPLOGGERD TCPLOGCTL OLD_TCPLOGGERD [TEST...]
set -u

TCPLOGGERD=$1
TCPLOGCTL=$2
OLD_TCPLOGGERD=$3
shift 3
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# accounted SNAPSHOT: the snapshot's live ingress entries and every record,
# summed per flow to B, in capture_flows' format.
accounted() {
	{
		jq -r '.connections[] | select(.direction == "ingress") | [.src_ip,
			.src_port, .dst_ip, .dst_port, .packets, .bytes, .ip_bytes]
			| map(tostring) | join(" ")' "$1"
		records "$DLOG" "$DLOG.prev" | awk '$1 == "ingress" { print $2, $3, $4, $5, $6, $7, $8 }'
	} | awk -v h=$ADDR4_B '$3 == h {
		k = $1 " " $2 " " $3 " " $4; p[k] += $5; b[k] += $6; ip[k] += $7
	} END { for (k in p) printf "%s %.0f %.0f %.0f\n", k, p[k], b[k], ip[k] }' | sort
}

upgrade_case() {
	local mode=$1 old_layout old_map want got n_old n_progs
	rm -f "$DLOG.prev"
	write_conf "attach_mode=$mode" "closed_timeout=1"
	start_daemon "$OLD_TCPLOGGERD" || return
	old_layout=$PIN/v2
	old_map=$(bpftool map show pinned "$old_layout/conns" -j 2>/dev/null | jq .id)
	[ -n "$old_map" ] || { fail "the previous release did not pin $old_layout"; return; }
	capture_start "$NS_B" vB "$WORK/b.pcapng"
	churn_server 6000
	# Finished before the upgrade (expired by the previous release)...
	flow $ADDR4_B 5101 150000
	flow $ADDR4_B 5102 70000
	# ...open across it, and short ones all through it.
	slow_flow $ADDR4_B 5103 400 &
	BG_PIDS+=($!)
	in_a "$PY" "$CHURN" churn $ADDR4_B 6000 1500 500 &
	BG_PIDS+=($!)
	wait_for 200 log_has 'reason=fin' || fail "the previous release expired nothing"
	# A stream through the swap: the new program may count it before its
	# old entry is moved (then that entry is folded into the totals).
	in_a "$PY" "$CHURN" stream $ADDR4_B 6000 4 &
	BG_PIDS+=($!)
	sleep 0.5

	# The upgrade: the previous release stops (its program keeps
	# counting), this build starts over its pins.
	stop_daemon TERM
	cat "$DLOG" >>"$DLOG.prev"
	: >"$DLOG"
	sed -i 's/^closed_timeout = 1$/closed_timeout = 3600/' "$CONF"
	start_daemon || return
	log_has "Upgrading from map layout v2" || fail "no upgrade log line"
	log_has "Upgraded from map layout v2" || fail "no upgrade summary"
	# Whether the stream's old entry was carried over or folded depends on
	# whether the new program saw its next packet before the move: both
	# keep every count (checked below, per connection). The fold itself is
	# checked deterministically in bpf.migrate.
	say "$(sed -n 's/.*Upgraded from map layout v2: \([0-9]*\) entries carried over, \([0-9]*\) folded.*/carried over \1, folded \2/p' "$DLOG")"
	flow $ADDR4_B 5104 90000
	wait "${BG_PIDS[@]:1}" 2>/dev/null
	stop_pids "${BG_PIDS[@]}"
	BG_PIDS=()
	stop_captures

	# One snapshot (entries and stats of the same moment) for every check.
	ctl --json dump >"$WORK/final.json"
	want=$(capture_flows "$WORK/b.pcapng" | awk -v h=$ADDR4_B '$3 == h')
	got=$(accounted "$WORK/final.json")
	if [ "$want" != "$got" ]; then
		fail "live + records differ from the capture"
		diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | head -n 20 |
			sed 's/^/      /'
	else
		say "$(printf '%s\n' "$want" | wc -l) connections: live + records equal the capture"
	fi
	# The totals say the same as the records.
	local rec_bytes exp_bytes live cap
	rec_bytes=$(records "$DLOG" "$DLOG.prev" | awk '{ s += $7 } END { printf "%.0f\n", s }')
	exp_bytes=$(jq .stats.expired_bytes "$WORK/final.json")
	expect_eq "expired_bytes = the records' bytes" "$exp_bytes" "$rec_bytes"
	live=$(jq '[.connections[].bytes] | add' "$WORK/final.json")
	cap=$(capture_flows "$WORK/b.pcapng" | awk -v h=$ADDR4_B '$3 == h { s += $6 } END { printf "%.0f\n", s }')
	expect_eq "live + expired bytes = the capture" $((live + exp_bytes)) "$cap"
	say "records: $(records "$DLOG" "$DLOG.prev" | awk '{ print $9 }' | sort | uniq -c | tr -s ' ' | tr '\n' ',')"

	# One program on the hook, this build's; the old layout is gone.
	[ ! -e "$old_layout" ] || fail "the old layout's pins are still there: $(ls -R "$old_layout")"
	if [ "$mode" = tc ]; then
		n_progs=$(tc -n "$NS_B" filter show dev vB ingress | grep -c 'direct-action')
		expect_eq "tc filters on the hook" "$n_progs" 1
	fi
	# (bpftool 7.1 does not list TCX links: count by the maps they use.)
	n_progs=$(bpftool prog show -j | jq --argjson m "$(bpftool map show \
		pinned "$(pin_layout)/conns" -j | jq .id)" '[.[] | select(.name ==
		"tcplog_ingress" and ((.map_ids // []) | index($m)))] | length')
	expect_eq "ingress programs of the new maps" "$n_progs" 1
	n_old=$(bpftool prog show -j | jq --argjson m "$old_map" \
		'[.[] | select((.map_ids // []) | index($m))] | length')
	expect_eq "programs of the old maps still loaded" "$n_old" 0
}

test_upgrade_layout_tcx() { upgrade_case tcx; }
test_upgrade_layout_tc() { upgrade_case tc; }

DEFAULT_TESTS=(test_upgrade_layout_tcx test_upgrade_layout_tc)

e2e_main "$@"
