# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# conntrack.sh - conntrack with accounting in namespace B, as the peer
# benchmarks run it (bench/accuracy.sh, bench/traffic.sh). Sourced after
# tests/e2e/lib.sh (in_b).

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
