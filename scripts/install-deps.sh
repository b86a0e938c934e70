#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Installs what building and running tcplogger needs, on Debian 12 or
# newer and on Ubuntu 22.04 or newer. Run as root. The tools only the
# tests and benchmarks use (packet readers, traffic generators, the peers,
# QEMU) are not installed here: scripts/test-deps.sh installs them, and
# scripts/test.sh runs it.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: run as root (sudo $0)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive

pkgs=(
	build-essential cmake pkg-config
	clang llvm                     # BPF objects
	libbpf-dev libelf-dev zlib1g-dev libsystemd-dev libcjson-dev libjson-c-dev
	libmicrohttpd-dev
	iproute2                       # tc, ip: attaching
)

apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}"

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
