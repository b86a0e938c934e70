// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* snapshot.c - one consistent pass over the map: filters, sorts, limits. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "format.h"
#include "snapshot.h"

bool rec_matches(const struct conn_rec *r, const struct api_request *req,
		 struct ifname_cache *cache)
{
	const struct tcplog_conn_key *k = &r->key;

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
	if (req->state != API_STATE_ANY &&
	    tcplog_conn_is_closed(r->c.tcp_flags) !=
		    (req->state == API_STATE_CLOSED))
		return false;
	return true;
}

static uint64_t sort_value(const struct conn_rec *r, enum api_sort sort)
{
	switch (sort) {
	case API_SORT_BYTES:
		return r->c.bytes;
	case API_SORT_PACKETS:
		return r->c.packets;
	case API_SORT_SEGMENTS:
		return r->c.segments;
	case API_SORT_FIRST_SEEN:
		return r->c.first_seen_ns;
	case API_SORT_LAST_SEEN:
		return r->c.last_seen_ns;
	default:
		return 0;
	}
}

/* Min-heap on the sort value: the root is the smallest kept entry. */
static void heap_down(struct sorted_set *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct conn_rec t;

		if (l < s->n && sort_value(&s->recs[l], s->sort) <
					sort_value(&s->recs[m], s->sort))
			m = l;
		if (r < s->n && sort_value(&s->recs[r], s->sort) <
					sort_value(&s->recs[m], s->sort))
			m = r;
		if (m == i)
			return;
		t = s->recs[i];
		s->recs[i] = s->recs[m];
		s->recs[m] = t;
		i = m;
	}
}

static void heap_up(struct sorted_set *s, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		struct conn_rec t;

		if (sort_value(&s->recs[p], s->sort) <=
		    sort_value(&s->recs[i], s->sort))
			return;
		t = s->recs[i];
		s->recs[i] = s->recs[p];
		s->recs[p] = t;
		i = p;
	}
}

int sorted_add(struct sorted_set *s, const struct conn_rec *r)
{
	if (s->limit && s->n == s->limit) {
		/* Full: replace the smallest if this one is larger. */
		if (sort_value(r, s->sort) <= sort_value(&s->recs[0], s->sort))
			return 0;
		s->recs[0] = *r;
		heap_down(s, 0);
		return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		struct conn_rec *p;
		uint64_t more;

		if (s->limit && cap > s->limit)
			cap = s->limit;
		more = (cap - s->cap) * sizeof(*p);
		if (s->budget && s->budget->used + more > s->budget->limit) {
			s->budget->refused++;
			return -EBUSY;
		}
		p = realloc(s->recs, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->recs = p;
		s->cap = cap;
		if (s->budget)
			s->budget->used += more;
	}
	s->recs[s->n++] = *r;
	if (s->limit)
		heap_up(s, s->n - 1);
	return 0;
}

static int cmp_desc(const void *a, const void *b, void *sort)
{
	enum api_sort by = *(const enum api_sort *)sort;
	uint64_t x = sort_value(a, by), y = sort_value(b, by);

	return (x < y) - (x > y);
}

/* Run heads: a max-heap on the value of each run's next entry. */
static uint64_t head_value(const struct sorted_set *s, size_t i)
{
	return sort_value(&s->recs[s->next[s->heads[i]]], s->sort);
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
		qsort_r(s->recs + start, run_end(s, s->runs_sorted) - start,
			sizeof(*s->recs), cmp_desc, &s->sort);
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

bool sorted_next(struct sorted_set *s, struct conn_rec *out)
{
	size_t run;

	if (!s->n_heads)
		return false;
	run = s->heads[0];
	*out = s->recs[s->next[run]++];
	if (s->next[run] == run_end(s, run))
		s->heads[0] = s->heads[--s->n_heads];
	heads_down(s, 0);
	return true;
}

void sorted_free(struct sorted_set *s)
{
	if (s->budget)
		s->budget->used -= s->cap * sizeof(*s->recs);
	free(s->recs);
	free(s->next);
	free(s->heads);
	memset(s, 0, sizeof(*s));
}

/* ---- the pass ------------------------------------------------------------- */

int snapshot_begin(struct snapshot *s, const struct maps *m,
		   const struct api_request *req, struct sort_budget *budget)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->req = *req;
	s->collecting = req->sort != API_SORT_NONE;
	s->sorted.sort = req->sort;
	s->sorted.limit = req->limit;
	s->sorted.budget = budget;
	err = maps_walk_begin(m, &s->walk);
	if (err)
		s->collecting = false;
	return err;
}

/* Reads one entry into the counts; false at the end of the map. */
static bool read_one(struct snapshot *s, struct conn_rec *r)
{
	if (!maps_walk_next(&s->walk, r)) {
		if (!s->err)
			s->err = s->walk.err;
		return false;
	}
	s->entries++;
	s->closed += tcplog_conn_is_closed(r->c.tcp_flags);
	return true;
}

int snapshot_next(struct snapshot *s, struct conn_rec *out)
{
	unsigned int n;
	int err;

	if (s->collecting) {
		for (n = 0; n < SNAPSHOT_STEP; n++) {
			if (!read_one(s, out))
				break;
			err = rec_matches(out, &s->req, &s->ifnames) ?
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
		if (!read_one(s, out))
			return 0;
		/* Past the limit the walk goes on, for the counts. */
		if ((!s->req.limit || s->written < s->req.limit) &&
		    rec_matches(out, &s->req, &s->ifnames)) {
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
