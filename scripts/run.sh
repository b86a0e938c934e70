#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Builds and installs tcplogger (binaries in /usr, the unit, the
# configuration unless one exists, man pages), starts the daemon and shows
# `tcplogctl dump`. Where systemd is PID 1 it uses systemctl; elsewhere
# (a container, a chroot) it runs tcploggerd in the foreground until
# Ctrl-C. As root. Counting continues after a stop (keep_attached = yes);
# `tcploggerd --detach` removes the program.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build "$top/build" -j "$(nproc)" --target tcploggerd tcplogctl >/dev/null
cmake --install "$top/build" >/dev/null
getent group tcplogger >/dev/null ||
	systemd-sysusers tcplogger.conf 2>/dev/null || groupadd --system tcplogger
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	systemctl restart tcploggerd
	echo "tcploggerd is running under systemd (systemctl status tcploggerd)."
	sleep 1
	tcplogctl dump
	exit 0
fi

echo "No systemd here: running tcploggerd in the foreground (Ctrl-C stops it)."
tcploggerd &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid' INT TERM
for _ in $(seq 50); do
	tcplogctl health >/dev/null 2>&1 && break
	sleep 0.1
done
tcplogctl dump || true
echo "tcplogctl dump / watch / health work now, from another terminal."
wait $pid
