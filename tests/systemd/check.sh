#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# check.sh - runs inside the systemd-nspawn container booted by
# test_systemd.sh: installs the .deb and checks tcploggerd under a real
# systemd. Results go to /share/results ("ok - ..." / "not ok - ..."),
# the trace to /share/check.log; then the container powers off.
exec >/share/check.log 2>&1
set -x
res=/share/results
: >"$res"
ok() { echo "ok - $*" >>"$res"; }
bad() { echo "not ok - $*" >>"$res"; }
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
# live + expired bytes: everything counted since the maps were created.
total() {
	local live exp
	live=$(tcplogctl --json dump | jq '[.connections[].bytes] | add // 0')
	exp=$(tcplogctl --json stats | jq '.stats.expired_bytes')
	echo $((live + exp))
}
# until STEPS COMMAND...: runs COMMAND every 0.1 s until it succeeds, at
# most STEPS times (a bounded wait on a condition, not a sleep).
until_ok() {
	local steps=$1 i
	shift
	for ((i = 0; i < steps; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
listening() { ss -ltnH "sport = :$1" | grep -q .; }
flow() { # PORT BYTES: a TCP connection on loopback
	nc -l 127.0.0.1 "$1" >/dev/null &
	local srv=$!
	until_ok 50 listening "$1"
	head -c "$2" /dev/zero | nc -N 127.0.0.1 "$1"
	wait $srv
}
main_pid() { systemctl show -p MainPID --value tcploggerd; }

check "the package installs" dpkg -i /share/tcplogger_*.deb
check "the package creates the group" getent group tcplogger
check "the package enables nothing" test "$(systemctl is-enabled tcploggerd)" = disabled
check "the package starts nothing" test "$(systemctl is-active tcploggerd)" = inactive

cat >/etc/tcplogger/tcploggerd.conf <<CONF
interfaces = lo
directions = ingress
closed_timeout = 2
CONF
mkdir -p /etc/systemd/system/tcploggerd.service.d
printf '[Service]\nWatchdogSec=3s\n' >/etc/systemd/system/tcploggerd.service.d/test.conf
systemctl daemon-reload

# Type=notify: start returns once the daemon said READY=1.
check "systemctl start succeeds" systemctl start tcploggerd
journalctl -b -u tcploggerd --no-pager | tail -n 30
check "active (running) after READY" test "$(systemctl show -p SubState --value tcploggerd)" = running
check "the socket is 0660 root:tcplogger" test "$(stat -c '%a %U:%G' /run/tcploggerd/tcploggerd.sock)" = "660 root:tcplogger"
check "STATUS= is set" sh -c "systemctl status tcploggerd | grep -q 'Status: \"Counting on 1 of 1 hooks'"

flow 9000 20000
check "traffic shows up in tcplogctl dump --json" sh -c \
	"tcplogctl --json dump | jq -e '.connections[] | select(.dst_port == 9000 and .bytes > 20000)' | grep -q ."
t1=$(total)
check "systemctl restart succeeds" systemctl restart tcploggerd
check "restart keeps the counts" test "$(total)" = "$t1"
check "systemctl stop succeeds" systemctl stop tcploggerd
flow 9001 5000 # counted while the daemon is stopped
check "systemctl start again" systemctl start tcploggerd
t2=$(total)
check "the program counted while the daemon was stopped" test "$t2" -gt $((t1 + 5000))
check "the second start adopted the maps" sh -c "journalctl -b -u tcploggerd | grep -q 'Adopted the pinned maps'"
check "journalctl shows the start" sh -c "journalctl -b -u tcploggerd | grep -q 'Started: Counting on'"
# closed_timeout 2 s, a scan every second.
check "a closed-connection record in the journal" until_ok 100 sh -c \
	"journalctl -b -u tcploggerd TCPLOG_DST_PORT=9001 TCPLOG_REASON=fin -o json | jq -e 'select(.TCPLOG_BYTES | tonumber > 5000)' | grep -q ."
check "tcplogctl health exits 0" tcplogctl health

# The owner under a real systemd: a server and a client in transient units
# (systemd-run), on loopback with ingress counted: each end's ingress entry
# is owned by the unit that receives it (the server's by tlweb.service, the
# answers by tlcli.service), as docs/API.md says of loopback.
check "systemd-run starts a server unit" systemd-run --unit=tlweb -p Type=exec \
	timeout 60 nc -l 127.0.0.1 9300
until_ok 50 listening 9300
check "a client unit connects and ends" systemd-run --unit=tlcli --wait -p Type=exec \
	sh -c "head -c 7000 /dev/zero | timeout 60 nc -N 127.0.0.1 9300"
owners() { # the unit of each ingress entry of port 9300, by destination port
	tcplogctl --json dump --port 9300 | jq -r '[.connections[] |
		"\(if .dst_port == 9300 then "to-server" else "to-client" end) \(.unit)"] |
		sort | join(",")'
}
check "the dump names each end's unit" test "$(owners)" = "to-client tlcli.service,to-server tlweb.service"
check "tcplogctl dump --unit tlweb.service finds its entry" test \
	"$(tcplogctl --json dump --unit tlweb.service | jq '[.connections[] | select(.dst_port == 9300)] | length')" = 1
# The connection view with ingress only: the server's end opened by the
# client's SYN, the client's end known from the SYN-ACK it received.
check "connection view: openers from the SYN and the SYN-ACK" test "$(tcplogctl --json dump --connections --port 9300 |
	jq -r '[.connections[] | "\(.opened) \(.unit) \(.reply.bytes > 0)"] | sort | join(",")')" = \
	"syn tlweb.service false,syn_ack tlcli.service true"
check "journal records name the unit" until_ok 100 sh -c \
	"journalctl -b -u tcploggerd TCPLOG_UNIT=tlweb.service -o json | jq -e 'select(.TCPLOG_DST_PORT == \"9300\")' | grep -q ."

pid=$(main_pid)
[ "${pid:-0}" -gt 1 ] && kill -9 "$pid"
check "a killed daemon is restarted" until_ok 100 sh -c "test \"\$(systemctl show -p SubState --value tcploggerd)\" = running && test \"\$(systemctl show -p MainPID --value tcploggerd)\" != $pid"
check "counts survive the kill" test "$(total)" -ge "$t2"

pid=$(main_pid)
n0=$(systemctl show -p NRestarts --value tcploggerd)
[ "${pid:-0}" -gt 1 ] && kill -STOP "$pid" # hangs: no more WATCHDOG=1
check "the watchdog restarts a hung daemon" until_ok 150 sh -c "journalctl -b -u tcploggerd | grep -q 'Watchdog timeout' && test \"\$(systemctl show -p NRestarts --value tcploggerd)\" -gt $n0 && test \"\$(systemctl show -p SubState --value tcploggerd)\" = running"

systemd-analyze security tcploggerd >/share/security.txt 2>&1
score=$(sed -n 's/.*Overall exposure level for tcploggerd.service: \([0-9.]*\).*/\1/p' /share/security.txt)
echo "$score" >/share/score
check "systemd-analyze security: exposure $score <= 2.0" awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.0) }'

# IPFIX under the unit: the shipped sandbox allows no IP socket, and the
# log says which drop-in allows one; with it, records reach a collector
# (nc on UDP 4739 keeps the datagrams).
# The same for the Prometheus endpoint.
printf 'ipfix_collectors = udp://127.0.0.1:4739\nmetrics_listen = 127.0.0.1:9477\n' \
	>>/etc/tcplogger/tcploggerd.conf
systemctl restart tcploggerd
flow 9400 3000
check "IPFIX without a drop-in: the log names it" until_ok 100 sh -c \
	"journalctl -b -u tcploggerd | grep 'IPFIX collector' | grep -q 'a drop-in must allow it'"
check "metrics_listen without a drop-in: the log names it" until_ok 100 sh -c \
	"journalctl -b -u tcploggerd | grep 'metrics_listen' | grep -q 'a drop-in must allow it'"
check "tcplogctl metrics works under the unit as it is" sh -c \
	"tcplogctl metrics | grep -q '^tcplogger_build_info'"
printf '[Service]\nRestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6\nIPAddressAllow=localhost\n' \
	>/etc/systemd/system/tcploggerd.service.d/ipfix.conf
systemctl daemon-reload
timeout 60 nc -u -l 127.0.0.1 4739 >/tmp/ipfix.bin &
until_ok 50 sh -c "ss -lunH 'sport = :4739' | grep -q ."
systemctl restart tcploggerd
flow 9401 4000
check "IPFIX with the drop-in: records sent, none lost" until_ok 100 sh -c \
	"tcplogctl --json stats | jq -e '.stats.ipfix_records > 0 and .stats.ipfix_send_errors == 0' | grep -q true"
check "IPFIX: the collector got version 10 messages" until_ok 50 sh -c \
	"test \"\$(od -An -tx1 -N2 /tmp/ipfix.bin | tr -d ' ')\" = 000a"
check "metrics with the drop-in: GET /metrics answers 200 with the counts" until_ok 50 sh -c \
	"printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' | nc -q 2 127.0.0.1 9477 | tee /tmp/metrics.http | head -n1 | grep -q ' 200 ' &&
	 grep -q '^tcplogger_bytes_total{iface=' /tmp/metrics.http"

systemctl stop tcploggerd
journalctl -b -u tcploggerd --no-pager | tail -n 60
tcploggerd --detach
echo done >>"$res"
systemctl poweroff
