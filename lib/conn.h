/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * conn.h - reading the maps' raw values into the contract's counters.
 * User space only. This is the one place that knows which fields the BPF
 * program stores and which are derived (see struct tcplog_conn_val).
 */
#ifndef TCPLOG_CONN_H
#define TCPLOG_CONN_H

#include <stdbool.h>
#include <linux/types.h>

#include "tcplogger.h"

/* The per-connection values users see (docs/REFERENCE.md). */
struct tcplog_conn_counts {
	__u64 bytes;
	__u64 ip_bytes;
	__u64 packets;
	__u64 segments;
	__u64 tcp_flags; /* the TCP flags only (TCPLOG_TCP_FLAGS_MASK) */
	__u64 first_seen_ns; /* CLOCK_BOOTTIME */
	__u64 last_seen_ns; /* CLOCK_BOOTTIME */
	__u64 cgroup_id; /* the owner; 0: none */
	bool embryonic; /* every packet carried SYN (TCPLOG_CONN_EMBRYONIC) */
	bool syn_sent; /* a SYN without ACK was seen (TCPLOG_CONN_SYN_SENT) */
	bool syn_ack; /* a SYN with ACK was seen (TCPLOG_CONN_SYN_ACK) */
};

void tcplog_conn_derive(const struct tcplog_conn_val *val,
			struct tcplog_conn_counts *out);

/* A connection is closed once a FIN or an RST was seen. */
bool tcplog_conn_is_closed(__u64 tcp_flags);

/*
 * A connection seen in both directions: @a, and @b (NULL when the other
 * direction is not in the map: not hooked, or not seen yet). Closed once
 * either side reset it, once both sides sent a FIN, or, with one side
 * only, once it carries a FIN or RST (the flow view's rule).
 */
bool tcplog_pair_is_closed(const struct tcplog_conn_counts *a,
			   const struct tcplog_conn_counts *b);

/* How the side that opened a connection was told. */
enum tcplog_opened {
	TCPLOG_OPENED_SYN, /* its SYN (without ACK) was seen */
	TCPLOG_OPENED_SYN_ACK, /* only the answer's SYN-ACK was seen */
	TCPLOG_OPENED_UNKNOWN, /* no SYN seen: the first direction seen */
};

/*
 * Whether @a's sender opened the connection (else @b's, which may be
 * absent: a SYN-ACK in @a says its receiver did); *how says on what
 * grounds. Both sent a SYN (a simultaneous open), or neither: the
 * direction seen first; a tie goes to @a.
 */
bool tcplog_pair_a_opened(const struct tcplog_conn_counts *a,
			  const struct tcplog_conn_counts *b,
			  enum tcplog_opened *how);

/* Sums the datapath stats of the per-CPU copies of the program state. */
void tcplog_stats_sum(const struct tcplog_percpu *percpu, int ncpus,
		      struct tcplog_dp_stats *out);

/* Packets seen: each packet lands in exactly one bucket. */
__u64 tcplog_stats_seen(const struct tcplog_dp_stats *stats);

/* Name of a bucket as the API shows it ("non_tcp"), NULL if out of range. */
const char *tcplog_stat_name(unsigned int stat);

/* The key of the other direction of a connection at the same hook. */
void tcplog_key_reverse(const struct tcplog_conn_key *k,
			struct tcplog_conn_key *out);

#endif /* TCPLOG_CONN_H */
