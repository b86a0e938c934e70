#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Installs what building and testing tcplogger needs, on Debian 12 or
# newer and on Ubuntu 22.04 or newer. Run as root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: run as root (sudo $0)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive

pkgs=(
	build-essential cmake pkg-config
	clang llvm clang-format        # BPF objects, code style
	libbpf-dev libelf-dev zlib1g-dev libsystemd-dev libcjson-dev
	iproute2                       # tc, ip: attach and test namespaces
	# end-to-end tests: ground truth and traffic
	tshark ethtool netcat-openbsd util-linux procps jq tmux bc
	python3-jsonschema                     # API schema checks
	# accuracy against peers (test and bench/), load, plots
	iperf3 conntrack nftables pmacct softflowd python3-matplotlib
	debootstrap systemd-container          # the real-systemd test
)

# The peers of the accuracy test ship services that their packages enable
# and start on installation (an iperf3 server on every address, pmacctd
# capturing). The tests and benchmarks run their own copies inside their
# namespaces: what this script newly installs must not run on the machine.
declare -A peer_unit=([iperf3]=iperf3.service [pmacct]=pmacctd.service
	[softflowd]=softflowd.service)
new_peers=()
for p in "${!peer_unit[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || new_peers+=("$p")
done
# policy-rc.d (exit 101) keeps maintainer scripts from starting services.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi

apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}"

# ... and they enabled their units for the next boot: undo that.
for p in "${new_peers[@]}"; do
	if command -v systemctl >/dev/null 2>&1; then
		systemctl --quiet disable "${peer_unit[$p]}" 2>/dev/null ||
			deb-systemd-helper disable "${peer_unit[$p]}" 2>/dev/null || true
	fi
done

# libFuzzer comes with clang's runtime: the versioned package on Ubuntu.
if apt-cache show libclang-rt-dev >/dev/null 2>&1; then
	apt-get install -y -qq --no-install-recommends libclang-rt-dev
else
	clang_major=$(clang --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p')
	apt-get install -y -qq --no-install-recommends "libclang-rt-$clang_major-dev"
fi

# bpftool generates the BPF skeleton. Debian ships it as its own package;
# Ubuntu inside linux-tools for the running kernel.
if ! command -v bpftool >/dev/null 2>&1 && ! [ -x /usr/sbin/bpftool ]; then
	if apt-cache show bpftool >/dev/null 2>&1; then
		apt-get install -y -qq --no-install-recommends bpftool
	else
		apt-get install -y -qq --no-install-recommends \
			linux-tools-common "linux-tools-$(uname -r)" ||
			apt-get install -y -qq --no-install-recommends \
				linux-tools-common linux-tools-generic
	fi
fi
echo "install-deps.sh: done"
