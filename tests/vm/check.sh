#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# check.sh - runs inside the QEMU VM booted by test_vm.sh: Debian 12 with
# its own kernel (6.1: no TCX, legacy tc only) under its own systemd.
# Installs the .deb and runs tcploggerd as users do, through systemctl and
# the shipped unit (its capability set, its hardening), with traffic
# between the VM and a network namespace in it, captured with tcpdump as
# ground truth. Results go to /dev/ttyS1 ("ok - ..." / "not ok - ..."),
# the trace to the console; then the VM powers off.
#
# Files from the host, in /share: old/tcplogger_*.deb (the previous
# release, map layout 1), tcplogger_*.deb (this build), newer/tcplogger_*.deb
# (a newer version with a really different program), pcapsum.py, capprobe
# and capmatrix.sh.
exec 3>/dev/ttyS1
exec >/dev/console 2>&1
set -x
ok() { echo "ok - $*" >&3; }
bad() { echo "not ok - $*" >&3; }
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
trap 'echo done >&3; sync; systemctl poweroff' EXIT

HOST=198.18.0.1
PEER=198.18.0.2
CONF=/etc/tcplogger/tcploggerd.conf
S=/share

# ---- the network: the VM and a peer namespace over veth; a VLAN trunk -----
modprobe 8021q
ip netns add peer
ip link add vH type veth peer name vP netns peer
ip addr add $HOST/24 dev vH
ip link set vH up
ip -n peer addr add $PEER/24 dev vP
ip -n peer link set vP up
ip -n peer link set lo up
# `interfaces = auto` follows the default route.
ip route add default via $PEER dev vH
# A trunk: 802.1Q VLAN 100 and QinQ (802.1ad 300, 802.1Q 200) over vT.
ip link add vT type veth peer name vTp netns peer
ip link set vT up
ip -n peer link set vTp up
ip link add link vT name vT.100 type vlan id 100
ip link add link vT name vT.300 type vlan proto 802.1ad id 300
ip link add link vT.300 name vT.300.200 type vlan id 200
ip -n peer link add link vTp name vTp.100 type vlan id 100
ip -n peer link add link vTp name vTp.300 type vlan proto 802.1ad id 300
ip -n peer link add link vTp.300 name vTp.300.200 type vlan id 200
for l in vT.100 vT.300 vT.300.200; do ip link set $l up; done
for l in vTp.100 vTp.300 vTp.300.200; do ip -n peer link set $l up; done
ip addr add 198.18.1.1/24 dev vT.100
ip -n peer addr add 198.18.1.2/24 dev vTp.100
ip addr add 198.18.2.1/24 dev vT.300.200
ip -n peer addr add 198.18.2.2/24 dev vTp.300.200
ip addr add fd00:1::1/64 dev vT.100 nodad
ip -n peer addr add fd00:1::2/64 dev vTp.100 nodad

# Which capability each kernel operation needs on this kernel, measured
# on an interface of its own (the table goes to the results as comments).
ip link add vC type veth peer name vCp
ip link set vC up
$S/capmatrix.sh $S/capprobe vC /sys/fs/bpf/caps >/tmp/caps.txt 2>&1
caps_rc=$?
sed 's/^/# /' /tmp/caps.txt >&3
check "the unit's capabilities suffice for every operation" test $caps_rc = 0
ip link del vC

tcpdump -i vH -s 200 -U -w /tmp/vH.pcap 'tcp' 2>/tmp/tcpdump-vH.log &
tcpdump -i vT -s 200 -U -w /tmp/vT.pcap 2>/tmp/tcpdump-vT.log &
for _ in $(seq 100); do
	grep -q listening /tmp/tcpdump-vH.log && grep -q listening /tmp/tcpdump-vT.log && break
	sleep 0.1
done

# ---- traffic: exact sizes, written by the peer to a server in the VM -------
# flow ADDR PORT BYTES: a connection from the peer to ADDR:PORT in the VM.
flow() {
	timeout 60 nc -l "$1" "$2" >/dev/null &
	local srv=$!
	for _ in $(seq 50); do ss -ltnH "sport = :$2" | grep -q . && break; sleep 0.1; done
	head -c "$3" /dev/zero | ip netns exec peer timeout 60 nc -N "$1" "$2"
	wait $srv
}
# back ADDR PORT BYTES: the VM sends BYTES to a server in the peer (bulk
# egress, TSO/GSO packets).
back() {
	ip netns exec peer timeout 60 nc -l "$1" "$2" >/dev/null &
	local srv=$!
	for _ in $(seq 50); do ip netns exec peer ss -ltnH "sport = :$2" | grep -q . && break; sleep 0.1; done
	head -c "$3" /dev/zero | timeout 60 nc -N "$1" "$2"
	wait $srv
}
# A connection that stays open across every daemon operation below.
long_flow() {
	timeout 600 nc -l $HOST 7000 >/dev/null &
	for _ in $(seq 50); do ss -ltnH "sport = :7000" | grep -q . && break; sleep 0.1; done
	for _ in $(seq 100000); do
		[ -e /tmp/stop-long ] && break
		head -c 1000 /dev/zero
		sleep 0.05
	done | ip netns exec peer timeout 600 nc -N $HOST 7000
}

# ---- ground truth and our counts -------------------------------------------
# flows_of PCAP: "VLANS SRC SPORT DST DPORT PACKETS BYTES" per flow.
flows_of() { python3 $S/pcapsum.py "$1" | sort; }
ours() { # DIR [IFNAME]
	tcplogctl --json dump | jq -r --arg d "$1" --arg i "${2:-}" '.connections[]
		| select(.direction == $d and ($i == "" or .ifname == $i))
		| [(if (.vlan | length) > 0 then .vlan | map(tostring) | join(",")
		    else "-" end), .src_ip, .src_port, .dst_ip, .dst_port,
		   .packets, .bytes] | map(tostring) | join(" ")' | sort
}
# folded DIR IFNAME: entries the layout upgrade folded into the totals (their
# journal records, reason upgrade), in the same format.
folded() {
	journalctl -b -u tcploggerd TCPLOG_REASON=upgrade -o json --no-pager |
		jq -r --arg d "$1" --arg i "$2" 'select(.TCPLOG_DIRECTION == $d and
			.TCPLOG_IFNAME == $i) | [(if .TCPLOG_VLAN == "" then "-" else
			.TCPLOG_VLAN end), .TCPLOG_SRC_IP, .TCPLOG_SRC_PORT,
			.TCPLOG_DST_IP, .TCPLOG_DST_PORT, .TCPLOG_PACKETS, .TCPLOG_BYTES]
			| join(" ")'
}
# accounted DIR IFNAME: live entries + folded ones, summed per flow.
accounted() {
	{ ours "$1" "$2"; folded "$1" "$2"; } | awk '{
		k = $1 " " $2 " " $3 " " $4 " " $5; p[k] += $6; b[k] += $7
	} END { for (k in p) printf "%s %.0f %.0f\n", k, p[k], b[k] }' | sort
}
# same NAME WANT GOT: one check, with both sides in the trace if they differ.
same() {
	if [ -n "$2" ] && [ "$2" = "$3" ]; then
		ok "$1 ($(printf '%s\n' "$2" | wc -l) flows)"
	else
		bad "$1"
		echo "--- capture"
		printf '%s\n' "$2"
		echo "--- tcploggerd"
		printf '%s\n' "$3"
	fi
}
filters() { tc filter show dev "$1" "$2" | grep -c 'direct-action'; }
clsact() { tc qdisc show dev "$1" | grep -c clsact; }
prog_id() { tc filter show dev vH ingress | sed -n 's/.* id \([0-9][0-9]*\).*/\1/p' | head -n1; }
# What the verifier made of it: differs for a really different program
# (the tag, a hash of the instructions as loaded, does not see .rodata).
prog_code() { bpftool prog dump xlated id "$(prog_id)" | md5sum | cut -c1-12; }
nrestarts() { systemctl show -p NRestarts --value tcploggerd; }
one_hook() { # the hook carries exactly one program: ours, never two
	check "$1: one filter on vH ingress" test "$(filters vH ingress)" = 1
}

# ---- the package and the first start ----------------------------------------
check "kernel is Debian 12's 6.1" sh -c "uname -r | grep -q '^6\.1\.'"
tc filter help 2>&1 | head -n1
check "the previous release's package installs" dpkg -i $S/old/tcplogger_*.deb
check "the package starts nothing" test "$(systemctl is-active tcploggerd)" = inactive
cat >$CONF <<EOF
interfaces = auto
closed_timeout = 3600
EOF
check "systemctl start (the previous release)" systemctl start tcploggerd
check "the previous release pins map layout v2" test -e /sys/fs/bpf/tcplogger/v2/conns
check "auto mode attached to vH with tc (no TCX on 6.1)" sh -c \
	"tcplogctl --json dump | jq -e '.interfaces[] | select(.ifname == \"vH\" and .mode == \"tc\" and .attached)'"
one_hook start
long_flow &
LONG=$!
flow $HOST 7001 300000

# This build over the previous release, as `apt install` does it: the
# daemon restarts into it and upgrades map layout 1 to 2 while counting.
# The configuration was edited here and the shipped one gained keys since:
# keep the edited one, as an unattended upgrade does.
check "this build's package installs over the previous release" \
	dpkg --force-confold -i $S/tcplogger_*.deb
check "the daemon restarted into this build" sh -c \
	"journalctl -b -u tcploggerd | grep -q 'Upgraded from map layout v2'"
check "the old layout's pins are gone" test ! -e /sys/fs/bpf/tcplogger/v2
check "NRestarts 0 after the layout upgrade" test "$(nrestarts)" = 0
one_hook "layout upgrade"
flow $HOST 7011 250000

check "systemctl restart" systemctl restart tcploggerd
one_hook restart
flow $HOST 7002 200000

check "systemctl stop" systemctl stop tcploggerd
one_hook "stopped (keep_attached = yes)"
flow $HOST 7003 100000 # counted while the daemon is stopped
check "systemctl start after stop" systemctl start tcploggerd
one_hook "stop + start"
# Once started, CAP_NET_ADMIN alone; everything below runs with it.
check "CAP_NET_ADMIN only after the start (6.1)" sh -c \
	"grep -q '^CapEff:.*0000000000001000\$' /proc/\$(systemctl show -p MainPID --value tcploggerd)/status &&
	 grep -q '^CapPrm:.*0000000000001000\$' /proc/\$(systemctl show -p MainPID --value tcploggerd)/status"

# Reload: the trunk and both directions join; vH ingress goes on.
cat >$CONF <<EOF
interfaces = vH vT
directions = ingress egress
closed_timeout = 3600
EOF
check "systemctl reload" systemctl reload tcploggerd
for _ in $(seq 100); do [ "$(filters vT ingress)$(filters vT egress)" = 11 ] && break; sleep 0.1; done
one_hook reload
check "reload attached vT both ways" test "$(filters vT ingress)$(filters vT egress)" = 11
flow 198.18.1.1 7101 150000
flow 198.18.2.1 7102 120000
flow fd00:1::1 7103 90000
back 198.18.1.2 7104 250000
back 198.18.2.2 7105 180000
back $PEER 7106 400000

# The owner on 6.1 with the unit's capabilities: a server in a transient
# unit with a client in the peer namespace, and a client in a unit that
# opens a connection to the peer (both directions hooked on vH).
check "the kernel allows the owner lookups (no warning logged)" sh -c \
	"! journalctl -b -u tcploggerd | grep -q 'get no owner'"
check "systemd-run starts a server unit" systemd-run --unit=tlweb -p Type=exec \
	timeout 60 nc -l $HOST 7201
for _ in $(seq 50); do ss -ltnH "sport = :7201" | grep -q . && break; sleep 0.1; done
head -c 40000 /dev/zero | ip netns exec peer timeout 60 nc -N $HOST 7201
ip netns exec peer timeout 60 nc -l $PEER 7202 >/dev/null &
srv7202=$!
for _ in $(seq 50); do ip netns exec peer ss -ltnH "sport = :7202" | grep -q . && break; sleep 0.1; done
check "a client unit connects to the peer" systemd-run --unit=tlcli --wait -p Type=exec \
	sh -c "head -c 30000 /dev/zero | timeout 60 nc -N $PEER 7202"
wait $srv7202
unit_of_port() { # PORT: the units of every entry of PORT, both directions
	tcplogctl --json dump --port "$1" | jq -r '[.connections[] | "\(.direction) \(.unit)"] | sort | join(",")'
}
check "both directions of the server's connection name tlweb.service" \
	test "$(unit_of_port 7201)" = "egress tlweb.service,ingress tlweb.service"
check "both directions of the client's connection name tlcli.service" \
	test "$(unit_of_port 7202)" = "egress tlcli.service,ingress tlcli.service"
check "connection view: 7201 opened by the peer, 7202 by the VM" test \
	"$(tcplogctl --json dump --connections | jq -r '[.connections[] | select(.dst_port == 7201 or .dst_port == 7202) |
		"\(.dst_port) \(.src_ip) \(.direction) \(.opened)"] | sort | join(",")')" = \
	"7201 $PEER ingress syn,7202 $HOST egress syn"

# A newer package with a different program: installed over the running
# one, the daemon restarts into it and swaps the program in place.
id1=$(prog_id) code1=$(prog_code) pid1=$(systemctl show -p MainPID --value tcploggerd)
check "the newer package installs over the old one" \
	dpkg --force-confold -i $S/newer/tcplogger_*.deb
check "still active after the upgrade" test "$(systemctl is-active tcploggerd)" = active
check "the upgrade restarted the daemon" test "$(systemctl show -p MainPID --value tcploggerd)" != "$pid1"
id2=$(prog_id) code2=$(prog_code)
check "the upgrade swapped in a different program (id $id1 -> $id2, code $code1 -> $code2)" \
	sh -c "[ -n '$id2' ] && [ '$id1' != '$id2' ] && [ '$code1' != '$code2' ]"
one_hook upgrade
flow $HOST 7004 120000
touch /tmp/stop-long
wait $LONG
sleep 1 # tcpdump writes the last frames (as stop_captures in tests/e2e)

# Everything since the first start, exactly: vH ingress for every flow
# (the long one across all of the above), the trunk both ways.
pkill -INT tcpdump
wait
cap=$(flows_of /tmp/vH.pcap)
same "vH ingress = capture across the layout upgrade, start, restart, stop+start, reload, upgrade" \
	"$(printf '%s\n' "$cap" | awk -v h=$HOST '$4 == h')" "$(accounted ingress vH)"
# conn_ours PORT: the connection view of PORT on vH as capture flows: the
# orig direction and the reply direction.
conn_ours() {
	tcplogctl --json dump --connections --iface vH --port "$1" | jq -r '.connections[] |
		(["-", .src_ip, .src_port, .dst_ip, .dst_port, .orig.packets, .orig.bytes],
		 ["-", .dst_ip, .dst_port, .src_ip, .src_port, .reply.packets, .reply.bytes]) |
		map(tostring) | join(" ")' | sort
}
same "connection view, the server unit's connection: orig and reply = capture" \
	"$(printf '%s\n' "$cap" | awk '$3 == 7201 || $5 == 7201')" "$(conn_ours 7201)"
same "connection view, the client unit's connection: orig and reply = capture" \
	"$(printf '%s\n' "$cap" | awk '$3 == 7202 || $5 == 7202')" "$(conn_ours 7202)"
units_want=$(printf '%s\n' "$cap" | awk -v h=$HOST '$3 == 7201 || $5 == 7201 {
	if ($4 == h) i += $7; else o += $7 } END { printf "%.0f %.0f", i, o }')
unit_bytes() { # UNIT WANT: its bytes in and out in stats are WANT (after a scan)
	local i
	for i in $(seq 50); do
		[ "$(tcplogctl --json stats | jq -r --arg u "$1" '.units[] |
			select(.unit == $u) | "\(.ingress.bytes) \(.egress.bytes)"')" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
check "stats: tlweb.service's bytes in and out = capture ($units_want)" unit_bytes tlweb.service "$units_want"
same "vH egress (bulk from the VM, TSO) since the reload = capture" \
	"$(printf '%s\n' "$cap" | awk -v h=$HOST '$2 == h && $5 == 7106')" \
	"$(ours egress vH | awk '$5 == 7106')"
capt=$(flows_of /tmp/vT.pcap)
same "vT ingress (VLAN tags in metadata) = capture" \
	"$(printf '%s\n' "$capt" | awk '$4 ~ /^198\.18\.[12]\.1$|^fd00:1::1$/')" "$(ours ingress vT)"
same "vT egress (VLAN tags in metadata) = capture" \
	"$(printf '%s\n' "$capt" | awk '$2 ~ /^198\.18\.[12]\.1$|^fd00:1::1$/')" "$(ours egress vT)"
check "VLAN IDs in the records: [100], [300,200]" sh -c \
	"tcplogctl --json dump | jq -e '[.connections[] | select(.ifname == \"vT\") | .vlan | tostring] | unique == [\"[100]\",\"[300,200]\"]'"
check "NRestarts is 0" test "$(nrestarts)" = 0

# Hotplug: the trunk goes away and comes back; the daemon attaches again
# (with the unit's capabilities, through tc).
ip link del vT
ip link add vT type veth peer name vTp netns peer
ip link set vT up
for _ in $(seq 100); do [ "$(filters vT ingress)$(filters vT egress)" = 11 ] && break; sleep 0.1; done
check "a recreated interface is attached again (hotplug)" \
	test "$(filters vT ingress)$(filters vT egress)" = 11

# IPFIX on 6.1 under the unit with the drop-in docs/IPFIX.md gives: the
# records reach a UDP collector on the VM's loopback (nc keeps them); the
# same drop-in lets the Prometheus endpoint (docs/METRICS.md) listen.
mkdir -p /etc/systemd/system/tcploggerd.service.d
printf '[Service]\nRestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6\nIPAddressAllow=localhost\n' \
	>/etc/systemd/system/tcploggerd.service.d/ipfix.conf
printf 'ipfix_collectors = udp://127.0.0.1:4739\nipfix_active_timeout = 1\n' >>$CONF
echo "metrics_listen = 127.0.0.1:9477" >>$CONF
systemctl daemon-reload
timeout 120 nc -u -l 127.0.0.1 4739 >/tmp/ipfix.bin &
for _ in $(seq 50); do ss -lunH "sport = :4739" | grep -q . && break; sleep 0.1; done
check "restart with IPFIX export" systemctl restart tcploggerd
flow $HOST 7008 3000
ipfix_sent() {
	tcplogctl --json stats | jq -e '.stats.ipfix_records > 0 and .stats.ipfix_send_errors == 0' |
		grep -q true
}
for _ in $(seq 100); do ipfix_sent && break; sleep 0.1; done
check "IPFIX on 6.1: records sent, none lost" ipfix_sent
check "IPFIX on 6.1: the collector got version 10 messages" \
	test "$(od -An -tx1 -N2 /tmp/ipfix.bin | tr -d ' ')" = 000a
scrape() {
	printf 'GET /metrics HTTP/1.0\r\n\r\n' | nc -q 2 127.0.0.1 9477 >/tmp/metrics.http &&
		head -n1 /tmp/metrics.http | grep -q ' 200 ' &&
		grep -q '^tcplogger_bytes_total{iface="vH",direction="ingress",family="ipv4"} [1-9]' /tmp/metrics.http
}
for _ in $(seq 50); do scrape && break; sleep 0.1; done
check "metrics on 6.1: GET /metrics answers with vH's counts" scrape
sed -i '/^ipfix_/d; /^metrics_listen/d' $CONF
rm /etc/systemd/system/tcploggerd.service.d/ipfix.conf
systemctl daemon-reload
check "restart without IPFIX" systemctl restart tcploggerd

# keep_attached = no: a stop removes filters, our qdiscs and pins.
echo "keep_attached = no" >>$CONF
check "reload with keep_attached = no" systemctl reload tcploggerd
check "stop with keep_attached = no" systemctl stop tcploggerd
check "no filter left" test "$(filters vH ingress)$(filters vT ingress)$(filters vT egress)" = 000
check "no clsact qdisc left" test "$(clsact vH)$(clsact vT)" = 00
check "no pins left" test ! -e /sys/fs/bpf/tcplogger/v3

# tcploggerd --detach after a stop that left the program counting.
sed -i '/keep_attached/d' $CONF
check "start again" systemctl start tcploggerd
one_hook "start after keep_attached = no"
flow $HOST 7005 50000
check "counts start anew" sh -c \
	"tcplogctl --json dump | jq -e '[.connections[] | select(.dst_port == 7005)] | length == 1'"
check "stop (keep_attached = yes)" systemctl stop tcploggerd
check "tcploggerd --detach" tcploggerd --detach
check "no filter left after --detach" test "$(filters vH ingress)$(filters vT ingress)$(filters vT egress)" = 000
check "no clsact qdisc left after --detach" test "$(clsact vH)$(clsact vT)" = 00
check "no pins left after --detach" test ! -e /sys/fs/bpf/tcplogger/v3

check "NRestarts still 0" test "$(nrestarts)" = 0
journalctl -b -u tcploggerd --no-pager
check "the journal shows no error" test -z "$(journalctl -b -u tcploggerd -p err --no-pager -q)"
