#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# test_systemd.sh DEB [ROOT_CACHE]: boots a Debian 12 root with systemd in
# systemd-nspawn, installs the .deb there and runs check.sh inside (the
# unit, the package, restarts, the watchdog, the journal, the security
# score). The root file system is made once with debootstrap and cached.
set -u

deb=$(realpath "$1")
cache=${2:-/var/cache/tcplogger-test/root}
here=$(cd "$(dirname "$0")" && pwd)

skip() {
	echo "SKIP: $*"
	[ "${TCPLOGGER_NO_SKIP:-}" = 1 ] && { echo "TCPLOGGER_NO_SKIP=1: a skipped test is a failure"; exit 1; }
	exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn missing (systemd-container)"

# shellcheck source=../lib/debroot.sh
. "$here/../lib/debroot.sh"
debroot_base "$cache" || exit 1

work=$(mktemp -d /tmp/tcplog-nspawn.XXXXXX)
cleanup() {
	cp "$work/share/check.log" /tmp/tcplog-nspawn-check.log 2>/dev/null
	umount "$work/bpffs" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/share" "$work/bpffs"
cp -a "$cache" "$work/root"
cp "$deb" "$here/check.sh" "$work/share/"
chmod +x "$work/share/check.sh"
debroot_check_unit "$work/root"
# A bpffs of the container's own: BPF objects pinned there go with it.
mount -t bpf bpf "$work/bpffs"

echo "# booting the container"
timeout 180 systemd-nspawn -D "$work/root" -b --register=no --keep-unit \
	--private-network \
	--capability=CAP_BPF,CAP_PERFMON,CAP_SYS_ADMIN,CAP_NET_ADMIN,CAP_SYS_RESOURCE \
	--system-call-filter='bpf perf_event_open' \
	--bind="$work/bpffs":/sys/fs/bpf --bind="$work/share":/share \
	>"$work/console.log" 2>&1
rc=$?
cat "$work/share/results" 2>/dev/null
passed=$(grep -c '^ok' "$work/share/results" 2>/dev/null)
failed=$(grep -c '^not ok' "$work/share/results" 2>/dev/null)
if ! grep -q '^done' "$work/share/results" 2>/dev/null; then
	echo "the checks did not finish (nspawn exit $rc); console and trace:"
	tail -n 30 "$work/console.log"
	tail -n 40 "$work/share/check.log" 2>/dev/null
	failed=$((failed + 1))
fi
if [ "$failed" != 0 ]; then
	echo "--- check.log (tail)"
	tail -n 60 "$work/share/check.log"
	echo "--- security"
	cat "$work/share/security.txt" 2>/dev/null
fi
echo "exposure: $(cat "$work/share/score" 2>/dev/null)"
echo "${passed:-0} passed, ${failed:-0} failed"
[ "$failed" = 0 ]
