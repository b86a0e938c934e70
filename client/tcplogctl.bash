# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# bash completion for tcplogctl(1)
_tcplogctl()
{
	local cur prev cmd i
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		dump|watch|stats|health|reset|version|metrics) cmd=${COMP_WORDS[i]} ;;
		esac
	done
	case $prev in
	--socket) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--sort) COMPREPLY=($(compgen -W "bytes packets segments first_seen last_seen" -- "$cur")); return ;;
	--state) COMPREPLY=($(compgen -W "open closed" -- "$cur")); return ;;
	--iface) COMPREPLY=($(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur")); return ;;
	--limit|--port|--host|--vlan|--unit|--interval) return ;;
	esac
	case $cmd in
	"") COMPREPLY=($(compgen -W "dump watch stats health reset version metrics --socket --json --human --help" -- "$cur")) ;;
	dump) COMPREPLY=($(compgen -W "--sort --limit --iface --host --port --state --vlan --unit --connections --json --human --socket" -- "$cur")) ;;
	watch) COMPREPLY=($(compgen -W "--interval --sort --limit --human --socket" -- "$cur")) ;;
	*) COMPREPLY=($(compgen -W "--json --socket" -- "$cur")) ;;
	esac
}
complete -F _tcplogctl tcplogctl
