// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* snapshot.c - batched map walks, filters and sorted selections. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "format.h"
#include "snapshot.h"
#include "tcplog_config.h"

#define WALK_CHUNK 4096

int map_walk_init(struct map_walk *mw, int fd)
{
	memset(mw, 0, sizeof(*mw));
	mw->fd = fd;
	mw->batched = HAVE_BPF_MAP_LOOKUP_BATCH;
	mw->chunk = WALK_CHUNK;
	mw->keys = calloc(mw->chunk, sizeof(*mw->keys));
	mw->vals = calloc(mw->chunk, sizeof(*mw->vals));
	return mw->keys && mw->vals ? 0 : -ENOMEM;
}

void map_walk_free(struct map_walk *mw)
{
	free(mw->keys);
	free(mw->vals);
	mw->keys = NULL;
	mw->vals = NULL;
}

/* Refills the batch; false when the map has no more entries. */
static bool refill(struct map_walk *mw)
{
	uint32_t count;
	int err;

	mw->n = mw->i = 0;
	while (mw->batched && !mw->done) {
		count = mw->chunk;
#if HAVE_BPF_MAP_LOOKUP_BATCH
		err = bpf_map_lookup_batch(mw->fd,
					   mw->started ? &mw->token : NULL,
					   &mw->token, mw->keys, mw->vals,
					   &count, NULL);
#else
		err = -1;
		errno = EOPNOTSUPP;
#endif
		if (err && errno == ENOSPC && count == 0) {
			/* A bucket larger than the chunk: grow and retry. */
			void *k = realloc(mw->keys,
					  mw->chunk * 4 * sizeof(*mw->keys));
			void *v =
				k ? realloc(mw->vals,
					    mw->chunk * 4 * sizeof(*mw->vals)) :
				    NULL;

			if (k)
				mw->keys = k;
			if (!v) {
				mw->err = -ENOMEM;
				mw->done = true;
				return false;
			}
			mw->vals = v;
			mw->chunk *= 4;
			continue;
		}
		if (err && !mw->started &&
		    (errno == EINVAL || errno == EOPNOTSUPP ||
		     errno == ENOTSUP)) {
			/* No batch operations here: walk key by key. */
			mw->batched = false;
			break;
		}
		mw->started = true;
		if (err) {
			/* ENOENT: the last batch; its entries still count. */
			if (errno != ENOENT)
				mw->err = -errno;
			mw->done = true;
		}
		mw->n = count;
		if (count)
			return true;
	}
	if (mw->batched || mw->done)
		return false;
	/* Key by key, keeping the previous key as the cursor. */
	while (mw->n < mw->chunk) {
		struct tcplog_conn_key next;

		if (bpf_map_get_next_key(mw->fd, mw->started ? &mw->prev : NULL,
					 &next)) {
			if (errno != ENOENT)
				mw->err = -errno;
			mw->done = true;
			break;
		}
		mw->started = true;
		mw->prev = next;
		/* Deleted between the two calls: skip it. */
		if (bpf_map_lookup_elem(mw->fd, &next, &mw->vals[mw->n]))
			continue;
		mw->keys[mw->n++] = next;
	}
	return mw->n > 0;
}

bool map_walk_next(struct map_walk *mw, struct conn_rec *out)
{
	if (mw->i >= mw->n && !refill(mw))
		return false;
	out->key = mw->keys[mw->i];
	tcplog_conn_derive(&mw->vals[mw->i], &out->c);
	mw->i++;
	return true;
}

const char *ifname_of(struct ifname_cache *cache, uint32_t ifindex)
{
	int i;

	for (i = 0; i < cache->n; i++)
		if (cache->e[i].ifindex == ifindex)
			return cache->e[i].name;
	if (cache->n == (int)(sizeof(cache->e) / sizeof(cache->e[0])))
		cache->n = 0; /* more interfaces than slots: start over */
	i = cache->n++;
	cache->e[i].ifindex = ifindex;
	if (!if_indextoname(ifindex, cache->e[i].name))
		cache->e[i].name[0] = '\0'; /* gone since: no name */
	return cache->e[i].name;
}

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

		if (s->limit && cap > s->limit)
			cap = s->limit;
		p = realloc(s->recs, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->recs = p;
		s->cap = cap;
	}
	s->recs[s->n++] = *r;
	if (s->limit)
		heap_up(s, s->n - 1);
	return 0;
}

static enum api_sort cmp_sort;

static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = sort_value(a, cmp_sort), y = sort_value(b, cmp_sort);

	return (x < y) - (x > y);
}

void sorted_finish(struct sorted_set *s)
{
	cmp_sort = s->sort;
	qsort(s->recs, s->n, sizeof(*s->recs), cmp_desc);
}

void sorted_free(struct sorted_set *s)
{
	free(s->recs);
	memset(s, 0, sizeof(*s));
}
