#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# test_metrics.sh - the Prometheus exposition, end to end: promtool checks
# it, a real Prometheus server scrapes the HTTP endpoint in namespace B and
# PromQL must give what the packet capture on vB saw, which is also what
# `dump` (live) plus the expiry records give, across a SIGKILL of the
# daemon; the series stay bounded with 10,000 connections; hostile HTTP
# clients leave the daemon serving.
#
#   test_metrics.sh TCPLOGGERD TCPLOGCTL FILL_MAP [TEST...]
set -u

TCPLOGGERD=$1
TCPLOGCTL=$2
FILL_MAP=$3
shift 3
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

HOSTILE=$E2E_TOP/tests/e2e/httphostile.py
P_HTTP=9477 # metrics_listen
P_PROM=9490 # the Prometheus server

metrics_require() {
	local tool
	for tool in promtool prometheus curl; do
		command -v "$tool" >/dev/null 2>&1 ||
			skip_all "missing tool: $tool (scripts/test-deps.sh installs it)"
	done
}

# ---- a Prometheus server in namespace B, scraping every second ------------------

start_prometheus() {
	rm -rf "$WORK/prom"
	mkdir -p "$WORK/prom"
	cat >"$WORK/prom/prometheus.yml" <<-EOC
		global:
		  scrape_interval: 1s
		  scrape_timeout: 1s
		scrape_configs:
		  - job_name: tcplogger
		    static_configs:
		      - targets: ['127.0.0.1:$P_HTTP']
	EOC
	in_b prometheus --config.file="$WORK/prom/prometheus.yml" \
		--storage.tsdb.path="$WORK/prom/data" \
		--web.listen-address=127.0.0.1:$P_PROM >"$WORK/prom/log" 2>&1 &
	PROM_PID=$!
	BG_PIDS+=($PROM_PID)
	wait_for 1200 sh -c "ip netns exec $NS_B curl -sf http://127.0.0.1:$P_PROM/-/ready >/dev/null" ||
		fail "prometheus is not ready: $(tail -3 "$WORK/prom/log")"
}

# promql QUERY: "LABELS... VALUE" per result, the labels' values in
# name order, sorted.
promql() {
	in_b curl -sf --data-urlencode "query=$1" "http://127.0.0.1:$P_PROM/api/v1/query" |
		jq -r '.data.result[] | [(.metric | to_entries | sort_by(.key) |
			map(.value) | .[]), .value[1]] | join(" ")' | sort
}

# ---- what each side counted, per "DIRECTION FAMILY": PACKETS BYTES IP_BYTES ------------

# From the capture on vB.
capture_sums() {
	capture_flows "$1" | awk '{
		d = ($3 == "198.18.0.2" || $3 == "fd00::2") ? "ingress" : "egress"
		f = index($1, ":") ? "ipv6" : "ipv4"
		p[d " " f] += $5; b[d " " f] += $6; ip[d " " f] += $7
	} END { for (k in p) printf "%s %.0f %.0f %.0f\n", k, p[k], b[k], ip[k] }' | sort
}

# From `dump` (the live entries) and the records of the expired ones.
ours_sums() {
	{
		our_entries | awk '{ print $1, ($2 == 4 ? "ipv4" : "ipv6"), $9, $7, $8 }'
		records | awk '{ print $1, (index($2, ":") ? "ipv6" : "ipv4"), $6, $7, $8 }'
	} | awk '{ k = $1 " " $2; p[k] += $3; b[k] += $4; ip[k] += $5 }
		END { for (k in p) printf "%s %.0f %.0f %.0f\n", k, p[k], b[k], ip[k] }' | sort
}

# From Prometheus, summed over what the iface label splits.
prom_sums() {
	local p b ip
	p=$(promql 'sum by (direction, family) (tcplogger_packets_total{iface="vB"})')
	b=$(promql 'sum by (direction, family) (tcplogger_bytes_total{iface="vB"})')
	ip=$(promql 'sum by (direction, family) (tcplogger_ip_bytes_total{iface="vB"})')
	join -j1 <(printf '%s\n' "$p" | awk '{ print $1 "_" $2, $3 }') \
		<(printf '%s\n' "$b" | awk '{ print $1 "_" $2, $3 }') |
		join -j1 - <(printf '%s\n' "$ip" | awk '{ print $1 "_" $2, $3 }') |
		tr '_' ' ' | sort
}

# (head -c BYTES; sleep SECONDS) to B's ADDR:PORT: a connection that
# stays open (live in the map) while the test looks.
held_flow() {
	{
		head -c "$3" /dev/zero
		sleep "$4"
	} | send_to "$1" "$2"
}

# ---- the tests -----------------------------------------------------------------------

# PromQL = capture = dump + expiry records, per direction and family, with
# connections live and expired, across a SIGKILL of the daemon; counters
# never go back (resets() = 0); the units' bytes add up to the interfaces'.
test_promql_exact() {
	metrics_require
	local want got ours held
	start_prometheus
	capture_start "$NS_B" vB "$WORK/vb.pcapng"
	write_conf "directions=ingress egress" "closed_timeout=1" \
		"metrics_listen=127.0.0.1:$P_HTTP"
	start_daemon || return
	flow $ADDR4_B 7001 5000
	flow $ADDR6_B 7002 70000
	wait_for 400 sh -c "[ \"\$($TCPLOGCTL --socket $SOCK --json dump | jq '.connections | length')\" = 0 ]" ||
		fail "the first connections did not expire"
	# Prometheus has seen them before the kill.
	wait_for 800 sh -c "[ -n \"\$(ip netns exec $NS_B curl -sf --data-urlencode 'query=tcplogger_packets_total{family=\"ipv6\"} > 0' http://127.0.0.1:$P_PROM/api/v1/query | jq -r '.data.result[]')\" ]" ||
		fail "no scrape saw the first connections"
	stop_daemon KILL
	start_daemon || return
	flow $ADDR4_B 7003 30000
	held_flow $ADDR4_B 7004 3000 60 &
	held=$!
	BG_PIDS+=($held)
	wait_for 400 sh -c "[ \"\$($TCPLOGCTL --socket $SOCK --json dump | jq '[.connections[] | select(.dst_port == 7004 or .src_port == 7004)] | length')\" = 2 ]" ||
		fail "the held connection is not counted"
	wait_for 400 sh -c "[ \"\$($TCPLOGCTL --socket $SOCK --json dump | jq '.connections | length')\" = 2 ]" ||
		fail "the other connections did not expire"
	stop_captures
	want=$(capture_sums "$WORK/vb.pcapng")
	# A scan, then a scrape, then the evaluation: a few seconds. The sums
	# count a connection alike live or expired, so they may match in a
	# scrape from before the last removals: wait for one that also has
	# the expiry counts the records say.
	local i fin
	fin=$(records | awk '$9 == "fin"' | wc -l)
	for ((i = 0; i < 60; i++)); do
		got=$(prom_sums)
		[ "$got" = "$want" ] &&
			[ "$(promql 'tcplogger_expired_total{reason="fin"}' | awk '{ print $NF }')" = "$fin" ] &&
			break
		sleep 0.5
	done
	ours=$(ours_sums)
	if [ -z "$want" ] || [ "$got" != "$want" ] || [ "$ours" != "$want" ]; then
		fail "per direction and family (packets bytes ip_bytes) differ"
		say "capture:"; printf '%s\n' "$want" | sed 's/^/      /'
		say "PromQL:"; printf '%s\n' "$got" | sed 's/^/      /'
		say "dump + expiry records:"; printf '%s\n' "$ours" | sed 's/^/      /'
	else
		say "PromQL = capture = dump + records: $(printf '%s\n' "$want" | wc -l) direction/family pairs, a held connection live"
	fi
	expect_eq "counter resets across the kill" \
		"$(promql 'sum(resets(tcplogger_bytes_total[10m])) + sum(resets(tcplogger_packets_total[10m]))')" 0
	expect_eq "the units' bytes = the interfaces' bytes" \
		"$(promql 'sum(tcplogger_unit_bytes_total)')" "$(promql 'sum(tcplogger_bytes_total)')"
	expect_eq "expired by reason (fin), as the records say" \
		"$(promql 'tcplogger_expired_total{reason="fin"}' | awk '{ print $NF }')" "$fin"
	expect_eq "attached hooks" "$(promql 'sum(tcplogger_attached)')" 2
	dashboard_queries
	kill_tree "$held"
}

# Every query of docs/grafana-dashboard.json evaluates (its variables as
# Grafana fills them), and those of the traffic give a result.
dashboard_queries() {
	local expr out bad=0 n=0
	while IFS= read -r expr; do
		expr=${expr//\$instance/.*}
		expr=${expr//\$__rate_interval/1m}
		out=$(in_b curl -s --data-urlencode "query=$expr" "http://127.0.0.1:$P_PROM/api/v1/query")
		n=$((n + 1))
		if [ "$(jq -r .status <<<"$out")" != success ]; then
			fail "dashboard query '$expr': $out"
			bad=1
		elif [[ $expr == *bytes_total* ]] && [ "$(jq '.data.result | length' <<<"$out")" = 0 ]; then
			fail "dashboard query '$expr' gives nothing"
			bad=1
		fi
	done < <(jq -r '.panels[].targets[].expr' "$E2E_TOP/docs/grafana-dashboard.json")
	[ $bad = 0 ] && say "the dashboard's $n queries evaluate"
}

# promtool finds nothing to say, over the socket and over HTTP; both
# carry the same exposition; the socket's answer is the contract's.
test_promtool() {
	metrics_require
	write_conf "directions=ingress egress" "metrics_listen=127.0.0.1:$P_HTTP"
	start_daemon || return
	flow $ADDR4_B 7101 4000
	wait_counted
	ctl metrics >"$WORK/socket.prom" || fail "tcplogctl metrics"
	promtool check metrics <"$WORK/socket.prom" >"$WORK/promtool.out" 2>&1 ||
		fail "promtool (socket): $(cat "$WORK/promtool.out")"
	[ -s "$WORK/promtool.out" ] && fail "promtool has remarks: $(cat "$WORK/promtool.out")"
	in_b curl -sf -D "$WORK/http.head" http://127.0.0.1:$P_HTTP/metrics >"$WORK/http.prom" ||
		fail "GET /metrics"
	promtool check metrics <"$WORK/http.prom" >"$WORK/promtool.out" 2>&1 ||
		fail "promtool (HTTP): $(cat "$WORK/promtool.out")"
	grep -qi '^content-type: text/plain; version=0.0.4' "$WORK/http.head" ||
		fail "content type: $(grep -i content-type "$WORK/http.head")"
	expect_eq "the same metric families" \
		"$(grep '^# TYPE' "$WORK/socket.prom")" "$(grep '^# TYPE' "$WORK/http.prom")"
	expect_eq "the socket's content_type" \
		"$(ctl --json metrics | jq -r .content_type)" "text/plain; version=0.0.4"
	expect_eq "HEAD /metrics" \
		"$(in_b curl -s -o /dev/null -w '%{http_code}' -I http://127.0.0.1:$P_HTTP/metrics)" 200
	expect_eq "POST /metrics" \
		"$(in_b curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:$P_HTTP/metrics)" 405
	expect_eq "GET /" "$(in_b curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$P_HTTP/)" 404
	promtool check rules "$E2E_TOP/docs/prometheus-alerts.yml" >"$WORK/rules.out" 2>&1 ||
		fail "docs/prometheus-alerts.yml: $(cat "$WORK/rules.out")"
	say "promtool: no remarks (socket, HTTP); $(grep -c '^# TYPE' "$WORK/http.prom") metric families; the alert rules check"
}

# 10,000 connections (fill_map: entry i has 10 + i % 1000 packets, all
# ingress IPv4 on vB, no owner) add one interface series per metric and
# one unit series: nothing per connection; and their sum is exact.
test_bounded() {
	metrics_require
	local n=10000 ifindex want before after
	write_conf "metrics_listen=127.0.0.1:$P_HTTP" "max_connections=65536"
	start_daemon || return
	wait_counted
	before=$(ctl metrics | grep -vc '^#')
	ifindex=$(ip -n "$NS_B" -o link show vB | cut -d: -f1)
	"$FILL_MAP" "$(pin_layout)" $n "$ifindex" >/dev/null || { fail "fill_map"; return; }
	want=$(awk -v n=$n 'BEGIN { for (i = 0; i < n; i++) s += 10 + i % 1000; printf "%.0f", s }')
	wait_counted
	ctl metrics >"$WORK/m.prom"
	after=$(grep -vc '^#' "$WORK/m.prom")
	expect_eq "series added by $n connections" $((after - before)) 5
	expect_eq "packets of the $n connections" \
		"$(awk '/^tcplogger_packets_total\{iface="vB",direction="ingress",family="ipv4"\}/ { print $2 }' "$WORK/m.prom")" "$want"
	expect_eq "map entries" "$(awk '$1 == "tcplogger_map_entries" { print $2 }' "$WORK/m.prom")" $n
	say "$n connections: $before series before, $after after; packets = written ($want)"
}

# Slow clients holding connections, many at once, a huge header, junk:
# the limits hold, another address is still served, the socket API
# answers, and once they are gone the endpoint serves everyone again.
test_hostile_http() {
	metrics_require
	local out
	write_conf "metrics_listen=$ADDR4_B:$P_HTTP"
	start_daemon || return
	in_b "$PY" "$HOSTILE" hold $ADDR4_B $P_HTTP 200 12 >"$WORK/hold.out" &
	local hold=$!
	BG_PIDS+=($hold)
	sleep 2
	out=$(in_a "$PY" "$HOSTILE" get $ADDR4_B $P_HTTP)
	case $out in
	"HTTP/1.1 200 OK "[1-9]*) say "while 200 slow clients hold on: another address gets $out samples" ;;
	*) fail "a scrape from another address while slow clients hold on: '$out'" ;;
	esac
	ctl --json stats | jq -e '.ok' >/dev/null || fail "the socket API does not answer"
	out=$(in_a "$PY" "$HOSTILE" huge $ADDR4_B $P_HTTP 1000000)
	case $out in
	"HTTP/1.1 431"* | "HTTP/1.1 413"* | closed) say "a 1 MB header: $out" ;;
	*) fail "a 1 MB header got '$out'" ;;
	esac
	out=$(in_a "$PY" "$HOSTILE" garbage $ADDR4_B $P_HTTP)
	case $out in
	"HTTP/1.1 400"* | closed) say "junk: $out" ;;
	*) fail "junk got '$out'" ;;
	esac
	wait "$hold"
	say "slow clients: $(cat "$WORK/hold.out") (at most $((8)) from one address)"
	awk '{ exit !($2 <= 8) }' "$WORK/hold.out" || fail "more than 8 connections from one address"
	out=$(in_b "$PY" "$HOSTILE" get $ADDR4_B $P_HTTP)
	case $out in
	"HTTP/1.1 200 OK "[1-9]*) ;;
	*) fail "a scrape after the slow clients left: '$out'" ;;
	esac
	kill -0 "$DPID" 2>/dev/null || fail "the daemon died"
}

DEFAULT_TESTS=(test_promtool test_promql_exact test_bounded test_hostile_http)

e2e_main "$@"
