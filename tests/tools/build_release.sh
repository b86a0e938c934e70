#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# build_release.sh TOP REV OUT [deb]: builds tcploggerd and tcplogctl of
# an earlier release (commit REV of the repository at TOP, from its git
# history) into OUT/build, for the upgrade tests; with "deb", all of it and
# its Debian package, OUT/tcplogger_*.deb. Kept between runs: a second call
# with the same REV (and as much built) does nothing.
set -euo pipefail
top=$1 rev=$2 out=$3 deb=${4:-}

if [ -x "$out/build/tcploggerd" ] && [ "$(cat "$out/rev" 2>/dev/null)" = "$rev" ] &&
	{ [ -z "$deb" ] || ls "$out"/tcplogger_*.deb >/dev/null 2>&1; }; then
	exit 0
fi
if ! git -C "$top" cat-file -e "$rev^{commit}" 2>/dev/null; then
	echo "build_release.sh: commit $rev is not in $top's history (a shallow clone or a tarball?)" >&2
	exit 2
fi
rm -rf "$out"
mkdir -p "$out/src"
git -C "$top" archive "$rev" | tar -x -C "$out/src"
cmake -S "$out/src" -B "$out/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DTCPLOG_BUILD_BENCH=OFF -DTCPLOG_SYSTEMD_TEST=OFF -DTCPLOG_FUZZ=OFF \
	-DTCPLOG_BUILD_TESTS="$([ -n "$deb" ] && echo OFF || echo ON)" >/dev/null
if [ -n "$deb" ]; then
	cmake --build "$out/build" -j "$(nproc)" >/dev/null
	cpack --config "$out/build/CPackConfig.cmake" -B "$out/pkg" >/dev/null
	cp "$out"/pkg/tcplogger_*.deb "$out/"
else
	cmake --build "$out/build" -j "$(nproc)" --target tcploggerd tcplogctl >/dev/null
fi
echo "$rev" >"$out/rev"
