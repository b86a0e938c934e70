// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* snapshot.c - one consistent pass over the map: filters, sorts, limits. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "format.h"
#include "snapshot.h"

/* The filters a key decides alone (the same for both directions). */
static bool key_matches(const struct tcplog_conn_key *k,
			const struct api_request *req,
			struct ifname_cache *cache)
{
	if (req->iface[0] && strcmp(ifname_of(cache, k->ifindex), req->iface))
		return false;
	if (req->host_family && (k->family != req->host_family ||
				 (memcmp(k->src_addr, req->host, 16) &&
				  memcmp(k->dst_addr, req->host, 16))))
		return false;
	if (req->port >= 0 && ntohs(k->src_port) != req->port &&
	    ntohs(k->dst_port) != req->port)
		return false;
	if (req->vlan >= 0 && !tcplog_key_has_vlan(k, (unsigned int)req->vlan))
		return false;
	return true;
}

bool rec_matches(const struct conn_pair *p, const struct api_request *req,
		 struct ifname_cache *cache, struct units *units)
{
	const struct tcplog_conn_counts *peer = p->has_peer ? &p->peer : NULL;
	bool closed;

	if (!key_matches(&p->r.key, req, cache))
		return false;
	closed = req->view == API_VIEW_CONNECTIONS ?
			 tcplog_pair_is_closed(&p->r.c, peer) :
			 tcplog_conn_is_closed(p->r.c.tcp_flags);
	if (req->state != API_STATE_ANY &&
	    closed != (req->state == API_STATE_CLOSED))
		return false;
	if (req->unit[0]) {
		__u64 id = p->r.c.cgroup_id;
		const char *unit;

		if (!id && peer)
			id = peer->cgroup_id;
		unit = units ? units_name(units, id) : NULL;
		if (!unit || strcmp(unit, req->unit))
			return false;
	}
	return true;
}

/* The sort key of a record: a connection by both directions together. */
static uint64_t sort_value(const struct sorted_set *s, const void *rec)
{
	const struct conn_pair *p = rec; /* a conn_rec is its prefix */
	const struct tcplog_conn_counts *a = &p->r.c;
	const struct tcplog_conn_counts *b =
		s->pairs && p->has_peer ? &p->peer : NULL;

	switch (s->sort) {
	case API_SORT_BYTES:
		return a->bytes + (b ? b->bytes : 0);
	case API_SORT_PACKETS:
		return a->packets + (b ? b->packets : 0);
	case API_SORT_SEGMENTS:
		return a->segments + (b ? b->segments : 0);
	case API_SORT_FIRST_SEEN:
		return b && b->first_seen_ns < a->first_seen_ns ?
			       b->first_seen_ns :
			       a->first_seen_ns;
	case API_SORT_LAST_SEEN:
		return b && b->last_seen_ns > a->last_seen_ns ?
			       b->last_seen_ns :
			       a->last_seen_ns;
	default:
		return 0;
	}
}

static void *rec_at(const struct sorted_set *s, size_t i)
{
	return s->recs + i * s->esize;
}

static uint64_t value_at(const struct sorted_set *s, size_t i)
{
	return sort_value(s, rec_at(s, i));
}

static void swap_recs(struct sorted_set *s, size_t i, size_t j)
{
	struct conn_pair t;

	memcpy(&t, rec_at(s, i), s->esize);
	memcpy(rec_at(s, i), rec_at(s, j), s->esize);
	memcpy(rec_at(s, j), &t, s->esize);
}

/* Min-heap on the sort value: the root is the smallest kept entry. */
static void heap_down(struct sorted_set *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < s->n && value_at(s, l) < value_at(s, m))
			m = l;
		if (r < s->n && value_at(s, r) < value_at(s, m))
			m = r;
		if (m == i)
			return;
		swap_recs(s, i, m);
		i = m;
	}
}

static void heap_up(struct sorted_set *s, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (value_at(s, p) <= value_at(s, i))
			return;
		swap_recs(s, i, p);
		i = p;
	}
}

int sorted_add(struct sorted_set *s, const struct conn_pair *r)
{
	if (s->limit && s->n == s->limit) {
		/* Full: replace the smallest if this one is larger. */
		if (sort_value(s, r) <= value_at(s, 0))
			return 0;
		memcpy(rec_at(s, 0), r, s->esize);
		heap_down(s, 0);
		return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		unsigned char *p;
		uint64_t more;

		if (s->limit && cap > s->limit)
			cap = s->limit;
		more = (cap - s->cap) * s->esize;
		if (s->budget && s->budget->used + more > s->budget->limit) {
			s->budget->refused++;
			return -EBUSY;
		}
		p = realloc(s->recs, cap * s->esize);
		if (!p)
			return -ENOMEM;
		s->recs = p;
		s->cap = cap;
		if (s->budget)
			s->budget->used += more;
	}
	memcpy(rec_at(s, s->n++), r, s->esize);
	if (s->limit)
		heap_up(s, s->n - 1);
	return 0;
}

static int cmp_desc(const void *a, const void *b, void *set)
{
	uint64_t x = sort_value(set, a), y = sort_value(set, b);

	return (x < y) - (x > y);
}

/* Run heads: a max-heap on the value of each run's next entry. */
static uint64_t head_value(const struct sorted_set *s, size_t i)
{
	return value_at(s, s->next[s->heads[i]]);
}

static void heads_down(struct sorted_set *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i, t;

		if (l < s->n_heads && head_value(s, l) > head_value(s, m))
			m = l;
		if (r < s->n_heads && head_value(s, r) > head_value(s, m))
			m = r;
		if (m == i)
			return;
		t = s->heads[i];
		s->heads[i] = s->heads[m];
		s->heads[m] = t;
		i = m;
	}
}

static size_t run_end(const struct sorted_set *s, size_t run)
{
	size_t end = (run + 1) * SORTED_RUN;

	return end < s->n ? end : s->n;
}

bool sorted_step(struct sorted_set *s, int *err)
{
	size_t i, start;

	if (!s->next) {
		s->n_runs = (s->n + SORTED_RUN - 1) / SORTED_RUN;
		s->next = calloc(s->n_runs + 1, sizeof(*s->next));
		s->heads = calloc(s->n_runs + 1, sizeof(*s->heads));
		if (!s->next || !s->heads) {
			*err = -ENOMEM;
			s->n_heads = 0;
			return true;
		}
	}
	if (s->runs_sorted < s->n_runs) {
		start = s->runs_sorted * SORTED_RUN;
		qsort_r(rec_at(s, start), run_end(s, s->runs_sorted) - start,
			s->esize, cmp_desc, s);
		s->runs_sorted++;
		return false;
	}
	for (i = 0; i < s->n_runs; i++) {
		s->next[i] = i * SORTED_RUN;
		s->heads[i] = i;
	}
	s->n_heads = s->n_runs;
	for (i = s->n_heads / 2; i-- > 0;)
		heads_down(s, i);
	return true;
}

bool sorted_next(struct sorted_set *s, struct conn_pair *out)
{
	size_t run;

	if (!s->n_heads)
		return false;
	run = s->heads[0];
	memcpy(out, rec_at(s, s->next[run]++), s->esize);
	if (!s->pairs)
		out->has_peer = false;
	if (s->next[run] == run_end(s, run))
		s->heads[0] = s->heads[--s->n_heads];
	heads_down(s, 0);
	return true;
}

void sorted_free(struct sorted_set *s)
{
	if (s->budget)
		s->budget->used -= s->cap * s->esize;
	free(s->recs);
	free(s->next);
	free(s->heads);
	memset(s, 0, sizeof(*s));
}

/* ---- the pass ------------------------------------------------------------- */

int snapshot_begin(struct snapshot *s, const struct maps *m,
		   const struct api_request *req, struct sort_budget *budget,
		   struct units *units)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->req = *req;
	s->maps = m;
	s->units = units;
	s->collecting = req->sort != API_SORT_NONE;
	s->sorted.sort = req->sort;
	s->sorted.limit = req->limit;
	s->sorted.budget = budget;
	s->sorted.pairs = req->view == API_VIEW_CONNECTIONS;
	s->sorted.esize = s->sorted.pairs ? sizeof(struct conn_pair) :
					    sizeof(struct conn_rec);
	err = maps_walk_begin(m, &s->walk);
	if (err)
		s->collecting = false;
	return err;
}

/*
 * Reads one entry (and in the connection view its peer); false at the end
 * of the map. *show: whether this record stands for its connection (the
 * peer with the smaller key does, when both are in the map).
 */
static bool read_one(struct snapshot *s, struct conn_pair *p, bool *show)
{
	struct tcplog_conn_key rev;

	if (!maps_walk_next(&s->walk, &p->r)) {
		if (!s->err)
			s->err = s->walk.err;
		return false;
	}
	s->entries++;
	s->closed += tcplog_conn_is_closed(p->r.c.tcp_flags);
	p->has_peer = false;
	*show = true;
	/* A key the filters refuse needs no peer: no lookup for it. */
	if (s->req.view == API_VIEW_CONNECTIONS &&
	    key_matches(&p->r.key, &s->req, &s->ifnames)) {
		struct conn_rec peer;

		tcplog_key_reverse(&p->r.key, &rev);
		p->has_peer = maps_lookup(s->maps, &rev, &peer) == 0;
		if (p->has_peer)
			p->peer = peer.c;
		*show = !p->has_peer ||
			memcmp(&p->r.key, &rev, sizeof(rev)) < 0;
	}
	return true;
}

int snapshot_next(struct snapshot *s, struct conn_pair *out)
{
	unsigned int n;
	bool show;
	int err;

	if (s->collecting) {
		for (n = 0; n < SNAPSHOT_STEP; n++) {
			if (!read_one(s, out, &show))
				break;
			err = show && rec_matches(out, &s->req, &s->ifnames,
						  s->units) ?
				      sorted_add(&s->sorted, out) :
				      0;
			if (err) {
				/* Out of memory or budget: end, say so. */
				s->err = err;
				break;
			}
		}
		if (n < SNAPSHOT_STEP) {
			s->collecting = false;
			s->sorting = true;
		}
		return -EAGAIN;
	}
	if (s->sorting) {
		/* One run per step: other clients go between two. */
		err = 0;
		s->sorting = !sorted_step(&s->sorted, &err);
		if (err && !s->err)
			s->err = err;
		return -EAGAIN;
	}
	if (s->req.sort != API_SORT_NONE)
		return sorted_next(&s->sorted, out) ? 1 : 0;
	for (n = 0; n < SNAPSHOT_STEP; n++) {
		if (!read_one(s, out, &show))
			return 0;
		/* Past the limit the walk goes on, for the counts. */
		if (show && (!s->req.limit || s->written < s->req.limit) &&
		    rec_matches(out, &s->req, &s->ifnames, s->units)) {
			s->written++;
			return 1;
		}
	}
	return -EAGAIN;
}

void snapshot_end(struct snapshot *s)
{
	maps_walk_end(&s->walk);
	sorted_free(&s->sorted);
}
