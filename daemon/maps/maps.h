/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * maps.h - the one owner of the pinned maps in user space.
 *
 * Everything the daemon does with the maps goes through here: walks of the
 * connection map (batched where the kernel and libbpf allow, key by key
 * otherwise), lookups, lookup-and-delete into the totals, counts, the sum
 * of the per-CPU statistics, loading and saving the totals, and reset.
 * Nothing else in the daemon calls bpf_map_*() on these maps; the rest asks
 * this module. Every function returns 0 or a negative errno unless it says
 * otherwise.
 */
#ifndef TCPLOG_MAPS_H
#define TCPLOG_MAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "tcplogger.h"

/* One entry of the connection map, as users see it. */
struct conn_rec {
	struct tcplog_conn_key key;
	struct tcplog_conn_counts c;
};

struct maps {
	int conns_fd; /* hash: key -> counters */
	int percpu_fd; /* per-CPU statistics and clock cache; -1: none */
	int totals_fd; /* what expiry removed; -1: none */
	uint32_t capacity; /* max_entries of conns */
	/* The mapped SYN state (struct tcplog_state); NULL: none. */
	struct tcplog_state *state;
	/* The totals: kept here, saved to totals_fd by maps_totals_save(). */
	struct tcplog_totals totals;
};

/* Takes the descriptors (not their ownership). Totals start at zero. */
void maps_init(struct maps *m, int conns_fd, int percpu_fd, int totals_fd,
	       uint32_t capacity);

/*
 * A walk over the connection map: every entry present for the whole walk
 * is seen exactly once; one added or removed during it may or may not be.
 * Memory is one batch, whatever the map's size.
 */
struct maps_walk {
	int fd;
	bool batched, started, done;
	uint64_t token;
	struct tcplog_conn_key *keys, prev;
	struct tcplog_conn_val *vals;
	uint32_t chunk, n, i;
	int err; /* a read error ends the walk */
};

int maps_walk_begin(const struct maps *m, struct maps_walk *w);
/* The next entry; false at the end (w->err says if it ended early). */
bool maps_walk_next(struct maps_walk *w, struct conn_rec *out);
void maps_walk_end(struct maps_walk *w);

/*
 * The embryonic entries in the map as the datapath and the removals keep
 * them (struct tcplog_state), without a walk; 0 without the SYN state.
 */
int64_t maps_embryonic(const struct maps *m);

/* Whether the connection map answers a lookup (one key, no walk). */
int maps_probe(const struct maps *m);

/* Entries in the map, and of them those closed (@closed may be NULL). */
int maps_count(const struct maps *m, uint64_t *entries, uint64_t *closed);

/*
 * Entries in a hash map of any layout (@key_size bytes per key, at most
 * 64), key by key: for a pinned map of another layout about to be replaced.
 */
long maps_count_foreign(int fd, uint32_t key_size);

/* The current counts of one entry; -ENOENT if it is not there. */
int maps_lookup(const struct maps *m, const struct tcplog_conn_key *key,
		struct conn_rec *out);

/*
 * Removes one entry with its final counts in one step (whatever the
 * datapath added up to the delete is in them) and adds them to the totals
 * with @reason (enum tcplog_reason). Returns 1 and fills @out when it
 * took the entry, 0 when the entry was already gone. With the shared state
 * mapped, the removal is recorded there until maps_totals_save() (call it
 * next): a daemon killed in between loses nothing (maps_take_recover).
 */
int maps_take(struct maps *m, const struct tcplog_conn_key *key, int reason,
	      struct conn_rec *out);

/*
 * At start, after maps_totals_load(): a removal the previous daemon was
 * killed in the middle of (struct tcplog_take). If the entry was deleted
 * but its counts not saved, adds them to the totals, saves them and
 * returns 1 with the entry in @out and its reason in @reason; 0 if there
 * was nothing to do.
 */
int maps_take_recover(struct maps *m, struct conn_rec *out, int *reason);

/*
 * Puts @val under @key unless the key is there already (never overwrites
 * what the datapath counted): 0, -EEXIST, or a negative errno (-E2BIG:
 * the map is full). For an upgrade that carries entries over.
 */
int maps_insert_new(struct maps *m, const struct tcplog_conn_key *key,
		    const struct tcplog_conn_val *val);

/* Adds the counts of @r to the totals with @reason, in memory. */
void maps_fold(struct maps *m, const struct conn_rec *r, int reason);

/* The datapath statistics, summed over the CPUs. */
int maps_stats(const struct maps *m, struct tcplog_dp_stats *out);

/* Reads the pinned totals into m->totals (zero if there are none). */
int maps_totals_load(struct maps *m);
/* Writes m->totals to the pinned map. */
int maps_totals_save(const struct maps *m);

/*
 * Deletes every entry of the connection map and zeroes the embryonic
 * count; returns how many, or a negative errno. Entries the datapath adds
 * meanwhile may survive.
 */
long maps_clear(const struct maps *m);

/*
 * Zeroes everything counted: the connection map, the statistics of every
 * CPU (keeping its clock cache) and the totals. @deleted gets the entries
 * removed. Fails, saying which step, if any write fails.
 */
int maps_reset(struct maps *m, long *deleted);

#endif /* TCPLOG_MAPS_H */
