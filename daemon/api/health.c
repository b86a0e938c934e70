// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* health.c - the checks of `health` and their thresholds. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "health.h"

const char *health_status_name(enum health_status status)
{
	static const char *const names[] = { "ok", "warning", "critical" };

	return (unsigned int)status < 3 ? names[status] : "unknown";
}

__attribute__((format(printf, 4, 5))) static void add(struct health_report *r,
						      const char *name,
						      enum health_status status,
						      const char *fmt, ...)
{
	struct health_check *c = &r->checks[r->n++];
	va_list ap;

	c->name = name;
	c->status = status;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	if (status > r->worst)
		r->worst = status;
}

static void check_hooks(const struct att_set *hooks, struct health_report *r)
{
	char missing[256] = "";
	size_t used = 0;
	int i, on = 0;

	if (hooks->n == 0) {
		add(r, "attachments", HEALTH_WARNING, "%s",
		    "no interface configured or found");
		return;
	}
	for (i = 0; i < hooks->n; i++) {
		const struct attachment *a = &hooks->att[i];

		if (a->mode != MODE_NONE && attach_verify(a))
			on++;
		else if (used < sizeof(missing))
			used += (size_t)snprintf(missing + used,
						 sizeof(missing) - used,
						 " %s/%s", a->ifname,
						 att_dir_name(a->direction));
	}
	add(r, "attachments", on == hooks->n ? HEALTH_OK : HEALTH_CRITICAL,
	    "%d of %d hooks attached%s%s", on, hooks->n,
	    on < hooks->n ? "; missing:" : "", missing);
}

static uint64_t failed_total(const struct maps *m, struct tcplog_dp_stats *st)
{
	maps_stats(m, st);
	return st->count[TCPLOG_STAT_INSERT_FULL] +
	       st->count[TCPLOG_STAT_INSERT_OTHER];
}

void health_sample(struct health *h, const struct maps *m,
		   const struct expiry_counts *c, uint64_t now_ms)
{
	struct tcplog_dp_stats st;

	h->s[h->next].at_ms = now_ms;
	h->s[h->next].failed = failed_total(m, &st);
	h->s[h->next].evicted = c->evicted;
	h->s[h->next].syn_evicted = c->syn_evicted;
	h->next = (h->next + 1) % HEALTH_SAMPLES;
	if (h->n < HEALTH_SAMPLES)
		h->n++;
}

void health_restart(struct health *h, const struct maps *m,
		    const struct expiry_counts *c, uint64_t now_ms)
{
	h->n = h->next = 0;
	health_sample(h, m, c, now_ms);
}

/*
 * The oldest sample within the window (the oldest kept, if none is; NULL
 * without samples).
 */
static const struct health_sample *
window_start(const struct health *h, uint64_t now_ms, uint64_t *age_ms)
{
	uint64_t window = HEALTH_FAILED_WINDOW_SEC * 1000ull;
	unsigned int i, k, best = HEALTH_SAMPLES;

	for (i = 0; i < h->n; i++) {
		/* From the oldest to the newest. */
		k = (h->next + HEALTH_SAMPLES - h->n + i) % HEALTH_SAMPLES;
		if (best == HEALTH_SAMPLES ||
		    now_ms - h->s[best].at_ms > window)
			best = k;
	}
	*age_ms = best == HEALTH_SAMPLES ? 0 : now_ms - h->s[best].at_ms;
	return best == HEALTH_SAMPLES ? NULL : &h->s[best];
}

/*
 * map_usage: as full as the last scan found the map, before it expired
 * entries (pressure brings it down to 80 % each time it fills), and
 * critical while pressure took established entries within the window.
 */
static void check_map(const struct health *h, const struct maps *m,
		      const struct expiry_counts *c, uint64_t now_ms,
		      struct health_report *r)
{
	uint64_t entries = c->walked, cap = m->capacity, age_ms, evicted;
	const struct health_sample *then;
	enum health_status st;
	char age[64];
	double pct;
	int err;

	err = maps_probe(m);
	add(r, "map_readable", err ? HEALTH_CRITICAL : HEALTH_OK, "%s",
	    err ? "cannot read the connection map" :
		  "the connection map reads");
	then = window_start(h, now_ms, &age_ms);
	evicted = then && c->evicted >= then->evicted ?
			  c->evicted - then->evicted :
			  0;
	pct = cap ? 100.0 * (double)entries / (double)cap : 0;
	st = pct >= HEALTH_USAGE_CRITICAL_PCT || evicted ? HEALTH_CRITICAL :
	     pct >= HEALTH_USAGE_WARNING_PCT		 ? HEALTH_WARNING :
							   HEALTH_OK;
	if (c->at_ms)
		snprintf(age, sizeof(age),
			 "counted %.1f s ago, %llu after its "
			 "expiry",
			 (double)(now_ms - c->at_ms) / 1000.0,
			 (unsigned long long)c->entries);
	else
		snprintf(age, sizeof(age), "not counted yet");
	add(r, "map_usage", st,
	    "%llu of %llu entries (%.1f%%; warning at %d%%, critical at %d%%; "
	    "%s); %llu entries expired early in the last %llu s",
	    (unsigned long long)entries, (unsigned long long)cap, pct,
	    HEALTH_USAGE_WARNING_PCT, HEALTH_USAGE_CRITICAL_PCT, age,
	    (unsigned long long)evicted, (unsigned long long)(age_ms / 1000));
}

static void check_inserts(struct health *h, const struct maps *m,
			  const struct expiry_counts *c, uint64_t now_ms,
			  struct health_report *r)
{
	struct tcplog_dp_stats st;
	uint64_t failed = failed_total(m, &st), then, age_ms, delta, syn = 0;
	const struct health_sample *sample;
	uint64_t share =
		(uint64_t)m->capacity * TCPLOG_EMBRYONIC_SHARE_PCT / 100;

	sample = window_start(h, now_ms, &age_ms);
	then = sample ? sample->failed : 0;
	/* A reset makes the total smaller: count from zero then. */
	delta = failed >= then ? failed - then : failed;
	/* Embryonic entries went early only if they filled their share. */
	if (sample && c->syn_evicted >= sample->syn_evicted)
		syn = c->syn_evicted - sample->syn_evicted;
	add(r, "insert_failures", delta ? HEALTH_WARNING : HEALTH_OK,
	    "%llu failed inserts in the last %llu s (%llu no room, %llu "
	    "other, in all); embryonic entries: %lld of their share of %llu, "
	    "%llu expired early in that time%s",
	    (unsigned long long)delta, (unsigned long long)(age_ms / 1000),
	    (unsigned long long)st.count[TCPLOG_STAT_INSERT_FULL],
	    (unsigned long long)st.count[TCPLOG_STAT_INSERT_OTHER],
	    (long long)maps_embryonic(m), (unsigned long long)share,
	    (unsigned long long)syn,
	    syn ? " (the share filled: a SYN flood or a scan; SYNs beyond it "
		  "are not counted)" :
		  "");
}

void health_check(struct health *h, const struct att_set *hooks,
		  const struct maps *m, const struct expiry_counts *counts,
		  uint64_t now_ms, struct health_report *out)
{
	memset(out, 0, sizeof(*out));
	check_hooks(hooks, out);
	check_map(h, m, counts, now_ms, out);
	check_inserts(h, m, counts, now_ms, out);
}
