/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ipfix_rec.h - one IPFIX record as the exporter decides it, before it is
 * encoded. The layout is also that of the pinned journal (ipfix_store.h):
 * a record is written there before the message carrying it is sent, so
 * fixed-width types, explicit padding and asserted sizes, like the
 * kernel/user contract. All fields are host byte order but the keys'
 * (bpf/tcplogger.h).
 */
#ifndef TCPLOG_IPFIX_REC_H
#define TCPLOG_IPFIX_REC_H

#include <linux/types.h>

#include "tcplogger.h"

/*
 * What was exported of one direction of a connection so far: its counts
 * at the last record, and when that record was made (CLOCK_BOOTTIME).
 * The next record carries the counts since, so the collector's sums are
 * the counts.
 */
struct ipfix_pos {
	__u64 bytes;
	__u64 ip_bytes;
	__u64 packets;
	__u64 at_ns;
};

/* The counts one record carries for one direction: since the last. */
struct ipfix_delta {
	__u64 bytes; /* layer2OctetDeltaCount */
	__u64 ip_bytes; /* octetDeltaCount */
	__u64 packets; /* packetDeltaCount */
	__u16 tcp_flags; /* tcpControlBits: the union seen so far */
	__u8 pad[6];
};

/* What a record does to the stored position of one direction. */
enum ipfix_pos_op {
	IPFIX_POS_NONE = 0, /* no entry on that side (a biflow's peer) */
	IPFIX_POS_SET, /* the entry lives on: its position is now @pos */
	IPFIX_POS_DELETE, /* the entry was removed: forget its position */
};

/* flowEndReason (IANA IE 136). */
enum ipfix_end_reason {
	IPFIX_END_IDLE = 1,
	IPFIX_END_ACTIVE = 2,
	IPFIX_END_DETECTED = 3, /* FIN or RST */
	IPFIX_END_FORCED = 4,
	IPFIX_END_RESOURCES = 5, /* removed early: the map nearly full */
};

/*
 * One record. Uniflow: side 0 only. Biflow (RFC 5103): side 0 is the
 * direction of the side that opened the connection (its sender is the
 * record's source), side 1 the reply.
 */
struct ipfix_rec {
	struct tcplog_conn_key key[2];
	struct ipfix_pos pos[2]; /* the new positions (op SET) */
	struct ipfix_delta d[2];
	__u64 start_ms; /* flowStartMilliseconds, Unix time */
	__u64 end_ms; /* flowEndMilliseconds */
	__u8 op[2]; /* enum ipfix_pos_op per side */
	__u8 reason; /* enum ipfix_end_reason */
	__u8 biflow; /* 1: a biflow record */
	__u8 initiator; /* biflow: 1 if side 0 is known to have opened */
	__u8 pad[3];
};

_Static_assert(sizeof(struct ipfix_pos) == 32, "ipfix position layout");
_Static_assert(sizeof(struct ipfix_delta) == 32, "ipfix delta layout");
_Static_assert(sizeof(struct ipfix_rec) == 2 * 48 + 2 * 32 + 2 * 32 + 16 + 8,
	       "ipfix record layout");

#endif /* TCPLOG_IPFIX_REC_H */
