# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# peers.sh - what tcploggerd is compared with, set up one way for every
# benchmark (bench/accuracy.sh checks their counts, bench/traffic.sh their
# cost): conntrack with accounting, and softflowd and pmacctd capturing vB
# in namespace B with libpcap. Sourced after tests/e2e/lib.sh (in_b,
# wait_for, NS_B, WORK).

# conntrack_on TABLE: accounting on, then an nftables table TABLE in B whose
# `ct state` rules make B track connections (conntrack only tracks a
# namespace in which something registered its hooks). Accounting is an
# extension an entry gets when it is created: on before the first flow.
conntrack_on() {
	in_b sysctl -qw net.netfilter.nf_conntrack_acct=1 || return 1
	in_b nft -f - <<-EOF
		table inet $1 {
			chain pre {
				type filter hook prerouting priority 0; policy accept;
				ct state { new, established, related, invalid } counter
			}
			chain out {
				type filter hook output priority 0; policy accept;
				ct state { new, established, related, invalid } counter
			}
		}
	EOF
}

# conntrack_off TABLE: the table gone (B stops tracking), the entries too.
conntrack_off() {
	in_b nft delete table inet "$1"
	in_b conntrack -F >/dev/null 2>&1
}

# softflowd_start LOG [OPTION...]: softflowd in the foreground capturing
# vB, exporting NetFlow to B's loopback (nobody listens), controlled
# through $WORK/softflowd.ctl; its pid in PEER_PID; 1 if it did not start.
softflowd_start() {
	local log=$1
	shift
	rm -f "$WORK/softflowd.ctl"
	ip netns exec "$NS_B" softflowd -d -N -i vB -n 127.0.0.1:9995 \
		-c "$WORK/softflowd.ctl" -p "$WORK/softflowd.pid" "$@" \
		>"$log" 2>&1 &
	PEER_PID=$!
	wait_for 200 softflowctl -c "$WORK/softflowd.ctl" statistics \
		>/dev/null 2>&1
}

# pmacctd's buffers that keep up. By default its core hands every packet's
# record to the memory plugin through its own notification on a socket
# pair; when the plugin falls behind, the write fails with EAGAIN ("Failed
# during write") and that record is lost. 10 KiB buffers of records in a
# 10 MB queue keep up; their price is that the last, partly filled buffer
# stays in the core until more packets fill it.
# shellcheck disable=SC2034 # for the scripts that source this
PMACCTD_BUFFERED=("plugin_buffer_size: 10240" "plugin_pipe_size: 10240000")

# pmacctd_start NAME LOG FILTER [LINE...]: pmacctd capturing what the pcap
# FILTER lets through on vB, one memory table keyed by the 4-tuple and
# protocol (each direction apart) at $WORK/NAME.pipe, more configuration
# LINEs; its pid in PEER_PID (pmacctd itself, for SIGUSR1); 1 if it did
# not start or not open vB.
pmacctd_start() {
	local name=$1 log=$2 conf=$WORK/$1.conf
	{
		echo "daemonize: false"
		echo "pcap_interface: vB"
		echo "promisc: false"
		echo "pcap_filter: $3"
		echo "aggregate: src_host, dst_host, src_port, dst_port, proto"
		echo "plugins: memory"
		echo "imt_path: $WORK/$name.pipe"
		shift 3
		printf '%s\n' "$@"
	} >"$conf"
	rm -f "$WORK/$name.pipe"
	# Not through in_b (a shell function, so a subshell): $! must be
	# pmacctd itself.
	ip netns exec "$NS_B" pmacctd -f "$conf" >"$log" 2>&1 &
	PEER_PID=$!
	wait_for 200 pmacct -p "$WORK/$name.pipe" -s >/dev/null 2>&1 || return 1
	# The memory plugin answers before the core has opened the interface.
	wait_for 200 grep -q 'link type is' "$log"
}
