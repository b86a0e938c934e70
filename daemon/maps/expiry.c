// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* expiry.c - idle, closed and pressure expiry of connection entries. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "connlog.h"
#include "expiry.h"
#include "log.h"

#define NSEC_PER_SEC 1000000000ull
/*
 * Scans take at most this share of one CPU: a scan of a million entries
 * costs ~0.4 s of CPU (bench/scale.sh), which every 3 s would be 14 % of a
 * CPU; the next scan then waits SCAN_SPACING times the last scan's
 * duration when that is longer than the period.
 */
#define SCAN_SPACING 50

void expiry_init(struct expiry *e, struct maps *maps, struct tcplog_clock *wall)
{
	memset(e, 0, sizeof(*e));
	e->maps = maps;
	e->wall = wall;
	e->now_ns = tcplog_now_ns;
	e->closed_timeout = 30;
	e->idle_timeout = 300;
	e->entries_left = -1;
	e->max_batch = EXPIRY_MAX_BATCH;
}

void expiry_configure(struct expiry *e, const struct config *cfg)
{
	e->idle_timeout = cfg->idle_timeout;
	e->closed_timeout = cfg->closed_timeout;
	e->log_closed = cfg->log_closed;
}

uint64_t expiry_period_ms(const struct expiry *e)
{
	uint64_t shortest = e->closed_timeout;

	if (e->idle_timeout && e->idle_timeout < shortest)
		shortest = e->idle_timeout;
	/*
	 * A tenth of the shortest timeout, between 1 and 10 s: entries go
	 * within 10 % of their timeout, and an idle daemon wakes at most
	 * once a second.
	 */
	shortest = shortest * 1000 / 10;
	return shortest < 1000 ? 1000 : shortest > 10000 ? 10000 : shortest;
}

int expiry_due(const struct expiry *e, const struct conn_rec *r, uint64_t now)
{
	uint64_t idle = now > r->c.last_seen_ns ? now - r->c.last_seen_ns : 0;

	if (tcplog_conn_is_closed(r->c.tcp_flags) &&
	    idle >= e->closed_timeout * NSEC_PER_SEC)
		return r->c.tcp_flags & TCPLOG_TCP_RST ? TCPLOG_REASON_RST :
							 TCPLOG_REASON_FIN;
	if (e->idle_timeout && idle >= e->idle_timeout * NSEC_PER_SEC)
		return TCPLOG_REASON_IDLE;
	return -1;
}

/* Saves the totals; a failure is logged once, until a save works again. */
static void save_totals(struct expiry *e)
{
	int err = maps_totals_save(e->maps);

	if (err && err != e->save_err)
		log_warn("Cannot save the expiry totals: %s; they are kept in "
			 "memory and saved at the next expiry",
			 strerror(-err));
	e->save_err = err;
}

/*
 * Takes one entry out. With @reason < 0 the entry is checked again first
 * (a packet may have come since the scan) and kept if no longer due.
 * Returns 1 if it was taken.
 */
static int expire_one(struct expiry *e, const struct tcplog_conn_key *key,
		      int reason, uint64_t now, struct ifname_cache *names)
{
	struct conn_rec r;
	int ret;

	if (reason < 0) {
		if (maps_lookup(e->maps, key, &r))
			return 0;
		reason = expiry_due(e, &r, now);
		if (reason < 0)
			return 0;
	}
	ret = maps_take(e->maps, key, reason, &r);
	if (ret <= 0)
		return ret;
	/*
	 * The entry is gone from the map: its counts are in the totals in
	 * memory only until saved. Saved at once, so that a kill in the
	 * middle of a scan loses none of live + expired (one bpf() call).
	 */
	save_totals(e);
	if (e->log_closed)
		connlog_emit(&e->log, &r, reason, e->wall,
			     ifname_of(names, key->ifindex), e->scan_ms);
	return ret;
}

struct aged {
	uint64_t last_seen;
	struct tcplog_conn_key key;
};

static int cmp_aged(const void *a, const void *b)
{
	uint64_t x = ((const struct aged *)a)->last_seen,
		 y = ((const struct aged *)b)->last_seen;

	return (x > y) - (x < y);
}

/* Max-heap on last_seen: the root is the newest of the oldest kept. */
static void aged_down(struct aged *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct aged t;

		if (l < n && h[l].last_seen > h[m].last_seen)
			m = l;
		if (r < n && h[r].last_seen > h[m].last_seen)
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void aged_up(struct aged *h, size_t i)
{
	while (i > 0 && h[(i - 1) / 2].last_seen < h[i].last_seen) {
		struct aged t = h[i];

		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

/*
 * Above the high mark: the longest-idle entries go, down to the low one,
 * at most max_batch of them per scan (memory: max_batch * 56 bytes, not
 * the map's size); the next scan goes on if more must go.
 */
static void pressure(struct expiry *e, uint64_t entries, uint64_t now,
		     struct ifname_cache *names)
{
	uint64_t cap = e->maps->capacity, want, i;
	struct aged *heap, one;
	struct maps_walk w;
	struct conn_rec r;
	size_t n = 0;
	int done = 0;

	/* Starts above the high mark, goes on (in batches) to the low one. */
	if (!e->pressing && entries * 100 <= cap * EXPIRY_PRESSURE_HIGH_PCT)
		return;
	if (entries <= cap * EXPIRY_PRESSURE_LOW_PCT / 100) {
		e->pressing = false;
		return;
	}
	e->pressing = true;
	want = entries - cap * EXPIRY_PRESSURE_LOW_PCT / 100;
	if (want > e->max_batch)
		want = e->max_batch;
	heap = calloc(want, sizeof(*heap));
	if (!heap || maps_walk_begin(e->maps, &w)) {
		log_warn("Connection map at %llu of %llu entries: out of "
			 "memory for the early expiry",
			 (unsigned long long)entries, (unsigned long long)cap);
		free(heap);
		return;
	}
	/* The @want oldest, in one pass. */
	while (maps_walk_next(&w, &r)) {
		one.last_seen = r.c.last_seen_ns;
		one.key = r.key;
		if (n < want) {
			heap[n] = one;
			aged_up(heap, n++);
		} else if (one.last_seen < heap[0].last_seen) {
			heap[0] = one;
			aged_down(heap, n, 0);
		}
	}
	maps_walk_end(&w);
	qsort(heap, n, sizeof(*heap), cmp_aged);
	for (i = 0; i < n; i++)
		done += expire_one(e, &heap[i].key, TCPLOG_REASON_PRESSURE, now,
				   names) > 0;
	free(heap);
	log_warn("Connection map at %llu of %llu entries (over %d%%): "
		 "expired the %d longest-idle entries early (%llu so far)",
		 (unsigned long long)entries, (unsigned long long)cap,
		 EXPIRY_PRESSURE_HIGH_PCT, done,
		 (unsigned long long)
			 e->maps->totals.reason[TCPLOG_REASON_PRESSURE]);
}

/* The keys of the entries due at @now; *entries gets the map's size. */
static struct tcplog_conn_key *find_due(struct expiry *e, uint64_t now,
					size_t *n_due, uint64_t *entries)
{
	struct tcplog_conn_key *due = NULL, *p;
	size_t cap = 0;
	struct maps_walk w;
	struct conn_rec r;

	*n_due = 0;
	*entries = 0;
	if (maps_walk_begin(e->maps, &w))
		return NULL;
	while (maps_walk_next(&w, &r)) {
		(*entries)++;
		if (expiry_due(e, &r, now) < 0)
			continue;
		/* The rest waits for the next scan: memory stays bounded. */
		if (*n_due == e->max_batch) {
			e->more_due = true;
			continue;
		}
		if (*n_due == cap) {
			cap = cap ? cap * 2 : 256;
			p = realloc(due, cap * sizeof(*due));
			if (!p)
				break; /* the rest waits for the next scan */
			due = p;
		}
		due[(*n_due)++] = r.key;
	}
	maps_walk_end(&w);
	return due;
}

uint64_t expiry_scan(struct expiry *e)
{
	struct ifname_cache names = { 0 };
	struct tcplog_conn_key *due;
	uint64_t entries, now, removed = 0, start, spacing_ms, period;
	uint64_t taken_before;
	size_t n_due, i;

	taken_before = e->maps->totals.entries;
	e->more_due = false;
	now = e->now_ns(CLOCK_BOOTTIME);
	tcplog_clock_refresh(e->wall);
	start = e->now_ns(CLOCK_MONOTONIC);
	e->scan_ms = start / 1000000;
	/* Scan first, delete after: deleting while walking a hash map can
	 * make the walk skip or repeat entries. */
	due = find_due(e, now, &n_due, &entries);
	spacing_ms =
		(e->now_ns(CLOCK_MONOTONIC) - start) * SCAN_SPACING / 1000000;
	for (i = 0; i < n_due; i++)
		removed += expire_one(e, &due[i], -1, now, &names) > 0;
	free(due);
	e->entries_left = (long)(entries - removed);
	pressure(e, entries - removed, now, &names);
	/* A save that failed during the scan: once more. */
	if (e->save_err && e->maps->totals.entries != taken_before)
		save_totals(e);
	if (e->log_closed)
		connlog_tick(&e->log, e->scan_ms);
	if (removed)
		log_debug("Expired %llu connections",
			  (unsigned long long)removed);
	period = expiry_period_ms(e);
	/* A batch left work behind: go on soon, removing is what costs. */
	if (e->more_due || e->pressing)
		return EXPIRY_NEXT_BATCH_MS;
	if (spacing_ms <= period)
		return period;
	log_debug("Scanning %llu entries took %llu ms: next scan in %llu ms",
		  (unsigned long long)entries,
		  (unsigned long long)(spacing_ms / SCAN_SPACING),
		  (unsigned long long)spacing_ms);
	return spacing_ms;
}
