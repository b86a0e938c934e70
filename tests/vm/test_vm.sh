#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# test_vm.sh BUILD_DIR PREV_REV [CACHE]: tcploggerd on Debian 12's own kernel (6.1,
# no TCX) under Debian 12's systemd, in a QEMU VM (software emulation: KVM
# does not work on this kind of machine). Builds the .deb of BUILD_DIR, the
# previous release's (commit PREV_REV, map layout 1, from the git history)
# and a newer one with a really different program (the daemon built with
# the copying parser forced on, tcploggerd_upgrade), boots the VM from the
# cached root (tests/lib/debroot.sh) and runs check.sh inside; its results
# come back on the second serial port.
set -u
build=$(cd "$1" && pwd)
prev=$2
cache=${3:-/var/cache/tcplogger-test}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/debroot.sh
. "$here/../lib/debroot.sh"

skip() {
	echo "SKIP: $*"
	[ "${TCPLOGGER_NO_SKIP:-}" = 1 ] && { echo "TCPLOGGER_NO_SKIP=1: a skipped test is a failure"; exit 1; }
	exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root"
for t in qemu-system-x86_64 mkfs.ext4 dpkg-deb cpack; do
	command -v $t >/dev/null || skip "missing $t (scripts/test-deps.sh installs it)"
done

work=$(mktemp -d /tmp/tcplog-vm.XXXXXX)
qemu_pid=
cleanup() {
	[ -n "$qemu_pid" ] && kill -9 "$qemu_pid" 2>/dev/null
	cp "$work/console.log" /tmp/tcplog-vm-console.log 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

debroot_vm "$cache/vm" "$cache/root" || { echo "cannot make the VM root"; exit 1; }

# This build's package, and a newer version of it whose daemon carries a
# different program: what `apt upgrade` brings.
cpack --config "$build/CPackConfig.cmake" -B "$work/pkg" >/dev/null ||
	{ echo "cpack failed"; exit 1; }
deb=$(ls "$work"/pkg/tcplogger_*.deb)
mkdir -p "$work/newer" "$work/repack"
dpkg-deb -R "$deb" "$work/repack"
cp "$build/tests/tcploggerd_upgrade" "$work/repack/usr/sbin/tcploggerd"
sed -i 's/^Version: \(.*\)$/Version: \1+upgrade1/' "$work/repack/DEBIAN/control"
dpkg-deb --root-owner-group -b "$work/repack" "$work/newer/" >/dev/null ||
	{ echo "repacking the newer .deb failed"; exit 1; }

"$here/../tools/build_release.sh" "$here/../.." "$prev" \
	"$build/tests/prev-release-deb" deb || { echo "cannot build the previous release"; exit 1; }

echo "# copying the cached VM root"
cp -a "$cache/vm/root" "$work/root"
mkdir -p "$work/root/share/newer" "$work/root/share/old"
cp "$build"/tests/prev-release-deb/tcplogger_*.deb "$work/root/share/old/"
cp "$deb" "$here/check.sh" "$here/pcapsum.py" "$here/../tools/capmatrix.sh" \
	"$build/tests/capprobe" "$work/root/share/"
cp "$work"/newer/*.deb "$work/root/share/newer/"
chmod +x "$work/root/share/check.sh"
debroot_check_unit "$work/root"
truncate -s 2G "$work/img"
mkfs.ext4 -q -F -d "$work/root" "$work/img" || { echo "mkfs.ext4 failed"; exit 1; }
rm -rf "$work/root"

echo "# booting Debian 12's kernel in QEMU (TCG)"
: >"$work/results.txt"
timeout 900 qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m 2048 \
	-display none -monitor none -no-reboot -nic none \
	-kernel "$cache/vm/vmlinuz" -initrd "$cache/vm/initrd.img" \
	-append "root=/dev/vda rw console=ttyS0 quiet panic=-1" \
	-drive file="$work/img",format=raw,if=virtio,cache=unsafe \
	-serial file:"$work/console.log" -serial file:"$work/results.txt" &
qemu_pid=$!
wait "$qemu_pid"
rc=$?
qemu_pid=
cat "$work/results.txt"
passed=$(grep -c '^ok' "$work/results.txt")
failed=$(grep -c '^not ok' "$work/results.txt")
if ! grep -q '^done' "$work/results.txt"; then
	echo "the checks did not finish (qemu exit $rc); console:"
	tail -n 60 "$work/console.log"
	failed=$((failed + 1))
elif [ "$failed" != 0 ]; then
	echo "--- console (tail)"
	tail -n 150 "$work/console.log"
fi
echo "${passed:-0} passed, ${failed:-0} failed"
[ "$failed" = 0 ]
