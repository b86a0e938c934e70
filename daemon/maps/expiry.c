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
	e->syn_timeout = 30;
	e->max_batch = EXPIRY_MAX_BATCH;
}

void expiry_configure(struct expiry *e, const struct config *cfg)
{
	e->idle_timeout = cfg->idle_timeout;
	e->closed_timeout = cfg->closed_timeout;
	e->syn_timeout = cfg->syn_timeout;
	e->log_closed = cfg->log_closed;
	e->ipfix_active = cfg->n_collectors ? cfg->ipfix_active_timeout : 0;
}

uint64_t expiry_period_ms(const struct expiry *e)
{
	uint64_t shortest = e->closed_timeout;

	if (e->syn_timeout < shortest)
		shortest = e->syn_timeout;
	if (e->idle_timeout && e->idle_timeout < shortest)
		shortest = e->idle_timeout;
	/* Active records within 10 % of their timeout too. */
	if (e->ipfix_active && e->ipfix_active < shortest)
		shortest = e->ipfix_active;
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

	if (r->c.embryonic && idle >= e->syn_timeout * NSEC_PER_SEC)
		return TCPLOG_REASON_IDLE;
	if (tcplog_conn_is_closed(r->c.tcp_flags) &&
	    idle >= e->closed_timeout * NSEC_PER_SEC)
		return r->c.tcp_flags & TCPLOG_TCP_RST ? TCPLOG_REASON_RST :
							 TCPLOG_REASON_FIN;
	if (e->idle_timeout && idle >= e->idle_timeout * NSEC_PER_SEC)
		return TCPLOG_REASON_IDLE;
	return -1;
}

/* The owner's unit of an entry (interned), NULL if none. */
static const char *unit_of(struct expiry *e, const struct conn_rec *r)
{
	return e->units ? units_name(e->units, r->c.cgroup_id) : NULL;
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
	e->taken_embryonic += r.c.embryonic;
	if (reason == TCPLOG_REASON_PRESSURE) {
		e->syn_pressed += r.c.embryonic;
		e->counts.syn_evicted += r.c.embryonic;
		e->counts.evicted += !r.c.embryonic;
	}
	e->taken_closed += tcplog_conn_is_closed(r.c.tcp_flags);
	/* Its last record into the journal before the totals are saved: a
	 * kill in between redoes both (ipfix_recovered). */
	if (e->ipfix)
		ipfix_removed(e->ipfix, &r, reason, now);
	/* Saved with the removal's number: a kill before the totals are
	 * saved does not count it twice (sums_removed). */
	if (e->sums)
		sums_removed(e->sums, &r, ifname_of(names, key->ifindex),
			     unit_of(e, &r), e->maps->totals.entries);
	/*
	 * The entry is gone from the map: its counts are in the totals in
	 * memory only until saved. Saved at once, so that a kill in the
	 * middle of a scan loses none of live + expired (one bpf() call).
	 */
	save_totals(e);
	if (e->log_closed)
		connlog_emit(&e->log, &r, reason, e->wall,
			     ifname_of(names, key->ifindex), unit_of(e, &r),
			     e->scan_ms);
	return ret;
}

/*
 * The order in which pressure takes entries: embryonic ones first, then
 * closed ones, then the rest, the longest idle first within each (boot
 * time stays below 2^62 ns, 146 years).
 */
static uint64_t pressure_rank(const struct conn_rec *r)
{
	uint64_t cls = r->c.embryonic			     ? 0 :
		       tcplog_conn_is_closed(r->c.tcp_flags) ? 1 :
							       2;

	return cls << 62 | (r->c.last_seen_ns & ((1ull << 62) - 1));
}

struct expiry_ranked {
	uint64_t rank;
	struct tcplog_conn_key key;
};

/* Max-heap on rank: the root is the last of the first ones kept. */
static void ranked_down(struct expiry_ranked *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct expiry_ranked t;

		if (l < n && h[l].rank > h[m].rank)
			m = l;
		if (r < n && h[r].rank > h[m].rank)
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void ranked_up(struct expiry_ranked *h, size_t i)
{
	while (i > 0 && h[(i - 1) / 2].rank < h[i].rank) {
		struct expiry_ranked t = h[i];

		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

/*
 * How many must go for one mark: above @high % of @cap once, down to @low
 * %; *pressing keeps the state between scans (hysteresis).
 */
static uint64_t over_mark(uint64_t n, uint64_t cap, unsigned int high,
			  unsigned int low, bool *pressing)
{
	if (!*pressing && n * 100 <= cap * high)
		return 0;
	if (n <= cap * low / 100) {
		*pressing = false;
		return 0;
	}
	*pressing = true;
	return n - cap * low / 100;
}

static uint64_t mono_ns(const struct expiry *e)
{
	return e->now_ns(CLOCK_MONOTONIC);
}

/* The slice's work is done; checked every few entries, as clocks cost. */
static bool slice_over(const struct expiry *e)
{
	return mono_ns(e) >= e->slice_end_ns;
}

static void start_scan(struct expiry *e)
{
	e->taken_before = e->maps->totals.entries;
	e->taken_embryonic = 0;
	e->taken_closed = 0;
	e->more_due = false;
	e->now = e->now_ns(CLOCK_BOOTTIME);
	tcplog_clock_refresh(e->wall);
	e->scan_ms = mono_ns(e) / 1000000;
	e->walk_ns = 0;
	e->export_ns = 0;
	memset(&e->seen, 0, sizeof(e->seen));
	memset(&e->names, 0, sizeof(e->names));
	e->n_due = 0;
	e->pos = 0;
	e->phase = EXPIRY_WALK;
	e->walk_whole = true;
	if (e->sums)
		sums_scan_begin(e->sums);
	if (e->ipfix)
		ipfix_scan_begin(e->ipfix, e->now);
	if (maps_walk_begin(e->maps, &e->walk)) {
		e->phase = EXPIRY_REMOVE; /* nothing found; finish */
		e->walk_whole = false;
	}
}

/* Keeps the key of a due entry, up to max_batch; false: out of memory. */
static bool keep_due(struct expiry *e, const struct tcplog_conn_key *key)
{
	struct tcplog_conn_key *p;

	/* The rest waits for the next scan: memory stays bounded. */
	if (e->n_due == e->max_batch) {
		e->more_due = true;
		return true;
	}
	if (e->n_due == e->due_cap) {
		size_t cap = e->due_cap ? e->due_cap * 2 : 256;

		p = realloc(e->due, cap * sizeof(*p));
		if (!p)
			return false;
		e->due = p;
		e->due_cap = cap;
	}
	e->due[e->n_due++] = *key;
	return true;
}

/*
 * Walks on for one slice, giving every entry to @visit (false: stop the
 * walk there). True when the walk is done.
 */
static bool walk_on(struct expiry *e,
		    bool (*visit)(struct expiry *e, const struct conn_rec *r))
{
	uint64_t start = mono_ns(e);
	unsigned int n = 0;
	struct conn_rec r;
	bool done = false;

	for (;;) {
		if (!maps_walk_next(&e->walk, &r) || !visit(e, &r)) {
			done = true;
			break;
		}
		if (++n % 256 == 0 && slice_over(e))
			break;
	}
	e->walk_ns += mono_ns(e) - start;
	if (done)
		maps_walk_end(&e->walk);
	return done;
}

/*
 * The first walk (scan first, delete after: deleting while walking a hash
 * map can make the walk skip or repeat entries) counts, and keeps the keys
 * of what is due.
 */
static bool count_and_find_due(struct expiry *e, const struct conn_rec *r)
{
	e->seen.entries++;
	e->seen.closed += tcplog_conn_is_closed(r->c.tcp_flags);
	e->seen.embryonic += r->c.embryonic;
	if (e->sums)
		sums_walked(e->sums, r, ifname_of(&e->names, r->key.ifindex),
			    unit_of(e, r));
	/* Records cost what they cost, not what the walk does: their time
	 * does not space the scans (finish_scan). */
	if (e->ipfix && ipfix_walk_due(e->ipfix, r)) {
		uint64_t t0 = mono_ns(e);

		ipfix_walked(e->ipfix, r);
		e->export_ns += mono_ns(e) - t0;
	}
	if (expiry_due(e, r, e->now) >= 0 && !keep_due(e, &r->key)) {
		e->more_due = true; /* out of memory: the rest waits */
		e->walk_whole = false;
		return false;
	}
	return true;
}

/* Removes kept keys from e->pos on; true when all are done. */
static bool remove_slice(struct expiry *e, int reason)
{
	const struct tcplog_conn_key *key;
	unsigned int n = 0;

	while (e->pos < (reason < 0 ? e->n_due : e->n_heap)) {
		key = reason < 0 ? &e->due[e->pos] : &e->heap[e->pos].key;
		e->pos++;
		expire_one(e, key, reason, e->now, &e->names);
		if (++n % 16 == 0 && slice_over(e))
			return false;
	}
	return true;
}

/*
 * After the timeouts: is the map above its high mark, or are embryonic
 * entries above theirs? Then the entries to take are found in rank order
 * (at most max_batch per scan: memory is max_batch * 56 bytes, not the
 * map's size); the next scan goes on if more must go. For the embryonic
 * share alone only embryonic entries are candidates. False: none.
 */
static bool pressure_start(struct expiry *e)
{
	uint64_t cap = e->maps->capacity, want_map, want_syn;
	uint64_t syn_cap = cap * TCPLOG_EMBRYONIC_SHARE_PCT / 100;
	uint64_t entries =
		e->seen.entries - (e->maps->totals.entries - e->taken_before);
	uint64_t embryonic = e->seen.embryonic - e->taken_embryonic;
	bool was_syn_pressing = e->syn_pressing, was_pressing = e->pressing;
	uint64_t pressed = e->maps->totals.reason[TCPLOG_REASON_PRESSURE];

	want_map = over_mark(entries, cap, EXPIRY_PRESSURE_HIGH_PCT,
			     EXPIRY_PRESSURE_LOW_PCT, &e->pressing);
	want_syn = over_mark(embryonic, syn_cap, EXPIRY_SYN_HIGH_PCT,
			     EXPIRY_SYN_LOW_PCT, &e->syn_pressing);
	if (was_syn_pressing && !e->syn_pressing) {
		log_notice("Embryonic entries back to %llu of their share of "
			   "%llu: %llu removed early since they filled it",
			   (unsigned long long)embryonic,
			   (unsigned long long)syn_cap,
			   (unsigned long long)e->syn_pressed);
		e->syn_pressed = 0;
	} else if (!was_syn_pressing && e->syn_pressing) {
		log_warn("Embryonic entries (every packet a SYN: a SYN flood "
			 "or a scan?) at %llu of their share of %llu: removing "
			 "the oldest early, down to %d%%",
			 (unsigned long long)embryonic,
			 (unsigned long long)syn_cap, EXPIRY_SYN_LOW_PCT);
	}
	/* Once when it starts, once when it ends: not a line per scan. */
	if (!was_pressing && e->pressing) {
		e->pressed_mark = pressed;
		log_warn("Connection map at %llu of %llu entries (over %d%%): "
			 "expiring entries early, embryonic and closed ones "
			 "first, down to %d%%",
			 (unsigned long long)entries, (unsigned long long)cap,
			 EXPIRY_PRESSURE_HIGH_PCT, EXPIRY_PRESSURE_LOW_PCT);
	} else if (was_pressing && !e->pressing) {
		log_notice("Connection map back to %llu of %llu entries: %llu "
			   "expired early since it filled",
			   (unsigned long long)entries, (unsigned long long)cap,
			   (unsigned long long)(pressed - e->pressed_mark));
	}
	e->want = want_map > want_syn ? want_map : want_syn;
	e->want_map = want_map > 0;
	if (!e->want)
		return false;
	if (e->want > e->max_batch)
		e->want = e->max_batch;
	e->n_heap = 0;
	e->pos = 0;
	e->heap = calloc(e->want, sizeof(*e->heap));
	if (!e->heap || maps_walk_begin(e->maps, &e->walk)) {
		log_warn("Connection map at %llu of %llu entries: out of "
			 "memory for the early expiry",
			 (unsigned long long)entries, (unsigned long long)cap);
		free(e->heap);
		e->heap = NULL;
		return false;
	}
	return true;
}

/* The pressure walk keeps the @want first in rank, in one pass. */
static bool keep_first_ranked(struct expiry *e, const struct conn_rec *r)
{
	struct expiry_ranked one;

	if (!e->want_map && !r->c.embryonic)
		return true;
	one.rank = pressure_rank(r);
	one.key = r->key;
	if (e->n_heap < e->want) {
		e->heap[e->n_heap] = one;
		ranked_up(e->heap, e->n_heap++);
	} else if (one.rank < e->heap[0].rank) {
		e->heap[0] = one;
		ranked_down(e->heap, e->n_heap, 0);
	}
	return true;
}

/* The scan is done: counts, saves, and the time to the next one. */
static uint64_t finish_scan(struct expiry *e)
{
	uint64_t removed = e->maps->totals.entries - e->taken_before;
	uint64_t spacing_ms, period, walk_ns, walk_ms;

	walk_ns = e->walk_ns > e->export_ns ? e->walk_ns - e->export_ns : 0;
	walk_ms = walk_ns / 1000000;
	e->counts.entries = e->seen.entries - removed;
	e->counts.walked = e->seen.entries;
	e->counts.closed = e->seen.closed - e->taken_closed;
	e->counts.embryonic = e->seen.embryonic - e->taken_embryonic;
	e->counts.at_ms = e->scan_ms ? e->scan_ms : 1;
	/* A walk cut short saw only some entries: keep the last sums. */
	if (e->sums && e->walk_whole && !e->walk.err)
		sums_scan_end(e->sums);
	/* A save that failed during the scan: once more. */
	if (e->save_err && removed)
		save_totals(e);
	if (e->log_closed)
		connlog_tick(&e->log, e->scan_ms);
	if (e->ipfix)
		ipfix_flush(e->ipfix);
	if (removed)
		log_debug("Expired %llu connections",
			  (unsigned long long)removed);
	expiry_free(e);
	e->phase = EXPIRY_IDLE;
	period = expiry_period_ms(e);
	/* A batch left work behind: go on soon, removing is what costs. */
	if (e->more_due || e->pressing || e->syn_pressing)
		return walk_ms * EXPIRY_NEXT_BATCH_WALKS >
				       EXPIRY_NEXT_BATCH_MS ?
			       walk_ms * EXPIRY_NEXT_BATCH_WALKS :
			       EXPIRY_NEXT_BATCH_MS;
	spacing_ms = walk_ns * SCAN_SPACING / 1000000;
	if (spacing_ms <= period)
		return period;
	log_debug("Scanning %llu entries took %llu ms: next scan in %llu ms",
		  (unsigned long long)e->seen.entries,
		  (unsigned long long)walk_ms, (unsigned long long)spacing_ms);
	return spacing_ms;
}

bool expiry_step(struct expiry *e, uint64_t *next_ms)
{
	if (e->phase == EXPIRY_IDLE)
		start_scan(e);
	e->slice_end_ns = mono_ns(e) + EXPIRY_SLICE_MS * 1000000ull;
	for (;;) {
		switch (e->phase) {
		case EXPIRY_WALK:
			if (!walk_on(e, count_and_find_due))
				return true;
			e->phase = EXPIRY_REMOVE;
			e->pos = 0;
			break;
		case EXPIRY_REMOVE:
			if (!remove_slice(e, -1))
				return true;
			e->phase = pressure_start(e) ? EXPIRY_PRESSURE_WALK :
						       EXPIRY_IDLE;
			break;
		case EXPIRY_PRESSURE_WALK:
			if (!walk_on(e, keep_first_ranked))
				return true;
			e->phase = EXPIRY_PRESSURE_REMOVE;
			e->pos = 0;
			break;
		case EXPIRY_PRESSURE_REMOVE:
			if (!remove_slice(e, TCPLOG_REASON_PRESSURE))
				return true;
			e->phase = EXPIRY_IDLE;
			break;
		case EXPIRY_IDLE:
			*next_ms = finish_scan(e);
			return false;
		}
		if (e->phase != EXPIRY_IDLE && slice_over(e))
			return true;
	}
}

uint64_t expiry_scan(struct expiry *e)
{
	uint64_t next_ms = 0;

	while (expiry_step(e, &next_ms))
		;
	return next_ms;
}

void expiry_free(struct expiry *e)
{
	if (e->phase == EXPIRY_WALK || e->phase == EXPIRY_PRESSURE_WALK)
		maps_walk_end(&e->walk);
	free(e->due);
	e->due = NULL;
	e->due_cap = 0;
	e->n_due = 0;
	free(e->heap);
	e->heap = NULL;
	e->n_heap = 0;
	e->phase = EXPIRY_IDLE;
}
