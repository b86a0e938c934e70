#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# test_packets.sh - packets as real NICs deliver them, counted by the real
# daemon (with the unit's capabilities) and compared with a capture of the
# same interface: VLAN tags held in the skb's metadata (the receive path
# untags before TC ingress) or still in the frame (TC egress of a raw
# socket's frames), one and two tags, the same 4-tuple on two VLANs; GSO
# packets from a tap with a virtio_net_hdr (gso_size set, gso_segs 0).
#
#   test_packets.sh TCPLOGGERD TCPLOGCTL [TEST...]
set -u

TCPLOGGERD=$1
TCPLOGCTL=$2
shift 2
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
FRAMES=$(dirname "$0")/nicframes.py

# vflows_capture FILE: "VLANS SRC SPORT DST DPORT PACKETS BYTES IP_BYTES"
# per flow (VLANS: outermost first, comma-separated, "-" untagged), from
# every frame of the capture: frame.len, and the IP length.
vflows_capture() {
	# An 802.1ad outer tag is ieee8021ad.id, 802.1Q tags vlan.id (a list).
	tshark -r "$1" -Y tcp -T fields -E separator='|' -E aggregator=, \
		-e ieee8021ad.id -e vlan.id -e ip.src -e ipv6.src -e tcp.srcport \
		-e ip.dst -e ipv6.dst -e tcp.dstport -e frame.len -e ip.len \
		-e ipv6.plen 2>/dev/null |
		awk -F'|' '{
			v = $1 != "" && $2 != "" ? $1 "," $2 : $1 $2
			if (v == "") v = "-"
			src = $3 != "" ? $3 : $4; dst = $6 != "" ? $6 : $7
			iplen = $10 != "" ? $10 : $11 + 40
			k = v " " src " " $5 " " dst " " $8
			p[k]++; b[k] += $9; ip[k] += iplen
		} END { for (k in p) printf "%s %.0f %.0f %.0f\n", k, p[k], b[k], ip[k] }' | sort
}

# vflows_ours DIR: our entries of one direction in the same format.
vflows_ours() {
	ctl --json dump | jq -r --arg d "$1" '.connections[]
		| select(.direction == $d)
		| [(if (.vlan | length) > 0 then .vlan | map(tostring) | join(",")
		    else "-" end), .src_ip, .src_port, .dst_ip, .dst_port,
		   .packets, .bytes, .ip_bytes] | map(tostring) | join(" ")' | sort
}

expect_same_vflows() {
	same_flows "$2" "vlans src sport dst dport packets bytes ip_bytes" \
		"$(vflows_capture "$1")" "$(vflows_ours "$2")"
}

# The entries the frames must make, whatever the capture says.
expect_vlan_entries() {
	local dir=$1 got
	got=$(vflows_ours "$dir" | awk '{ print $1, $3, $5 }' | tr '\n' ';')
	expect_eq "$dir VLAN keys" "$got" \
		"- 41000 7000;100 41001 7001;100 41003 7003;200 41001 7001;300,100 41002 7002;300,200 41004 7004;"
}

# Frames from A: vB's receive path moves the outer tag into the skb's
# metadata before the capture and TC see the packet.
test_vlan_ingress_metadata() {
	write_conf "directions=ingress"
	start_daemon || return
	capture_start "$NS_B" vB "$WORK/in.pcapng" all
	in_a "$PY" "$FRAMES" vlan vA || fail "sending the frames failed"
	stop_captures
	expect_same_vflows "$WORK/in.pcapng" ingress
	expect_vlan_entries ingress
	local bytes
	bytes=$(ctl --json dump --vlan 200 | jq '[.connections[].bytes] | add')
	# VLAN 200 alone: 3 frames of 14 + 4 + 20 + 20 + (1, 2, 3) bytes; and
	# inside 300: 2 frames of 14 + 8 + 40 + 20 + (10, 1300) bytes. Tags
	# included, as sent.
	expect_eq "bytes of VLAN 200 (--vlan 200)" "$bytes" \
		$((3 * 58 + 6 + 2 * 82 + 1310))
	expect_eq "the datapath classified every frame" \
		"$(our_stat non_ip)" 0
}

# Frames written on vB itself: TC egress sees the tags in the frame.
test_vlan_egress_frame() {
	write_conf "directions=egress"
	start_daemon || return
	capture_start "$NS_B" vB "$WORK/out.pcapng" all
	in_b "$PY" "$FRAMES" vlan vB || fail "sending the frames failed"
	stop_captures
	expect_same_vflows "$WORK/out.pcapng" egress
	expect_vlan_entries egress
}

# A tap with vnet_hdr, written as a VM's virtio-net backend writes: GSO
# packets with gso_size and no gso_segs. Packets and bytes against the
# capture, segments against what was written.
test_tap_gso() {
	local tap=tlT$E2E_ID want got
	ip -n "$NS_B" tuntap add dev "$tap" mode tap vnet_hdr ||
		{ fail "cannot make a tap"; return; }
	ip -n "$NS_B" link set "$tap" up
	write_conf "interfaces=$tap" "directions=ingress"
	start_daemon || return
	capture_start "$NS_B" "$tap" "$WORK/tap.pcapng" all
	in_b "$PY" "$FRAMES" tap "$tap" >"$WORK/written" ||
		fail "writing to the tap failed"
	stop_captures
	expect_same_vflows "$WORK/tap.pcapng" ingress
	want=$(awk '{ print $2, $3, $4, $5, $6, $7 }' "$WORK/written" | sort)
	got=$(ctl --json dump | jq -r '.connections[] | [.src_ip, .src_port,
		.dst_ip, .dst_port, .packets, .segments] | map(tostring)
		| join(" ")' | sort)
	if [ "$want" != "$got" ]; then
		fail "segments differ from what was written"
		say "written (src sport dst dport packets segments):"
		printf '%s\n' "$want" | sed 's/^/      /'
		say "tcploggerd:"
		printf '%s\n' "$got" | sed 's/^/      /'
	else
		say "segments: $(printf '%s\n' "$want" | wc -l) flows equal what was written"
	fi
	ip -n "$NS_B" link del "$tap"
}

# Frames whose IP and TCP headers are in page fragments, not in the skb's
# linear part: the program's direct read fails and it falls back to
# copying, by itself (no forcing). Counts against the capture; nothing
# counted as truncated.
test_nonlinear() {
	local tap=tlS$E2E_ID
	ip -n "$NS_B" tuntap add dev "$tap" mode tap vnet_hdr ||
		{ fail "cannot make a tap"; return; }
	ip -n "$NS_B" link set "$tap" mtu 9000 up
	write_conf "interfaces=$tap" "directions=ingress"
	start_daemon || return
	capture_start "$NS_B" "$tap" "$WORK/split.pcapng" all
	in_b "$PY" "$FRAMES" split "$tap" || fail "writing to the tap failed"
	stop_captures
	expect_same_vflows "$WORK/split.pcapng" ingress
	expect_eq "entries" "$(vflows_ours ingress | wc -l)" 2
	expect_eq "truncated" "$(our_stat truncated)" 0
	ip -n "$NS_B" link del "$tap"
}

DEFAULT_TESTS=(test_vlan_ingress_metadata test_vlan_egress_frame test_tap_gso
	test_nonlinear)

e2e_main "$@"
