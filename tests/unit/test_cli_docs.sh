#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# test_cli_docs.sh TCPLOGCTL SOURCE_DIR - tcplogctl's command and option
# tables are the one list: its --help (made from them) names every command
# and option, and the bash completion and the man page offer the same ones,
# each command with exactly its own options.
set -u
CTL=$1
SRC=$2
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

help=$("$CTL" --help) || fail "--help exited non-zero"
# "  dump [--sort KEY] [--limit N] ..." under Commands:, one per command.
mapfile -t cmds < <(sed -n '/^Commands:/,/^$/p' <<<"$help" |
	awk '/^  [a-z]/ { print $1 }')
opt_re='--[a-z][a-z-]*'
cmd_lines=$(sed -n '/^Commands:/,/^$/p' <<<"$help" | awk '/^  [a-z]/')
# Global options: in the Options list, under no command.
mapfile -t globals < <(comm -23 \
	<(sed -n '/^Options:/,/^$/p' <<<"$help" | grep -o -- "$opt_re" | sort -u) \
	<(grep -o -- "$opt_re" <<<"$cmd_lines" | sort -u))
[ ${#cmds[@]} -ge 6 ] || fail "commands in --help: ${cmds[*]}"
comp=$SRC/client/tcplogctl.bash
man=$SRC/man/tcplogctl.1

# The completion's command list.
want=$(printf '%s\n' "${cmds[@]}" | sort | tr '\n' ' ')
got=$(sed -n 's/^\t\t\([a-z|]*\)) cmd=.*/\1/p' "$comp" | tr '|' '\n' | sort | tr '\n' ' ')
[ "$got" = "$want" ] || fail "completion commands '$got', --help '$want'"

for c in "${cmds[@]}"; do
	own=$(awk -v c="$c" '$1 == c' <<<"$cmd_lines" | grep -o -- "$opt_re" | sort -u)
	# The completion offers the command's own options, no other one of
	# another command.
	line=$(grep -E "^\s+$c\) COMPREPLY" "$comp" || grep -E '^\s+\*\) COMPREPLY' "$comp")
	offered=$(grep -o -- "$opt_re" <<<"$line" | sort -u)
	for o in $own; do
		grep -qx -- "$o" <<<"$offered" || fail "completion of $c lacks $o"
	done
	for o in $offered; do
		grep -qx -- "$o" <<<"$own" && continue
		printf '%s\n' "${globals[@]}" | grep -qx -- "$o" && continue
		# An option of another command.
		fail "completion of $c offers $o, which $c does not take"
	done
	# The man page: the command, with each of its options on its line.
	mline=$(grep -E "^\.B $c( |$)" "$man") || { fail "man page lacks $c"; continue; }
	for o in $own; do
		grep -q -- "${o//-/\\\\-}" <<<"$mline" || fail "man page: $c lacks $o"
	done
done
for o in "${globals[@]}"; do
	[ "$o" = --help ] && continue
	grep -q -- "${o//-/\\\\-}" "$man" || fail "man page lacks $o"
done
[ $fails = 0 ] && echo "ok: ${#cmds[@]} commands, their options in --help, completion and man page"
exit $((fails > 0))
