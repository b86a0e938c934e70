// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* conn.c - raw map values to the contract's counters. */
#include <stddef.h>
#include <string.h>

#include "conn.h"

void tcplog_conn_derive(const struct tcplog_conn_val *val,
			struct tcplog_conn_counts *out)
{
	/* See struct tcplog_conn_val for the encoding. */
	out->bytes = (val->counter & TCPLOG_COUNTER_BYTES_MASK) +
		     (val->bytes_carries << 32);
	out->packets = (val->counter_wraps << 32) + (val->counter >> 32) -
		       val->bytes_carries;
	out->segments = out->packets + val->gso_extra;
	/* Unsigned arithmetic wraps mod 2^64, as l2_extra was summed. */
	out->ip_bytes =
		out->bytes - out->packets * (__u64)val->l2_len - val->l2_extra;
	out->tcp_flags = val->tcp_flags & TCPLOG_TCP_FLAGS_MASK;
	out->embryonic = val->tcp_flags & TCPLOG_CONN_EMBRYONIC;
	out->first_seen_ns = val->first_seen_ns;
	out->last_seen_ns = val->last_seen_ns;
	out->cgroup_id = val->cgroup_id;
	out->syn_sent = val->tcp_flags & TCPLOG_CONN_SYN_SENT;
	out->syn_ack = val->tcp_flags & TCPLOG_CONN_SYN_ACK;
}

bool tcplog_conn_is_closed(__u64 tcp_flags)
{
	return tcp_flags & (TCPLOG_TCP_FIN | TCPLOG_TCP_RST);
}

bool tcplog_pair_is_closed(const struct tcplog_conn_counts *a,
			   const struct tcplog_conn_counts *b)
{
	if (!b)
		return tcplog_conn_is_closed(a->tcp_flags);
	if ((a->tcp_flags | b->tcp_flags) & TCPLOG_TCP_RST)
		return true;
	return (a->tcp_flags & TCPLOG_TCP_FIN) &&
	       (b->tcp_flags & TCPLOG_TCP_FIN);
}

bool tcplog_pair_a_opened(const struct tcplog_conn_counts *a,
			  const struct tcplog_conn_counts *b,
			  enum tcplog_opened *how)
{
	bool b_sent = b && b->syn_sent;

	*how = TCPLOG_OPENED_SYN;
	if (a->syn_sent != b_sent)
		return a->syn_sent;
	if (!a->syn_sent) {
		*how = TCPLOG_OPENED_SYN_ACK;
		if (a->syn_ack != (b && b->syn_ack))
			return !a->syn_ack;
		*how = TCPLOG_OPENED_UNKNOWN;
	}
	return !b || a->first_seen_ns <= b->first_seen_ns;
}

void tcplog_stats_sum(const struct tcplog_percpu *percpu, int ncpus,
		      struct tcplog_dp_stats *out)
{
	int cpu, i;

	for (i = 0; i < TCPLOG_STAT_MAX; i++)
		out->count[i] = 0;
	for (cpu = 0; cpu < ncpus; cpu++)
		for (i = 0; i < TCPLOG_STAT_MAX; i++)
			out->count[i] += percpu[cpu].stats.count[i];
}

__u64 tcplog_stats_seen(const struct tcplog_dp_stats *stats)
{
	__u64 seen = 0;
	int i;

	for (i = 0; i < TCPLOG_STAT_MAX; i++)
		seen += stats->count[i];
	return seen;
}

static const char *const stat_names[TCPLOG_STAT_MAX] = {
	[TCPLOG_STAT_COUNTED] = "counted",
	[TCPLOG_STAT_NON_IP] = "non_ip",
	[TCPLOG_STAT_NON_TCP] = "non_tcp",
	[TCPLOG_STAT_MALFORMED] = "malformed",
	[TCPLOG_STAT_TRUNCATED] = "truncated",
	[TCPLOG_STAT_FRAGMENT] = "fragment",
	[TCPLOG_STAT_INSERT_FULL] = "insert_failed_full",
	[TCPLOG_STAT_INSERT_OTHER] = "insert_failed_other",
};

const char *tcplog_stat_name(unsigned int stat)
{
	return stat < TCPLOG_STAT_MAX ? stat_names[stat] : NULL;
}

void tcplog_key_reverse(const struct tcplog_conn_key *k,
			struct tcplog_conn_key *out)
{
	*out = *k;
	memcpy(out->src_addr, k->dst_addr, sizeof(out->src_addr));
	memcpy(out->dst_addr, k->src_addr, sizeof(out->dst_addr));
	out->src_port = k->dst_port;
	out->dst_port = k->src_port;
	out->direction = k->direction == TCPLOG_DIR_INGRESS ?
				 TCPLOG_DIR_EGRESS :
				 TCPLOG_DIR_INGRESS;
}
