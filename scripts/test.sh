#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The whole test suite, as CI runs it: the tests' tools (as root:
# scripts/test-deps.sh), code style, a warnings-as-errors build with every
# test, and an AddressSanitizer + UBSan build with every test. Needs root (or CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON) for the BPF
# tests. With TCPLOGGER_NO_SKIP=1 (set by CI) a test that would skip fails.
#
#   scripts/test.sh [BUILD_DIR_PREFIX]     (default: build-test)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
prefix=${1:-$top/build-test}
jobs=$(nproc 2>/dev/null || echo 2)
cd "$top"

step() { printf '\n=== %s\n' "$*"; }

# The tests' own tools (tshark, the peers, QEMU...): not the daemon's.
if [ "$(id -u)" = 0 ]; then
	step "test tools (scripts/test-deps.sh)"
	"$top/scripts/test-deps.sh"
fi

step "code style (clang-format)"
mapfile -t sources < <(git ls-files '*.c' '*.h' 2>/dev/null ||
	find . -path ./build\* -prune -o -name '*.[ch]' -print)
if ! clang-format --dry-run --Werror "${sources[@]}"; then
	echo "clang-format: run 'clang-format -i' on the files above" >&2
	exit 1
fi
echo "${#sources[@]} files formatted"

run_suite() {
	local dir=$1
	shift
	step "configure $dir ($*)"
	cmake -S "$top" -B "$dir" -DTCPLOG_WERROR=ON "$@" >/dev/null
	step "build $dir"
	cmake --build "$dir" -j "$jobs"
	step "test $dir"
	ctest --test-dir "$dir" --output-on-failure --no-tests=error
}

run_suite "$prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
	run_suite "$prefix-asan" -DCMAKE_BUILD_TYPE=Debug -DTCPLOG_SANITIZE=ON \
	-DTCPLOG_BUILD_BENCH=OFF -DTCPLOG_SYSTEMD_TEST=OFF
step "all suites passed"
