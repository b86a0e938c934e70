/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * snapshot.h - reading the connection map for the API: batched where the
 * kernel and libbpf allow, key by key otherwise; filtering, sorting and
 * limiting in the daemon, with memory bounded by one batch (unsorted), the
 * limit (sorted with a limit), or the matching entries (sorted, no limit).
 */
#ifndef TCPLOG_SNAPSHOT_H
#define TCPLOG_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "proto.h"
#include "tcplogger.h"

struct conn_rec {
	struct tcplog_conn_key key;
	struct tcplog_conn_counts c;
};

/* Walks the map in batches. */
struct map_walk {
	int fd;
	bool batched, started, done;
	uint64_t token;
	struct tcplog_conn_key *keys, prev;
	struct tcplog_conn_val *vals;
	uint32_t chunk, n, i;
	int err; /* a read error ends the walk */
};

int map_walk_init(struct map_walk *mw, int fd);
/* The next entry; false at the end (mw->err says if it ended early). */
bool map_walk_next(struct map_walk *mw, struct conn_rec *out);
void map_walk_free(struct map_walk *mw);

/* Interface names by index, looked up once per snapshot. */
struct ifname_cache {
	int n;
	struct {
		uint32_t ifindex;
		char name[IF_NAMESIZE];
	} e[64];
};

const char *ifname_of(struct ifname_cache *cache, uint32_t ifindex);

bool rec_matches(const struct conn_rec *r, const struct api_request *req,
		 struct ifname_cache *cache);

/*
 * Sorted selection: every matching entry, or with a limit only the top
 * `limit` ones (a bounded heap), in descending order of the sort key.
 */
struct sorted_set {
	struct conn_rec *recs;
	size_t n, cap;
	enum api_sort sort;
	uint64_t limit;
};

int sorted_add(struct sorted_set *s, const struct conn_rec *r);
void sorted_finish(struct sorted_set *s);
void sorted_free(struct sorted_set *s);

#endif /* TCPLOG_SNAPSHOT_H */
