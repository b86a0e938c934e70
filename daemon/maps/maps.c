// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* maps.c - the one owner of the pinned maps (see maps.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "maps.h"
#include "tcplog_config.h"

/* Entries per batched read: ~500 KiB of keys and values. */
#define WALK_CHUNK 4096

void maps_init(struct maps *m, int conns_fd, int percpu_fd, int totals_fd,
	       uint32_t capacity)
{
	memset(m, 0, sizeof(*m));
	m->conns_fd = conns_fd;
	m->percpu_fd = percpu_fd;
	m->totals_fd = totals_fd;
	m->capacity = capacity;
}

/* ---- walks ------------------------------------------------------------------ */

int maps_walk_begin(const struct maps *m, struct maps_walk *w)
{
	memset(w, 0, sizeof(*w));
	w->fd = m->conns_fd;
	w->batched = HAVE_BPF_MAP_LOOKUP_BATCH;
	w->chunk = WALK_CHUNK;
	w->keys = calloc(w->chunk, sizeof(*w->keys));
	w->vals = calloc(w->chunk, sizeof(*w->vals));
	if (!w->keys || !w->vals) {
		maps_walk_end(w);
		return -ENOMEM;
	}
	return 0;
}

void maps_walk_end(struct maps_walk *w)
{
	free(w->keys);
	free(w->vals);
	w->keys = NULL;
	w->vals = NULL;
	w->n = w->i = 0;
}

/* One batched read; false when the walk must go on key by key or ended. */
static bool refill_batched(struct maps_walk *w)
{
	uint32_t count;
	int err;

	while (w->batched && !w->done) {
		count = w->chunk;
#if HAVE_BPF_MAP_LOOKUP_BATCH
		err = bpf_map_lookup_batch(w->fd, w->started ? &w->token : NULL,
					   &w->token, w->keys, w->vals, &count,
					   NULL);
#else
		err = -1;
		errno = EOPNOTSUPP;
#endif
		if (err && errno == ENOSPC && count == 0) {
			/* A bucket larger than the chunk: grow and retry. */
			void *k = realloc(w->keys,
					  w->chunk * 4 * sizeof(*w->keys));
			void *v = k ? realloc(w->vals,
					      w->chunk * 4 * sizeof(*w->vals)) :
				      NULL;

			if (k)
				w->keys = k;
			if (!v) {
				w->err = -ENOMEM;
				w->done = true;
				return false;
			}
			w->vals = v;
			w->chunk *= 4;
			continue;
		}
		if (err && !w->started &&
		    (errno == EINVAL || errno == EOPNOTSUPP ||
		     errno == ENOTSUP)) {
			/* No batch operations here: walk key by key. */
			w->batched = false;
			return false;
		}
		w->started = true;
		if (err) {
			/* ENOENT: the last batch; its entries still count. */
			if (errno != ENOENT)
				w->err = -errno;
			w->done = true;
		}
		w->n = count;
		if (count)
			return true;
	}
	return false;
}

/* Key by key, keeping the previous key as the cursor. */
static bool refill_by_key(struct maps_walk *w)
{
	struct tcplog_conn_key next;

	while (!w->done && w->n < w->chunk) {
		if (bpf_map_get_next_key(w->fd, w->started ? &w->prev : NULL,
					 &next)) {
			if (errno != ENOENT)
				w->err = -errno;
			w->done = true;
			break;
		}
		w->started = true;
		w->prev = next;
		/* Deleted between the two calls: skip it. */
		if (bpf_map_lookup_elem(w->fd, &next, &w->vals[w->n]))
			continue;
		w->keys[w->n++] = next;
	}
	return w->n > 0;
}

bool maps_walk_next(struct maps_walk *w, struct conn_rec *out)
{
	if (w->i >= w->n) {
		if (!w->keys)
			return false;
		w->n = w->i = 0;
		if (!refill_batched(w) && (w->batched || !refill_by_key(w)))
			return false;
	}
	out->key = w->keys[w->i];
	tcplog_conn_derive(&w->vals[w->i], &out->c);
	w->i++;
	return true;
}

int maps_probe(const struct maps *m)
{
	struct tcplog_conn_key key = { 0 };
	struct tcplog_conn_val val;

	if (bpf_map_lookup_elem(m->conns_fd, &key, &val) && errno != ENOENT)
		return -errno;
	return 0;
}

int64_t maps_embryonic(const struct maps *m)
{
	int64_t n;

	if (!m->state)
		return 0;
	n = __atomic_load_n(&m->state->embryonic, __ATOMIC_RELAXED);
	return n < 0 ? 0 : n;
}

int maps_count(const struct maps *m, uint64_t *entries, uint64_t *closed)
{
	struct maps_walk w;
	struct conn_rec r;
	uint64_t n = 0, c = 0;
	int err;

	err = maps_walk_begin(m, &w);
	while (!err && maps_walk_next(&w, &r)) {
		n++;
		c += tcplog_conn_is_closed(r.c.tcp_flags);
	}
	if (!err)
		err = w.err;
	maps_walk_end(&w);
	*entries = n;
	if (closed)
		*closed = c;
	return err;
}

long maps_count_foreign(int fd, uint32_t key_size)
{
	unsigned char prev[64], next[64];
	bool have_prev = false;
	long n = 0;

	if (key_size == 0 || key_size > sizeof(prev))
		return -EINVAL;
	while (!bpf_map_get_next_key(fd, have_prev ? prev : NULL, next)) {
		memcpy(prev, next, key_size);
		have_prev = true;
		n++;
	}
	return errno == ENOENT ? n : -errno;
}

/* ---- single entries ------------------------------------------------------------ */

int maps_lookup(const struct maps *m, const struct tcplog_conn_key *key,
		struct conn_rec *out)
{
	struct tcplog_conn_val val;

	if (bpf_map_lookup_elem(m->conns_fd, key, &val))
		return -errno;
	out->key = *key;
	tcplog_conn_derive(&val, &out->c);
	return 0;
}

void maps_fold(struct maps *m, const struct conn_rec *r, int reason)
{
	struct tcplog_totals *t = &m->totals;

	t->entries++;
	t->bytes += r->c.bytes;
	t->ip_bytes += r->c.ip_bytes;
	t->packets += r->c.packets;
	t->segments += r->c.segments;
	t->reason[reason]++;
}

/* The entry is out of the map and its value in @val: into the totals. */
static void fold_taken(struct maps *m, const struct tcplog_conn_key *key,
		       const struct tcplog_conn_val *val, int reason,
		       struct conn_rec *out)
{
	out->key = *key;
	tcplog_conn_derive(val, &out->c);
	maps_fold(m, out, reason);
	/* The same atomic the datapath uses on the shared page. */
	if (out->c.embryonic && m->state)
		__atomic_fetch_sub(&m->state->embryonic, 1, __ATOMIC_RELAXED);
}

int maps_take(struct maps *m, const struct tcplog_conn_key *key, int reason,
	      struct conn_rec *out)
{
	struct tcplog_take *t = m->state ? &m->state->take : NULL;
	struct tcplog_conn_val local, *val = &local;

	if (reason < 0 || reason >= TCPLOG_REASON_MAX)
		return -EINVAL;
	if (t) {
		/*
		 * Recorded first, in pinned memory, and the kernel copies
		 * the value there: a kill at any point from here to the
		 * save of the totals loses nothing (maps_take_recover).
		 */
		memset(&t->val, 0, sizeof(t->val));
		t->key = *key;
		t->reason = (__u32)reason;
		t->entries_before = m->totals.entries;
		__atomic_store_n(&t->state, TCPLOG_TAKE_BUSY, __ATOMIC_RELEASE);
		val = &t->val;
	}
	if (bpf_map_lookup_and_delete_elem(m->conns_fd, key, val)) {
		int err = errno == ENOENT ? 0 : -errno;

		if (t)
			__atomic_store_n(&t->state, TCPLOG_TAKE_NONE,
					 __ATOMIC_RELEASE);
		return err;
	}
	fold_taken(m, key, val, reason, out);
	return 1;
}

int maps_take_recover(struct maps *m, struct conn_rec *out, int *reason)
{
	struct tcplog_take *t = m->state ? &m->state->take : NULL;
	int err;

	if (!t || t->state != TCPLOG_TAKE_BUSY)
		return 0;
	/* Saved before the stop, or never deleted (the kernel had not
	 * written the value: first_seen is never 0 in a live entry). */
	if (m->totals.entries > t->entries_before || !t->val.first_seen_ns ||
	    t->reason >= TCPLOG_REASON_MAX) {
		t->state = TCPLOG_TAKE_NONE;
		return 0;
	}
	*reason = (int)t->reason;
	fold_taken(m, &t->key, &t->val, (int)t->reason, out);
	err = maps_totals_save(m);
	return err ? err : 1;
}

int maps_insert_new(struct maps *m, const struct tcplog_conn_key *key,
		    const struct tcplog_conn_val *val)
{
	if (bpf_map_update_elem(m->conns_fd, key, val, BPF_NOEXIST))
		return -errno;
	/* Counted in the share like one the program made. */
	if ((val->tcp_flags & TCPLOG_CONN_EMBRYONIC) && m->state)
		__atomic_fetch_add(&m->state->embryonic, 1, __ATOMIC_RELAXED);
	return 0;
}

/* ---- statistics and totals ------------------------------------------------------ */

/* All CPUs' copies of the per-CPU state, in a buffer to free. */
static int read_percpu(const struct maps *m, struct tcplog_percpu **out,
		       int *ncpus)
{
	__u32 zero = 0;
	int n = libbpf_num_possible_cpus(), err;

	*out = NULL;
	if (n <= 0)
		return n < 0 ? n : -EINVAL;
	*out = calloc((size_t)n, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	if (bpf_map_lookup_elem(m->percpu_fd, &zero, *out)) {
		err = -errno;
		free(*out);
		*out = NULL;
		return err;
	}
	*ncpus = n;
	return 0;
}

int maps_stats(const struct maps *m, struct tcplog_dp_stats *out)
{
	struct tcplog_percpu *percpu;
	int ncpus, err;

	memset(out, 0, sizeof(*out));
	err = read_percpu(m, &percpu, &ncpus);
	if (err)
		return err;
	tcplog_stats_sum(percpu, ncpus, out);
	free(percpu);
	return 0;
}

int maps_totals_load(struct maps *m)
{
	__u32 zero = 0;

	if (!bpf_map_lookup_elem(m->totals_fd, &zero, &m->totals))
		return 0;
	memset(&m->totals, 0, sizeof(m->totals));
	return -errno;
}

int maps_totals_save(const struct maps *m)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(m->totals_fd, &zero, &m->totals, BPF_ANY))
		return -errno;
	/* What a removal recorded is in the saved totals now. */
	if (m->state)
		__atomic_store_n(&m->state->take.state, TCPLOG_TAKE_NONE,
				 __ATOMIC_RELEASE);
	return 0;
}

/* ---- clearing ------------------------------------------------------------------- */

long maps_clear(const struct maps *m)
{
	struct tcplog_conn_key prev, next;
	bool have_prev = false;
	long deleted = 0;

	/*
	 * Walk with the previous key and delete it only after the walk has
	 * moved past it: restarting from the first key after each delete
	 * would scan all buckets for every entry.
	 */
	while (!bpf_map_get_next_key(m->conns_fd, have_prev ? &prev : NULL,
				     &next)) {
		if (have_prev && !bpf_map_delete_elem(m->conns_fd, &prev))
			deleted++;
		prev = next;
		have_prev = true;
	}
	if (errno != ENOENT)
		return -errno;
	if (have_prev && !bpf_map_delete_elem(m->conns_fd, &prev))
		deleted++;
	if (m->state)
		__atomic_store_n(&m->state->embryonic, 0, __ATOMIC_RELAXED);
	return deleted;
}

int maps_reset(struct maps *m, long *deleted)
{
	struct tcplog_percpu *percpu;
	int ncpus, i, err;
	__u32 zero = 0;

	*deleted = maps_clear(m);
	if (*deleted < 0)
		return (int)*deleted;
	/* Zero the statistics of every CPU, keeping its clock cache. */
	err = read_percpu(m, &percpu, &ncpus);
	if (err)
		return err;
	for (i = 0; i < ncpus; i++)
		memset(&percpu[i].stats, 0, sizeof(percpu[i].stats));
	if (bpf_map_update_elem(m->percpu_fd, &zero, percpu, BPF_ANY))
		err = -errno;
	free(percpu);
	if (err)
		return err;
	memset(&m->totals, 0, sizeof(m->totals));
	return maps_totals_save(m);
}
