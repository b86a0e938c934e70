#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# bench_dump.sh BUILD_DIR [SIZES...]: wall time of `tcplogctl --json dump`
# and the daemon's peak RSS growth while serving it, beside `bpftool map
# dump -j` of the same map, for maps filled with 10k, 100k and 1M
# synthetic connections (1M is 71 % of the map: below the 90 % at which
# pressure expiry would start removing them). Prints a Markdown table. As root; uses its own
# network namespace (a veth interface, no traffic) and pin path.
set -euo pipefail

build=$(cd "$1" && pwd)
shift
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 1000000)
ns=tlbench$$
pin=/sys/fs/bpf/tlbench$$
work=$(mktemp -d)
sock=$work/tcploggerd.sock
dpid=

cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	"$build/tcploggerd" --config "$work/conf" --detach >/dev/null 2>&1 || true
	rm -rf "$pin" "$work"
	ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$ns"
ip -n "$ns" link add d0 type veth peer name d1
ip -n "$ns" link set d0 up
cat >"$work/conf" <<CONF
interfaces = d0
pin_path = $pin
socket = $sock
socket_group = root
max_connections = 1400000
CONF
nsenter --net=/run/netns/"$ns" "$build/tcploggerd" --config "$work/conf" \
	>"$work/log" 2>&1 &
dpid=$!
for _ in $(seq 200); do
	grep -q Started "$work/log" && break
	sleep 0.05
done
ifindex=$(ip -n "$ns" -o link show d0 | cut -d: -f1)
# The daemon's layout folder: PIN/vN, N = its map ABI.
layout=$pin/v$("$build/tcploggerd" --version | sed -n 's/.*BPF ABI \([0-9]*\).*/\1/p')

ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
median3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }

echo "| entries | tcplogctl dump --json | bpftool map dump -j | speed-up | JSON size | daemon RSS before | daemon peak RSS growth |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for n in "${sizes[@]}"; do
	"$build/tests/fill_map" "$layout" "$n" "$ifindex" >/dev/null
	rss0=$(kb "$dpid" VmRSS)
	echo 5 >"/proc/$dpid/clear_refs" # resets VmHWM to the current RSS
	t=()
	for _ in 1 2 3; do
		t0=$(date +%s%N)
		"$build/tcplogctl" --socket "$sock" --json dump >"$work/out"
		t+=("$(ms "$t0")")
	done
	hwm=$(kb "$dpid" VmHWM)
	size=$(stat -c %s "$work/out")
	got=$(jq '.connections | length' "$work/out")
	[ "$got" = "$n" ] || { echo "dump returned $got of $n entries" >&2; exit 1; }
	b=()
	for _ in 1 2 3; do
		t0=$(date +%s%N)
		bpftool map dump pinned "$layout/conns" -j >/dev/null
		b+=("$(ms "$t0")")
	done
	ours=$(median3 "${t[@]}")
	theirs=$(median3 "${b[@]}")
	printf '| %d | %d ms | %d ms | %.1fx | %.0f MB | %.1f MB | %.1f MB |\n' \
		"$n" "$ours" "$theirs" "$(echo "$theirs / $ours" | bc -l)" \
		"$(echo "$size / 1000000" | bc -l)" "$(echo "$rss0 / 1024" | bc -l)" \
		"$(echo "($hwm - $rss0) / 1024" | bc -l)"
done
