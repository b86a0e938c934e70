#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# test_upgrade.sh - upgrading from the previous release, whose maps have
# another layout (map ABI 1: no VLAN IDs in the key), while it counts:
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
PY=/usr/bin/python3
CHURN=$(dirname "$0")/churn.py

# Live entries and records of ingress flows to B, summed per flow, in
# capture_flows' format.
accounted() {
	{
		ours_as_flows ingress
		records "$DLOG" "$DLOG.prev" | awk '$1 == "ingress" { print $2, $3, $4, $5, $6, $7, $8 }'
	} | awk -v h=$ADDR4_B '$3 == h {
		k = $1 " " $2 " " $3 " " $4; p[k] += $5; b[k] += $6; ip[k] += $7
	} END { for (k in p) print k, p[k], b[k], ip[k] }' | sort
}

upgrade_case() {
	local mode=$1 old_layout old_map want got n_old n_progs
	rm -f "$DLOG.prev"
	write_conf "attach_mode=$mode" "closed_timeout=1"
	start_daemon "$OLD_TCPLOGGERD" || return
	old_layout=$PIN/v1
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
	# A bulk flow through the swap: the new program counts it before its
	# old entry is moved, so that entry is folded into the totals.
	flow $ADDR4_B 5105 300000000 &
	BG_PIDS+=($!)
	sleep 0.5

	# The upgrade: the previous release stops (its program keeps
	# counting), this build starts over its pins.
	stop_daemon TERM
	cat "$DLOG" >>"$DLOG.prev"
	: >"$DLOG"
	sed -i 's/^closed_timeout = 1$/closed_timeout = 3600/' "$CONF"
	start_daemon || return
	log_has "Upgrading from map layout v1" || fail "no upgrade log line"
	log_has "Upgraded from map layout v1" || fail "no upgrade summary"
	grep -q 'reason=upgrade.*dst_port=5105' "$DLOG" ||
		fail "the bulk flow's old entry was not folded (with a record)"
	flow $ADDR4_B 5104 90000
	wait "${BG_PIDS[@]:1}" 2>/dev/null
	stop_pids "${BG_PIDS[@]}"
	BG_PIDS=()
	stop_captures

	want=$(capture_flows "$WORK/b.pcapng" | awk -v h=$ADDR4_B '$3 == h')
	got=$(accounted)
	if [ "$want" != "$got" ]; then
		fail "live + records differ from the capture"
		diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | head -n 20 |
			sed 's/^/      /'
	else
		say "$(printf '%s\n' "$want" | wc -l) connections: live + records equal the capture"
	fi
	# The totals say the same as the records.
	local rec_bytes exp_bytes live cap
	rec_bytes=$(records "$DLOG" "$DLOG.prev" | awk '{ s += $7 } END { print s + 0 }')
	exp_bytes=$(our_stat expired_bytes)
	expect_eq "expired_bytes = the records' bytes" "$exp_bytes" "$rec_bytes"
	live=$(ours_as_flows ingress | awk '{ s += $6 } END { print s + 0 }')
	cap=$(capture_flows "$WORK/b.pcapng" | awk -v h=$ADDR4_B '$3 == h { s += $6 } END { print s + 0 }')
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
