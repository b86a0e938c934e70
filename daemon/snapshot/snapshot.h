/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * snapshot.h - what a dump shows: one pass over the connection map (read
 * through the map owner, maps.h) with the request's filter, sort and limit
 * applied, and the entries and closed entries counted on the way. Memory
 * is bounded by one batch (unsorted), the limit (sorted with a limit), or
 * the matching entries (sorted, no limit). Nothing here encodes JSON.
 */
#ifndef TCPLOG_SNAPSHOT_H
#define TCPLOG_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maps.h"
#include "proto.h"
#include "tcplogger.h"
#include "units.h"

/*
 * One record of a dump. The flow view gives each entry alone (@r); the
 * connection view gives an entry with the entry of the opposite direction
 * of the same connection on the same interface (@peer, if the map has
 * one): the two halves RFC 5103 and conntrack call a biflow, the original
 * and the reply direction.
 */
struct conn_pair {
	struct conn_rec r;
	struct tcplog_conn_counts peer;
	bool has_peer;
};

bool rec_matches(const struct conn_pair *p, const struct api_request *req,
		 struct ifname_cache *cache, struct units *units);

/*
 * Sorted selection: every matching entry, or with a limit only the top
 * `limit` ones (a bounded heap), in descending order of the sort key.
 */
/*
 * Memory that all sorted selections together may hold: what one dump
 * sorting a full million-entry map needs (120 bytes an entry in the flow
 * view, 200 a connection in the connection view), with room to spare. A
 * sort that would go beyond it ends with -EBUSY (the API answers `busy`),
 * so that clients sorting at once cannot take the daemon's memory.
 */
#define SNAPSHOT_SORT_BUDGET (208ull << 20)

struct sort_budget {
	uint64_t limit, used; /* bytes */
	uint64_t refused; /* sorts that ended with -EBUSY */
};

/*
 * Once collected, the set is sorted a run of SORTED_RUN entries per step
 * (a million entries in one qsort would hold the loop for ~0.3 s), and
 * given out by merging the runs (a heap of their heads).
 */
#define SORTED_RUN 4096

struct sorted_set {
	unsigned char *recs; /* n records of esize bytes */
	size_t n, cap;
	/* sizeof(struct conn_rec) for flows, of struct conn_pair for
	 * connections: a flow sort holds no room for a peer. */
	size_t esize;
	bool pairs; /* sort by both directions' sums */
	struct sort_budget *budget; /* NULL: no limit */
	enum api_sort sort;
	uint64_t limit;
	/* Sorting and merging: runs sorted so far, each run's next entry,
	 * and the runs with entries left as a heap on their next one. */
	size_t runs_sorted, n_runs, n_heads;
	size_t *next, *heads;
};

int sorted_add(struct sorted_set *s, const struct conn_pair *p);
/*
 * Sorts one more run; true once every run is sorted and the merge is
 * ready (-ENOMEM in *err, and true, if it cannot be).
 */
bool sorted_step(struct sorted_set *s, int *err);
/* The next entry in descending order; false when none is left. */
bool sorted_next(struct sorted_set *s, struct conn_pair *out);
void sorted_free(struct sorted_set *s);

/* Entries read per call of snapshot_next() at most. */
#define SNAPSHOT_STEP 4096

struct snapshot {
	struct api_request req;
	const struct maps *maps; /* the connection view looks peers up */
	struct units *units; /* the unit filter; NULL: none known */
	struct maps_walk walk;
	struct sorted_set sorted;
	struct ifname_cache ifnames;
	bool collecting; /* sorted: still reading the map */
	bool sorting; /* sorted: read, sorting its runs */
	uint64_t entries, closed; /* in the map, whatever the filter */
	uint64_t written; /* unsorted: given out so far (the limit) */
	int err; /* the map could not be read to the end; -EBUSY: the sort
		  * budget is spent */
};

/* @budget: what sorting may take (shared by every snapshot), or NULL;
 * @units: the owners' unit names (the unit filter), or NULL. */
int snapshot_begin(struct snapshot *s, const struct maps *m,
		   const struct api_request *req, struct sort_budget *budget,
		   struct units *units);
/*
 * The next record to show: 1 (in @out), 0 at the end, or -EAGAIN after
 * reading SNAPSHOT_STEP entries without one to show yet, so that the
 * caller can let other work run before asking again. In the connection
 * view, a connection is given once, with the entry whose key is the
 * smaller of the two (or alone when its peer is not in the map); it is
 * not an atomic snapshot: a peer created or removed between the two
 * entries' turns may show the connection with one side, or not at all.
 */
int snapshot_next(struct snapshot *s, struct conn_pair *out);
void snapshot_end(struct snapshot *s);

#endif /* TCPLOG_SNAPSHOT_H */
