#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# capmatrix.sh CAPPROBE IFNAME PINDIR: which capability each of
# tcploggerd's kernel operations needs, measured on this kernel. Each
# operation runs alone (its state prepared as full root) with the unit's
# bounding set (CAP_BPF CAP_NET_ADMIN CAP_PERFMON), then with each of the
# three removed, then with none. Prints a Markdown table; exits 1 if an operation the daemon
# performs fails with the unit's set.
set -u
probe=$1 ifname=$2 pin=$3
mkdir -p "$pin"

sets=("bpf,net_admin,perfmon" "net_admin,perfmon" "bpf,perfmon" "bpf,net_admin" "")
run_as() { # CAPS OP
	local bset=-all
	[ -n "$1" ] && bset+=,+${1//,/,+}
	setpriv --bounding-set="$bset" --inh-caps=-all --no-new-privs \
		"$probe" "$2" "$pin" "$ifname" 2>&1 | head -n1
}
root() { "$probe" "$1" "$pin" "$ifname" >/dev/null 2>&1; }
prepare() {
	root cleanup
	case $1 in
	load) ;;
	tcx-update) root load && root tcx-attach ;;
	tc-replace | tc-query) root load && root tc-attach ;;
	*) root load ;;
	esac
}

tcx=yes
prepare tcx-attach
root tcx-attach || tcx=no # EINVAL before Linux 6.6
root cleanup

echo "kernel $(uname -r), TCX $tcx"
echo
echo "| operation | unit set | without CAP_BPF | without CAP_NET_ADMIN | without CAP_PERFMON | none of them |"
echo "|---|---|---|---|---|---|"
bad=0
ops=(load pin read tc-attach tc-replace tc-query prog-by-id)
[ $tcx = yes ] && ops+=(tcx-attach tcx-update)
for op in "${ops[@]}"; do
	row="| $op"
	for i in "${!sets[@]}"; do
		prepare "$op"
		r=$(run_as "${sets[$i]}" "$op")
		row+=" | $r"
		# Every operation but prog-by-id is the daemon's: it must work
		# with the unit's set.
		if [ "$i" = 0 ] && [ "$r" != ok ] && [ "$op" != prog-by-id ]; then
			bad=1
		fi
		root cleanup
	done
	echo "$row |"
done
rmdir "$pin" 2>/dev/null
exit $bad
