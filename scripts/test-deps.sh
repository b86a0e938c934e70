#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Installs what the tests and benchmarks need on top of
# scripts/install-deps.sh: code style, ground truth (tshark), traffic and
# the peers compared with (iperf3, conntrack, pmacct, softflowd), the
# systemd tests (systemd-nspawn, debootstrap, QEMU), libFuzzer. Run as root;
# scripts/test.sh and scripts/bench.sh run it. Installs nothing when all is
# there, so a machine without network runs the tests it has.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "test-deps.sh: run as root (sudo $0)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive

clang_major=$(clang --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p')
pkgs=(
	clang-format                           # code style
	tshark ethtool netcat-openbsd util-linux procps jq tmux bc python3
	python3-jsonschema                     # API schema checks
	# accuracy against peers (test and bench/), load, plots
	iperf3 conntrack nftables pmacct softflowd python3-matplotlib
	nfdump                                 # IPFIX: nfcapd and nfdump (e2e.ipfix)
	prometheus curl                        # a real scraper, promtool (e2e.metrics)
	debootstrap systemd-container          # the real-systemd test
	qemu-system-x86 e2fsprogs dpkg-dev     # Debian 12's kernel in a VM
	"libclang-rt-$clang_major-dev"         # libFuzzer
)
# perf, for bench/profile.sh (scripts/bench.sh, bench.scripts): Debian's
# package; Ubuntu's comes with its kernel's linux-tools.
if apt-cache show linux-perf >/dev/null 2>&1; then
	pkgs+=(linux-perf)
fi
# Ubuntu names the fuzzer runtime without a version.
if ! apt-cache show "libclang-rt-$clang_major-dev" >/dev/null 2>&1 &&
	apt-cache show libclang-rt-dev >/dev/null 2>&1; then
	pkgs=("${pkgs[@]/#libclang-rt-$clang_major-dev/libclang-rt-dev}")
fi

missing=()
for p in "${pkgs[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} = 0 ]; then
	echo "test-deps.sh: everything is installed"
	exit 0
fi

# The peers ship services that their packages enable and start on
# installation (an iperf3 server on every address, pmacctd capturing). The
# tests and benchmarks run their own copies inside their namespaces: what
# this script newly installs must not run on the machine.
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
apt-get install -y -qq --no-install-recommends "${missing[@]}"

# ... and they enabled their units for the next boot: undo that.
for p in "${new_peers[@]}"; do
	if command -v systemctl >/dev/null 2>&1; then
		systemctl --quiet disable "${peer_unit[$p]}" 2>/dev/null ||
			deb-systemd-helper disable "${peer_unit[$p]}" 2>/dev/null || true
	fi
done
echo "test-deps.sh: done"
