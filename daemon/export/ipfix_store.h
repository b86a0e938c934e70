/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ipfix_store.h - what the exporter must not forget when it is killed:
 * the one owner of its two pinned maps (beside the others, in the layout
 * folder):
 *
 *   ipfix_sent     hash: connection key -> struct ipfix_pos, what was
 *                  exported of each entry that had a record while it lives
 *   ipfix_journal  one element (BPF_F_MMAPABLE): the records of the
 *                  message being built, written before their positions
 *                  change, so that a daemon killed at any point sends
 *                  them at its next start: no record sent twice (but for
 *                  a kill inside the send itself, docs/IPFIX.md), no delta
 *                  lost.
 *
 * Both are the daemon's only; the BPF program never sees them.
 */
#ifndef TCPLOG_IPFIX_STORE_H
#define TCPLOG_IPFIX_STORE_H

#include <stdint.h>

#include "ipfix_rec.h"

#define IPFIX_JOURNAL_MAGIC 0x544c4a31 /* "TLJ1" */
/* More than a message holds: the shortest record is 61 bytes. */
#define IPFIX_JOURNAL_RECS 32

enum ipfix_journal_state {
	IPFIX_JOURNAL_EMPTY = 0,
	IPFIX_JOURNAL_BUILDING = 1, /* recs[0..n) to send, positions set */
	IPFIX_JOURNAL_SENDING = 2, /* handed to the collectors' sockets */
};

struct ipfix_journal {
	__u32 magic;
	__u32 state; /* enum ipfix_journal_state */
	__u32 n; /* records written; each published by this count */
	__u32 pad;
	struct ipfix_rec recs[IPFIX_JOURNAL_RECS];
};

struct ipfix_store {
	int sent_fd, journal_fd;
	struct ipfix_journal *j; /* mapped */
};

/*
 * Opens the pinned maps in @dir, making them if they are not there (the
 * position map sized for @capacity entries; a smaller one pinned before is
 * replaced with its entries carried over).
 */
int ipfix_store_open(struct ipfix_store *s, const char *dir, uint32_t capacity);
void ipfix_store_close(struct ipfix_store *s);

/* The position of one entry: 0, or -ENOENT. */
int ipfix_store_get(const struct ipfix_store *s,
		    const struct tcplog_conn_key *key, struct ipfix_pos *out);

/* Sets or forgets the positions a record says (idempotent). */
int ipfix_store_apply(const struct ipfix_store *s, const struct ipfix_rec *r);

/* Forgets every position; returns how many, or a negative errno. */
long ipfix_store_clear(const struct ipfix_store *s);

#endif /* TCPLOG_IPFIX_STORE_H */
