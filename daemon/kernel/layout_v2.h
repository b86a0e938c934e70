/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * layout_v2.h - what map layout 2 (the release before the connection's
 * owner joined the value) pinned, as far as it differs from
 * bpf/tcplogger.h: user space only, for carrying its counts over
 * (migrate.c) and testing that. The key, the totals and the per-CPU state
 * did not change; the value had no cgroup_id, and the shared state's
 * removal record held such a value.
 */
#ifndef TCPLOG_LAYOUT_V2_H
#define TCPLOG_LAYOUT_V2_H

#include <linux/types.h>

#include "tcplogger.h"

#define V2_LAYOUT "v2"

/* Layouts 1 and 2: struct tcplog_conn_val without cgroup_id. */
struct v2_conn_val {
	__u64 counter;
	__u64 bytes_carries;
	__u64 counter_wraps;
	__u64 gso_extra;
	__u64 l2_extra;
	__u64 first_seen_ns;
	__u64 last_seen_ns;
	__u64 tcp_flags;
	__u32 l2_len;
	__u32 pad;
};

struct v2_take {
	__u32 state;
	__u32 reason;
	__u64 entries_before;
	struct tcplog_conn_key key;
	struct v2_conn_val val;
};

struct v2_state {
	__s64 embryonic;
	__u64 pad[7];
	struct v2_take take;
};

_Static_assert(sizeof(struct v2_conn_val) == 72, "layout 2 value");
_Static_assert(sizeof(struct v2_state) == 64 + 16 + 48 + 72, "layout 2 state");

/* The value of this layout, with no owner known. */
static inline void v2_val_upgrade(const struct v2_conn_val *o,
				  struct tcplog_conn_val *n)
{
	*n = (struct tcplog_conn_val){
		.counter = o->counter,
		.bytes_carries = o->bytes_carries,
		.counter_wraps = o->counter_wraps,
		.gso_extra = o->gso_extra,
		.l2_extra = o->l2_extra,
		.first_seen_ns = o->first_seen_ns,
		.last_seen_ns = o->last_seen_ns,
		.tcp_flags = o->tcp_flags,
		.l2_len = o->l2_len,
	};
}

#endif /* TCPLOG_LAYOUT_V2_H */
