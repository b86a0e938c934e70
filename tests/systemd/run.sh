#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# run.sh BUILD_DIR: builds the .deb of that build with CPack, then runs
# test_systemd.sh on it.
set -eu
build=$(cd "$1" && pwd)
rm -rf "$build/pkg"
cpack --config "$build/CPackConfig.cmake" -B "$build/pkg" >/dev/null
exec "$(dirname "$0")/test_systemd.sh" "$(ls "$build"/pkg/tcplogger_*.deb)"
