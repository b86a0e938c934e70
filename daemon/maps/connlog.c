// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* connlog.c - the connection log: journal fields or an stderr line. */
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <systemd/sd-journal.h>

#include "connlog.h"
#include "log.h"
#include "tcplogger.h"

static const char *const reason_names[TCPLOG_REASON_MAX] = {
	[TCPLOG_REASON_FIN] = "fin",
	[TCPLOG_REASON_RST] = "rst",
	[TCPLOG_REASON_IDLE] = "idle",
	[TCPLOG_REASON_PRESSURE] = "pressure",
	[TCPLOG_REASON_UPGRADE] = "upgrade",
};

const char *tcplog_reason_name(int reason)
{
	return reason >= 0 && reason < TCPLOG_REASON_MAX ?
		       reason_names[reason] :
		       "?";
}

/* Whether a journal listens: decided once; stderr otherwise. */
static int journal_state = -1;

static bool have_journal(void)
{
	if (journal_state < 0)
		journal_state = access("/run/systemd/journal/socket", W_OK) ==
				0;
	return journal_state;
}

void connlog_record(const struct conn_rec *r, int reason,
		    const struct tcplog_clock *clock, const char *ifname,
		    const char *unit)
{
	const struct tcplog_conn_key *k = &r->key;
	char src[TCPLOG_ADDR_STRLEN], dst[TCPLOG_ADDR_STRLEN];
	char flags[TCPLOG_FLAGS_STRLEN], first[TCPLOG_TIME_STRLEN],
		last[TCPLOG_TIME_STRLEN], vlan[TCPLOG_VLAN_STRLEN];
	const char *dir = k->direction == TCPLOG_DIR_EGRESS ? "egress" :
							      "ingress";
	unsigned long long dur_us =
		r->c.last_seen_ns > r->c.first_seen_ns ?
			(r->c.last_seen_ns - r->c.first_seen_ns) / 1000 :
			0;
	unsigned int sport = ntohs(k->src_port), dport = ntohs(k->dst_port);

	tcplog_format_addr(k->family, k->src_addr, src, sizeof(src));
	tcplog_format_addr(k->family, k->dst_addr, dst, sizeof(dst));
	tcplog_format_tcp_flags(r->c.tcp_flags, ",", flags, sizeof(flags));
	tcplog_format_vlan(k, ",", vlan, sizeof(vlan));
	tcplog_format_rfc3339(tcplog_boot_to_unix_ns(clock, r->c.first_seen_ns),
			      first, sizeof(first));
	tcplog_format_rfc3339(tcplog_boot_to_unix_ns(clock, r->c.last_seen_ns),
			      last, sizeof(last));

	if (have_journal() &&
	    sd_journal_send(
		    "MESSAGE=Connection %s %s%s%s:%u -> %s%s%s:%u on %s %s "
		    "(%s): %llu bytes, %llu packets in %llu.%06llu s",
		    reason == TCPLOG_REASON_IDLE ||
				    reason == TCPLOG_REASON_PRESSURE ?
			    "expired" :
			    "closed",
		    k->family == 6 ? "[" : "", src, k->family == 6 ? "]" : "",
		    sport, k->family == 6 ? "[" : "", dst,
		    k->family == 6 ? "]" : "", dport, ifname, dir,
		    tcplog_reason_name(reason), (unsigned long long)r->c.bytes,
		    (unsigned long long)r->c.packets, dur_us / 1000000,
		    dur_us % 1000000, "PRIORITY=%d", LOG_INFO,
		    "SYSLOG_IDENTIFIER=tcploggerd", "TCPLOG_REASON=%s",
		    tcplog_reason_name(reason), "TCPLOG_IFNAME=%s", ifname,
		    "TCPLOG_IFINDEX=%u", k->ifindex, "TCPLOG_DIRECTION=%s", dir,
		    "TCPLOG_FAMILY=ipv%d", k->family, "TCPLOG_VLAN=%s", vlan,
		    "TCPLOG_SRC_IP=%s", src, "TCPLOG_SRC_PORT=%u", sport,
		    "TCPLOG_DST_IP=%s", dst, "TCPLOG_DST_PORT=%u", dport,
		    "TCPLOG_BYTES=%llu", (unsigned long long)r->c.bytes,
		    "TCPLOG_IP_BYTES=%llu", (unsigned long long)r->c.ip_bytes,
		    "TCPLOG_PACKETS=%llu", (unsigned long long)r->c.packets,
		    "TCPLOG_SEGMENTS=%llu", (unsigned long long)r->c.segments,
		    "TCPLOG_TCP_FLAGS=%s", flags, "TCPLOG_FIRST_SEEN=%s", first,
		    "TCPLOG_LAST_SEEN=%s", last, "TCPLOG_DURATION_US=%llu",
		    dur_us, "TCPLOG_CGROUP_ID=%llu",
		    (unsigned long long)r->c.cgroup_id, "TCPLOG_UNIT=%s",
		    unit ? unit : "", NULL) == 0)
		return;
	/* No journal: the same record as one line. */
	fprintf(stderr,
		"<%d>connection reason=%s ifname=%s ifindex=%u direction=%s "
		"family=ipv%d vlan=%s src_ip=%s src_port=%u dst_ip=%s "
		"dst_port=%u "
		"bytes=%llu ip_bytes=%llu packets=%llu segments=%llu "
		"tcp_flags=%s first_seen=%s last_seen=%s duration_us=%llu "
		"cgroup_id=%llu unit=%s\n",
		LOG_INFO, tcplog_reason_name(reason), ifname, k->ifindex, dir,
		k->family, vlan[0] ? vlan : "-", src, sport, dst, dport,
		(unsigned long long)r->c.bytes,
		(unsigned long long)r->c.ip_bytes,
		(unsigned long long)r->c.packets,
		(unsigned long long)r->c.segments, flags[0] ? flags : "-",
		first, last, dur_us, (unsigned long long)r->c.cgroup_id,
		unit ? unit : "-");
}

void connlog_tick(struct connlog *cl, uint64_t now_ms)
{
	if (now_ms - cl->window_start_ms < CONNLOG_WINDOW_MS &&
	    cl->window_start_ms)
		return;
	if (cl->suppressed_in_window)
		log_warn("Suppressed %llu connection records in the last %llu "
			 "s (at most %d per %d s, under journald's default "
			 "rate limit); their counts are in the totals (stats: "
			 "expired_*), %llu suppressed since the start",
			 (unsigned long long)cl->suppressed_in_window,
			 (unsigned long long)((now_ms - cl->window_start_ms) /
					      1000),
			 CONNLOG_WINDOW_MAX, CONNLOG_WINDOW_MS / 1000,
			 (unsigned long long)cl->suppressed);
	cl->window_start_ms = now_ms;
	cl->in_window = cl->suppressed_in_window = 0;
}

void connlog_emit(struct connlog *cl, const struct conn_rec *r, int reason,
		  const struct tcplog_clock *clock, const char *ifname,
		  const char *unit, uint64_t now_ms)
{
	connlog_tick(cl, now_ms);
	if (cl->in_window >= CONNLOG_WINDOW_MAX) {
		cl->suppressed_in_window++;
		cl->suppressed++;
		return;
	}
	cl->in_window++;
	cl->records++;
	connlog_record(r, reason, clock, ifname, unit);
}
