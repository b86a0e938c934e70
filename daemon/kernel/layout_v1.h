/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * layout_v1.h - what map layout 1 (the release before VLAN IDs joined the
 * key) pinned, as far as it differs from bpf/tcplogger.h: user space
 * only, for carrying its counts over (migrate.c) and testing that. Its
 * value is layout 2's (layout_v2.h); the per-CPU state did not change.
 */
#ifndef TCPLOG_LAYOUT_V1_H
#define TCPLOG_LAYOUT_V1_H

#include <linux/types.h>

#define V1_LAYOUT "v1"
#define V1_REASONS 4

struct v1_conn_key {
	__u8 src_addr[16];
	__u8 dst_addr[16];
	__u32 ifindex;
	__be16 src_port;
	__be16 dst_port;
	__u8 direction;
	__u8 family;
	__u16 pad;
};

struct v1_totals {
	__u64 entries;
	__u64 bytes;
	__u64 ip_bytes;
	__u64 packets;
	__u64 segments;
	__u64 reason[V1_REASONS]; /* fin, rst, idle, pressure */
};

_Static_assert(sizeof(struct v1_conn_key) == 44, "layout 1 key");
_Static_assert(sizeof(struct v1_totals) == 72, "layout 1 totals");

#endif /* TCPLOG_LAYOUT_V1_H */
